import { SessionStore, type StoredSession } from '../abstract/SessionStore.js';
import { isRevoked, type UserIndex, type UserRevocation, type UserSessionEntry } from '../abstract/userIndex.js';
import { SessionError } from '../core/SessionError.js';
import type { SessionData } from '../core/json.js';
import { recordFromJson } from '../core/serialize.js';
import { encodeUserId, entryFrom, entryToJson, handlesToDrop, newRevocation, publicRevocation, revocationFrom, type StoredRevocation } from './userIndexes.js';

/**
 * The ids under which a {@link RecordStore} keeps user indexes: `swarmauri-user:` and the user
 * id in base64url. Session ids that start with it are refused.
 */
const USER_RECORD_PREFIX = 'swarmauri-user:';

/**
 * One record as a {@link RecordStore} backend keeps it under an id: the data of a live session,
 * the tombstone of a destroyed id (`tombstone: true`, no data), or a user's index (`userIndex`,
 * under an id that starts with `swarmauri-user:`). `expiresAt` is the epoch millisecond at which
 * the record runs out, when the backend can tell.
 *
 * A backend stores a tombstone and a user index like any other record, marked so that they read
 * back as what they are (the express-session adapter writes
 * `{ cookie, swarmauri: 1, tombstone: true }` and `{ cookie, swarmauri: 1, userIndex }`, say); a
 * backend that keeps records as JSON needs to do nothing.
 *
 * @example
 * ```ts
 * const live: SessionRecord = { data: { user: 'ada' }, expiresAt: Date.now() + 60_000 };
 * const gone: SessionRecord = { tombstone: true, expiresAt: Date.now() + 60_000 };
 * ```
 */
export type SessionRecord =
  | {
      /** The session's data (a record of JSON values). */
      readonly data: SessionData;
      /** Epoch ms at which the record runs out, when known. */
      readonly expiresAt?: number | undefined;
    }
  | {
      /** Marks the tombstone of a destroyed id. */
      readonly tombstone: true;
      /** Epoch ms at which the tombstone runs out, when known. */
      readonly expiresAt?: number | undefined;
    }
  | {
      /** A user's index (see `SessionStore.indexSession`): JSON data, read back as written. */
      readonly userIndex: {
        /** The indexed sessions. */
        readonly sessions: readonly UserSessionEntry[];
        /** The revocation mark, with the epoch ms until which it is kept. */
        readonly revocation?:
          | {
              /** As `UserRevocation.before`. */
              readonly before: number;
              /** As `UserRevocation.spared`. */
              readonly spared?: string | undefined;
              /** Epoch ms at which the mark is dropped. */
              readonly expiresAt: number;
            }
          | undefined;
      };
      /** Epoch ms at which the index runs out (its longest entry, or its mark), when known. */
      readonly expiresAt?: number | undefined;
    };

/**
 * A record on its way to the backend: its expiry is always known (`Date.now()` plus the TTL of
 * the write), so a backend that keeps expiry inside the record can store it.
 *
 * @example
 * ```ts
 * const record: TimedSessionRecord = { data: { n: 1 }, expiresAt: Date.now() + 3_600_000 };
 * ```
 */
export type TimedSessionRecord = SessionRecord & {
  /** Epoch ms at which the record runs out. */
  readonly expiresAt: number;
};

/** Options of {@link RecordStore}. */
export interface RecordStoreOptions {
  /** TTL of writes that name none; the owning middleware overrides it with its `maxAge`. @defaultValue 3600 */
  defaultTtlSeconds?: number;
  /**
   * Bound on every call of a per-session primitive (`readRecord`, `writeRecord`, `touchRecord`,
   * `removeRecord`), in seconds; `0` turns it off. (Listing, counting and `removeAll` are not
   * bounded: they hold up no session, and may take long on a large store.) A call that does not settle in time rejects with a `store-timeout`
   * {@link SessionError} and releases the per-id queue, so a backend that never answers cannot
   * wedge a session id for good. The backend's own call may still land later. Keep it at least
   * the middleware's `storeTimeout`, which bounds each store call seen by a request anyway.
   * @defaultValue 5
   */
  callTimeoutSeconds?: number;
}

/** `true` when `record` is a tombstone. */
function isTombstone(record: SessionRecord): record is Extract<SessionRecord, { tombstone: true }> {
  return (record as { tombstone?: unknown }).tombstone === true;
}

/** `true` when `record` is a user index (`userIndex` holds an object). */
function isUserIndex(record: SessionRecord): record is Extract<SessionRecord, { userIndex: unknown }> {
  const index = (record as { userIndex?: unknown }).userIndex;
  return typeof index === 'object' && index !== null;
}

/** A user's index as a record store keeps it while changing it. */
interface IndexState {
  sessions: Map<string, UserSessionEntry>;
  revocation: StoredRevocation | undefined;
  /** Whether a record was read (so an emptied index must be removed). */
  stored: boolean;
}

/**
 * The base of stores whose backend keeps whole records (a row, a document, a string value), such
 * as the stores written for express-session. A subclass implements a few protected primitives
 * (read, write and remove one record; optionally list, count and remove all) and this class
 * builds the whole {@link SessionStore} contract on them: `load`, `set`, `destroy` with a
 * tombstone for the remaining TTL, `touch`, field-level `patch`, `increment`, `clear`, `length`
 * and `ids` (the {@link SessionStore} base checks the ids, keys, values and TTLs before any
 * backend call).
 *
 * `patch`, `increment`, `touch` and `destroy` are read-modify-write cycles. Within one process they
 * are atomic: the operations on one id run one after another (a small promise queue per id,
 * dropped as soon as the id is idle, so it holds nothing for idle sessions). **Across processes
 * they are not**: two instances that change one session at the same moment each write back a
 * whole record, and the last writer wins, losing the other's fields or counts, and a write racing
 * a `destroy` on another instance can bring the session back. Where several processes share
 * sessions and concurrent requests on one session matter, use a store with native field-level
 * operations, such as `RedisStore`.
 *
 * Expiry: a record whose `expiresAt` has passed is treated as missing even if the backend still
 * returns it (many backends purge lazily, or round TTLs up to whole seconds).
 *
 * User indexes (`indexSession`, `revokeUser`, ...): each user's index is one record, under the id
 * `swarmauri-user:` + base64url(user id), read, changed and written back under the same per-id
 * serialisation, so its operations are atomic within one process only: two processes indexing
 * logins of one user at the same moment can lose one entry, and a login indexed by another
 * process while a revocation runs can survive it on the list (the revocation mark itself is
 * still written, and the middleware checks it on every request). Use a native store such as
 * `RedisStore` for cross-process atomicity. These records are skipped by `ids()` and `length()`
 * (a {@link RecordStore.countLive} must skip them too) and removed by `clear()`; session ids that
 * start with `swarmauri-user:` are refused (`invalid-id`).
 *
 * @example
 * ```ts
 * class MapRecordStore extends RecordStore {
 *   readonly rows = new Map<string, string>();
 *   protected async readRecord(id: string) {
 *     const json = this.rows.get(id);
 *     return json === undefined ? undefined : (JSON.parse(json) as SessionRecord);
 *   }
 *   protected async writeRecord(id: string, record: TimedSessionRecord) {
 *     this.rows.set(id, JSON.stringify(record));
 *   }
 *   protected async removeRecord(id: string) {
 *     this.rows.delete(id);
 *   }
 * }
 * ```
 */
export abstract class RecordStore extends SessionStore {
  /** The tail of each busy id's queue of operations; an idle id has no entry. */
  readonly #queues = new Map<string, Promise<void>>();
  readonly #callTimeoutMs: number;

  constructor(options: RecordStoreOptions = {}) {
    super();
    const timeout = options.callTimeoutSeconds ?? 5;
    if (!(typeof timeout === 'number' && Number.isFinite(timeout) && timeout >= 0)) {
      throw SessionError.invalidOption('callTimeoutSeconds', 'a number of seconds (0 turns it off)', timeout);
    }
    this.#callTimeoutMs = timeout * 1000;
    if (options.defaultTtlSeconds !== undefined) this.defaultTtlSeconds = options.defaultTtlSeconds;
  }

  /**
   * Reads the record of `id`: `undefined` when there is none. Expired records may be returned
   * (they count as missing). The data must be the caller's to keep and change (a fresh copy).
   */
  protected abstract readRecord(id: string): Promise<SessionRecord | undefined>;

  /**
   * Replaces the whole record of `id` (creating it) so that it runs out after `ttlSeconds`, which
   * is positive and may be fractional (a backend with whole-second TTLs rounds up); `record.expiresAt`
   * is the same instant as an epoch millisecond. The backend may keep `record`'s objects.
   */
  protected abstract writeRecord(id: string, record: TimedSessionRecord, ttlSeconds: number): Promise<void>;

  /** Removes the record of `id`, if any (used by `clear` when there is no {@link RecordStore.removeAll}). */
  protected abstract removeRecord(id: string): Promise<void>;

  /**
   * Optional: gives the live record of `id` (just read) a new TTL. Without it the record is
   * written again whole; implement it when the backend can move the expiry more cheaply while
   * still reporting the new expiry on read.
   */
  protected touchRecord?(id: string, record: TimedSessionRecord, ttlSeconds: number): Promise<void>;

  /**
   * Optional: every stored record with its id, tombstones and expired ones included (they are
   * skipped here). Needed by `ids()` and `length()` (unless {@link RecordStore.countLive}), and by
   * `clear()` without {@link RecordStore.removeAll}; without it those reject with a `store-error`.
   */
  protected listRecords?(): AsyncIterable<readonly [string, SessionRecord]>;

  /**
   * Optional: counts live, unexpired sessions (no tombstones, no user indexes: records with
   * `userIndex`), faster than listing them.
   */
  protected countLive?(): Promise<number>;

  /** Optional: removes every record, tombstones included. */
  protected removeAll?(): Promise<void>;

  protected async loadSession(id: string): Promise<StoredSession | undefined> {
    const record = await this.#readSession(id);
    if (!record) return undefined;
    if (isTombstone(record)) return { state: 'destroyed' };
    return { state: 'active', data: record.data, expiresAt: record.expiresAt };
  }

  protected async writeSession(id: string, json: string, ttlSeconds: number): Promise<void> {
    const record = { data: recordFromJson(json) };
    await this.#serial(id, () => this.#write(id, record, ttlSeconds));
  }

  protected async destroySession(id: string): Promise<void> {
    await this.#serial(id, async () => {
      const current = await this.#readSession(id);
      if (current && isTombstone(current)) return;
      const now = Date.now();
      // At least a millisecond: the record was live when read, so its tombstone must be written.
      const ttl = current?.expiresAt === undefined ? this.defaultTtlSeconds : Math.max(0.001, (current.expiresAt - now) / 1000);
      await this.#write(id, { tombstone: true }, ttl);
    });
  }

  protected async touchSession(id: string, ttlSeconds: number): Promise<void> {
    await this.#serial(id, async () => {
      const current = await this.#readSession(id);
      if (!current || isTombstone(current)) return;
      const record = { data: current.data, expiresAt: Date.now() + ttlSeconds * 1000 };
      if (this.touchRecord) await this.#io('touchRecord', () => this.touchRecord!(id, record, ttlSeconds));
      else await this.#io('writeRecord', () => this.writeRecord(id, record, ttlSeconds));
    });
  }

  protected async patchSession(id: string, changes: ReadonlyArray<readonly [key: string, json: string | undefined]>, ttlSeconds: number): Promise<void> {
    // Parsed before anything is read (the values were checked by SessionStore.patch).
    const parsed = changes.map(([key, json]): [string, unknown] => [key, json === undefined ? undefined : JSON.parse(json)]);
    await this.#serial(id, async () => {
      const current = await this.#readSession(id);
      if (current && isTombstone(current)) return;
      const data: SessionData = current ? current.data : {};
      for (const [key, value] of parsed) {
        if (value === undefined) delete data[key];
        else data[key] = value;
      }
      await this.#write(id, { data }, ttlSeconds);
    });
  }

  protected async incrementField(id: string, key: string, by: number, ttlSeconds: number): Promise<number> {
    return this.#serial(id, async () => {
      const current = await this.#readSession(id);
      const data: SessionData = current && !isTombstone(current) ? current.data : {};
      const value = Object.hasOwn(data, key) ? data[key] : 0;
      if (typeof value !== 'number') {
        throw new SessionError('not-a-number', `Cannot increment "${key}": it holds a ${value === null ? 'null' : typeof value}`);
      }
      const next = value + by;
      // A destroyed session is not brought back by a late write from a request still in flight.
      if (current && isTombstone(current)) return next;
      data[key] = next;
      await this.#write(id, { data }, ttlSeconds);
      return next;
    });
  }

  protected async clearSessions(): Promise<void> {
    // Bulk calls are not bounded by callTimeoutSeconds (they hold no per-id queue, and may be long).
    if (this.removeAll) return this.#io('removeAll', () => this.removeAll!(), false);
    for await (const [id] of this.#list()) await this.#io('removeRecord', () => this.removeRecord(id));
  }

  protected async countSessions(): Promise<number> {
    if (this.countLive) return this.#io('countLive', () => this.countLive!(), false);
    let count = 0;
    for await (const _ of this.sessionIds()) count++;
    return count;
  }

  protected async *sessionIds(): AsyncIterable<string> {
    for await (const [id, record] of this.#list()) {
      if (!isTombstone(record) && !isUserIndex(record) && !id.startsWith(USER_RECORD_PREFIX) && !RecordStore.#expired(record)) yield id;
    }
  }

  protected override async indexUserSession(userId: string, entry: UserSessionEntry): Promise<void> {
    const copy = entryFrom(entryToJson(entry)) as UserSessionEntry;
    const id = USER_RECORD_PREFIX + encodeUserId(userId);
    await this.#serial(id, async () => {
      const now = Date.now();
      const index = await this.#readIndex(id, now);
      if (isRevoked(publicRevocation(index.revocation), copy.loggedInAt, copy.handle)) return;
      index.sessions.set(copy.handle, copy);
      await this.#writeIndex(id, index, now, copy.handle);
    });
  }

  protected override async unindexUserSession(userId: string, handle: string): Promise<void> {
    const id = USER_RECORD_PREFIX + encodeUserId(userId);
    await this.#serial(id, async () => {
      const now = Date.now();
      const index = await this.#readIndex(id, now);
      if (!index.sessions.delete(handle)) return;
      await this.#writeIndex(id, index, now);
    });
  }

  protected override async loadUserIndex(userId: string): Promise<UserIndex> {
    const index = await this.#readIndex(USER_RECORD_PREFIX + encodeUserId(userId), Date.now());
    return { sessions: [...index.sessions.values()], revocation: publicRevocation(index.revocation) };
  }

  protected override async loadUserRevocation(userId: string): Promise<UserRevocation | undefined> {
    const index = await this.#readIndex(USER_RECORD_PREFIX + encodeUserId(userId), Date.now());
    return publicRevocation(index.revocation);
  }

  protected override async revokeUserSessions(userId: string, revocation: UserRevocation): Promise<UserSessionEntry[]> {
    const id = USER_RECORD_PREFIX + encodeUserId(userId);
    return this.#serial(id, async () => {
      const now = Date.now();
      const index = await this.#readIndex(id, now);
      const removed: UserSessionEntry[] = [];
      for (const [handle, entry] of index.sessions) {
        if (handle === revocation.spared) continue;
        removed.push(entry);
        index.sessions.delete(handle);
      }
      index.revocation = newRevocation(revocation, now);
      await this.#writeIndex(id, index, now);
      return removed;
    });
  }

  /** Refuses, besides what every store refuses, the ids of user indexes (`swarmauri-user:...`). */
  protected override checkId(id: unknown): asserts id is string {
    super.checkId(id);
    if (id.startsWith(USER_RECORD_PREFIX)) {
      throw new SessionError('invalid-id', `${this.constructor.name} keeps user indexes under "${USER_RECORD_PREFIX}": session ids may not start with it`);
    }
  }

  /**
   * The user index under `id`, its live entries and live mark only (a missing record, or one that
   * is not a user index, such as a record some other program wrote there, reads as empty).
   */
  async #readIndex(id: string, now: number): Promise<IndexState> {
    const record = await this.#read(id);
    const state: IndexState = { sessions: new Map(), revocation: undefined, stored: record !== undefined };
    if (!record || !isUserIndex(record)) return state;
    const { sessions, revocation } = record.userIndex as { sessions?: unknown; revocation?: unknown };
    if (Array.isArray(sessions)) {
      for (const stored of sessions) {
        const entry = entryFrom(stored);
        if (entry && entry.expiresAt > now) state.sessions.set(entry.handle, entry);
      }
    }
    state.revocation = revocationFrom(revocation, now);
    return state;
  }

  /**
   * Writes `index` back, pruned (see `handlesToDrop`, never dropping `keep`), to live as long as
   * its longest entry or its mark; removes the record when nothing is left.
   */
  async #writeIndex(id: string, index: IndexState, now: number, keep?: string): Promise<void> {
    const expiries = [...index.sessions].map(([handle, entry]) => [handle, entry.expiresAt] as const);
    for (const handle of handlesToDrop(expiries, now, keep)) index.sessions.delete(handle);
    let until = index.revocation?.expiresAt ?? -Infinity;
    for (const entry of index.sessions.values()) until = Math.max(until, entry.expiresAt);
    if (until <= now) {
      if (index.stored) await this.#io('removeRecord', () => this.removeRecord(id));
      return;
    }
    const userIndex = { sessions: [...index.sessions.values()], ...(index.revocation ? { revocation: index.revocation } : {}) };
    await this.#write(id, { userIndex }, (until - now) / 1000);
  }

  /** The backend's listing (failures as {@link SessionError}s), or a rejection saying that this store cannot list. */
  async *#list(): AsyncIterable<readonly [string, SessionRecord]> {
    if (!this.listRecords) {
      throw new SessionError('store-error', `${this.constructor.name} cannot list its records (it has no listRecords)`);
    }
    try {
      yield* this.listRecords();
    } catch (error) {
      throw this.#failure('listRecords', error);
    }
  }

  /** The unexpired session record (or tombstone) of `id`, if any: a user index there reads as nothing. */
  async #readSession(id: string): Promise<Exclude<SessionRecord, { userIndex: unknown }> | undefined> {
    const record = await this.#read(id);
    return record && !isUserIndex(record) ? (record as Exclude<SessionRecord, { userIndex: unknown }>) : undefined;
  }

  /** The unexpired record of `id`, if any. */
  async #read(id: string): Promise<SessionRecord | undefined> {
    const record = await this.#io('readRecord', () => this.readRecord(id));
    return record && !RecordStore.#expired(record) ? record : undefined;
  }

  #write(id: string, record: SessionRecord, ttlSeconds: number): Promise<void> {
    const timed = { ...record, expiresAt: Date.now() + ttlSeconds * 1000 } as TimedSessionRecord;
    return this.#io('writeRecord', () => this.writeRecord(id, timed, ttlSeconds));
  }

  static #expired(record: SessionRecord): boolean {
    return record.expiresAt !== undefined && record.expiresAt <= Date.now();
  }

  /**
   * Runs `operation` after every earlier operation on `id` has settled. The queue entry is
   * removed when the last queued operation settles.
   */
  #serial<T>(id: string, operation: () => Promise<T>): Promise<T> {
    const previous = this.#queues.get(id);
    const result = previous ? previous.then(operation) : operation();
    const tail = result.then(
      () => undefined,
      () => undefined,
    );
    this.#queues.set(id, tail);
    void tail.then(() => {
      if (this.#queues.get(id) === tail) this.#queues.delete(id);
    });
    return result;
  }

  /**
   * One primitive call, bounded by `callTimeoutSeconds` unless `bounded` is false; a failure that
   * is not already a {@link SessionError} becomes a `store-error` one (with the failure as its cause).
   */
  #io<T>(what: string, call: () => Promise<T>, bounded = true): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const fail = (error: unknown): void => {
        clearTimeout(timer);
        reject(this.#failure(what, error));
      };
      let pending: Promise<T>;
      try {
        pending = call();
      } catch (error) {
        fail(error);
        return;
      }
      if (bounded && this.#callTimeoutMs > 0) {
        timer = setTimeout(() => {
          reject(new SessionError('store-timeout', `${this.constructor.name} did not answer ${what} within ${this.#callTimeoutMs} ms`));
        }, this.#callTimeoutMs);
        timer.unref();
      }
      Promise.resolve(pending).then((value) => {
        clearTimeout(timer);
        resolve(value);
      }, fail);
    });
  }

  /** `error` as a {@link SessionError}: itself if it is one, else a `store-error` with it as the cause. */
  #failure(what: string, error: unknown): SessionError {
    return SessionError.is(error) ? error : new SessionError('store-error', `${this.constructor.name} failed on ${what}`, { cause: error });
  }

  /** Operations queued or running now, per id (for tests: the queues must not outlive the work). */
  protected get busyIds(): number {
    return this.#queues.size;
  }
}
