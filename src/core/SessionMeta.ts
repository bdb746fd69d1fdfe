import { randomBytes } from 'node:crypto';
import type { JsonValue, SessionChanges } from './json.js';
import { FLASH_PREFIX, HANDLE, LOGGED_IN_AT, LOGIN_META, MAX_AGE, USER_ID, type FlashEntry, type StoredMeta } from './meta.js';

/** Fields of a write, and the pending changes it carries (to mark written once it succeeded). */
export interface MetaWrite {
  readonly fields: SessionChanges;
  readonly carried: ReadonlyMap<string, unknown>;
}

/** Queued flash messages get increasing numbers within a process, for their order within a millisecond. */
let flashCounter = 0;

/** A random, non-secret name: 16 bytes, base64url. */
function newHandle(): string {
  return randomBytes(16).toString('base64url');
}

/**
 * The middleware's own state of one session, kept in the record beside the application's data
 * (`__session.*` fields): its own lifetime, its handle, the login, and flash messages. Changes
 * are written as single fields with the session's next write, so they stay field-level too.
 */
export class SessionMeta {
  maxAge: number | undefined;
  handle: string | undefined;
  userId: string | undefined;
  loggedInAt: number | undefined;
  loginMeta: JsonValue | undefined;
  /** Made on first use: most sessions never flash (no allocation per request). */
  #flashes: Map<string, FlashEntry> | undefined;
  /** Fields to write: a value, or `undefined` to delete the field. */
  #pending: Map<string, unknown> | undefined;
  /** The handle is in the store (loaded with it, or written). */
  #handleStored: boolean;

  constructor(stored: StoredMeta | undefined) {
    this.maxAge = stored?.maxAge;
    this.handle = stored?.handle;
    this.userId = stored?.userId;
    this.loggedInAt = stored?.loggedInAt;
    this.loginMeta = stored?.loginMeta;
    this.#flashes = stored?.flashes;
    this.#handleStored = stored?.handle !== undefined;
  }

  /** The pending changes, made on first use. */
  #changes(): Map<string, unknown> {
    return (this.#pending ??= new Map());
  }

  /** Changes wait for a write (the commit writes even when the data did not change). */
  get pending(): boolean {
    return this.#pending !== undefined && this.#pending.size > 0;
  }

  /** Anything that a whole-record write must carry. */
  get any(): boolean {
    return this.maxAge !== undefined || this.userId !== undefined || (this.#flashes?.size ?? 0) > 0 || this.handle !== undefined;
  }

  /**
   * The session's handle, made on first use. `storeNow`: a session the store holds writes it with
   * this request's commit; otherwise it rides along with the session's first write.
   */
  ensureHandle(storeNow: boolean): string {
    if (this.handle === undefined) {
      this.handle = newHandle();
      if (storeNow) this.#changes().set(HANDLE, this.handle);
    }
    return this.handle;
  }

  setMaxAge(seconds: number): void {
    this.maxAge = seconds;
    this.#changes().set(MAX_AGE, seconds);
  }

  login(userId: string, meta: JsonValue, now: number): void {
    this.userId = userId;
    this.loggedInAt = now;
    this.loginMeta = meta;
    // A login is a new session as far as the user's device list goes.
    this.handle = newHandle();
    this.#handleStored = false;
    this.#changes().set(USER_ID, userId).set(LOGGED_IN_AT, now).set(LOGIN_META, meta);
  }

  /** Forgets everything (a regenerate that drops the data, a destroy). */
  reset(): void {
    this.maxAge = undefined;
    this.handle = undefined;
    this.userId = undefined;
    this.loggedInAt = undefined;
    this.loginMeta = undefined;
    this.#flashes = undefined;
    this.#pending = undefined;
    this.#handleStored = false;
  }

  flash(type: string, message: JsonValue, now: number): void {
    const key = `${FLASH_PREFIX}${now.toString(36).padStart(9, '0')}.${(flashCounter++ % 1e6).toString(36).padStart(4, '0')}.${randomBytes(3).toString('base64url')}`;
    const entry = { type, message };
    (this.#flashes ??= new Map()).set(key, entry);
    this.#changes().set(key, entry);
  }

  /** Removes and returns the flash messages of `type` (all types without one), in the order queued. */
  takeFlashes(type: string | undefined): FlashEntry[] {
    const taken: FlashEntry[] = [];
    const flashes = this.#flashes;
    if (flashes === undefined) return taken;
    for (const key of [...flashes.keys()].sort()) {
      const entry = flashes.get(key)!;
      if (type !== undefined && entry.type !== type) continue;
      taken.push(entry);
      flashes.delete(key);
      this.#changes().set(key, undefined);
    }
    return taken;
  }

  /**
   * The fields a write should carry: the pending changes, or for a whole-record write (which
   * replaces what the store holds) every field the session has.
   */
  write(wholeRecord: boolean): MetaWrite | undefined {
    const handleDue = this.handle !== undefined && !this.#handleStored;
    if (!wholeRecord && !this.pending && !handleDue) return undefined;
    const fields: SessionChanges = {};
    if (wholeRecord) {
      if (this.maxAge !== undefined) fields[MAX_AGE] = this.maxAge;
      if (this.userId !== undefined) {
        fields[USER_ID] = this.userId;
        if (this.loggedInAt !== undefined) fields[LOGGED_IN_AT] = this.loggedInAt;
        if (this.loginMeta !== undefined) fields[LOGIN_META] = this.loginMeta;
      }
      for (const [key, entry] of this.#flashes ?? []) fields[key] = entry as unknown as JsonValue;
    } else {
      for (const [key, value] of this.#pending ?? []) fields[key] = value as JsonValue | undefined;
    }
    if (this.handle !== undefined && (wholeRecord || handleDue)) fields[HANDLE] = this.handle;
    return { fields, carried: new Map(this.#pending ?? []) };
  }

  /** A write carrying `write` succeeded: what it carried is stored, unless changed again since. */
  written(write: MetaWrite): void {
    const pending = this.#pending;
    if (pending !== undefined) for (const [key, value] of write.carried) if (pending.get(key) === value) pending.delete(key);
    if (HANDLE in write.fields) this.#handleStored = true;
  }

  /** The session moved to a new id: its next write is a whole record, which carries everything. */
  moved(): void {
    this.#handleStored = false;
  }
}
