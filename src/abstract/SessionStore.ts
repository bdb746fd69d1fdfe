import { hashedKeyOf } from '../core/storageKey.js';
import { checkEntry, checkUserId, noUserIndex, type UserIndex, type UserRevocation, type UserSessionEntry } from './userIndex.js';
import type { SessionChanges, SessionData } from '../core/json.js';
import { SessionError } from '../core/SessionError.js';
import { takeMeta } from '../core/meta.js';
import { assertKey, recordToJson, toJson } from '../core/serialize.js';


/** Id → key derivations remembered (then forgotten all at once). */
const KEY_CACHE = 10_000;

/**
 * Where a middleware that owns a store registers how it tells its ids from tampered ones. With
 * hashed ids a record is filed under the id's random part (so a re-signed id finds it), so the
 * store itself must refuse an id whose signature does not check out, or `store.get(tampered)`
 * would read the real session. Internal: not exported from the package.
 */
export const ID_CHECKS: unique symbol = Symbol.for('swarmauri-middleware-session/idChecks');

/** The method a middleware registers its id check with (see {@link ID_CHECKS}). Internal. */
export const ADD_ID_CHECK: unique symbol = Symbol.for('swarmauri-middleware-session/addIdCheck');

/** How the middleware tells its store about an id it has just issued (no check needed). Internal. */
export const TRUST_ID: unique symbol = Symbol.for('swarmauri-middleware-session/trustId');

/** Most middlewares whose id checks a store keeps (the newest). */
const MAX_ID_CHECKS = 8;

/**
 * What {@link SessionStore.load} found under an id.
 *
 * - `active`: a live session, with its data and, where the store knows it, the epoch millisecond
 *   at which its TTL runs out (the middleware uses it to throttle TTL refreshes).
 * - `destroyed`: a tombstone left by {@link SessionStore.destroy}; the id must not be adopted again.
 */
export type StoredSession =
  | {
      /** A live session. */
      readonly state: 'active';
      /** Its data, a fresh copy. */
      readonly data: SessionData;
      /** Epoch ms at which its TTL runs out, when the store knows. */
      readonly expiresAt: number | undefined;
    }
  | {
      /** A tombstone: the id was destroyed. */
      readonly state: 'destroyed';
    };

/**
 * Checks the changes of a `patch` field by field (each key with `assertKey`, then each value
 * with `toJson`, in the order of `Object.entries`) and returns them as `[key, json]` pairs, the
 * JSON text `undefined` for a field to delete (`undefined`, or a value whose `toJSON` gives
 * `undefined`: `set` drops such a field too). The pairs are the arrays `Object.entries` made,
 * filled in place: nothing else is allocated.
 * @internal
 */
export function checkedChanges(changes: SessionChanges): Array<[key: string, json: string | undefined]> {
  if (typeof changes !== 'object' || changes === null || Array.isArray(changes)) {
    throw new SessionError('invalid-value', 'Session changes must be a plain object');
  }
  const entries = Object.entries(changes) as Array<[string, unknown]>;
  for (const entry of entries) {
    const key = entry[0];
    assertKey(key);
    const value = entry[1];
    entry[1] = value === undefined ? undefined : toJson(value, `Value of "${key}"`);
  }
  return entries as Array<[string, string | undefined]>;
}

/**
 * Refuses an `increment` amount that is not a finite number (`invalid-value`).
 * @internal
 */
export function checkAmount(by: unknown): asserts by is number {
  if (!Number.isFinite(by)) throw new SessionError('invalid-value', 'increment needs a finite number');
}

/**
 * The store contract every backend implements, and the behaviour they share.
 *
 * The public methods (`load`, `get`, `set`, `destroy`, `touch`, `patch`, `increment`, `clear`,
 * `length`, `ids`) are built here, as express-session's `Store` builds `load` and `regenerate`
 * on a subclass's `get`, `set` and `destroy`: each checks its arguments once and then calls a
 * protected primitive that the subclass implements ({@link SessionStore.loadSession},
 * {@link SessionStore.writeSession}, {@link SessionStore.destroySession},
 * {@link SessionStore.touchSession}, {@link SessionStore.patchSession},
 * {@link SessionStore.incrementField}, {@link SessionStore.clearSessions},
 * {@link SessionStore.countSessions}, {@link SessionStore.sessionIds}). A primitive is only ever
 * called with checked arguments:
 * - `id`: a non-empty string (otherwise the call rejects with `invalid-id`);
 * - keys: non-empty strings other than `__proto__` (`invalid-key`); the middleware's own fields
 *   (`__session.*`) are keys like any other here;
 * - values: JSON data (`invalid-value` otherwise, naming where the offending part is), handed
 *   over as JSON text, so a backend that keeps JSON stores it as it comes and one that keeps
 *   objects gets a fresh copy with `JSON.parse`;
 * - `by`: a finite number (`invalid-value`);
 * - `ttlSeconds`: a positive finite number of seconds (`invalid-value`); a write that names none
 *   gets {@link SessionStore.defaultTtlSeconds}.
 * Every failure, of a check or of a primitive, comes as a rejected promise, never a synchronous
 * throw.
 *
 * Semantics every store must give (the contract test suite checks them):
 * - data is a record of JSON values with JSON semantics: what `get` returns is a fresh copy,
 *   never an object another caller holds;
 * - `get`/`load` of a missing or expired id resolves `undefined`, never throws;
 * - `set` replaces the whole record (last writer wins); `patch` and `increment` change single
 *   fields, so concurrent writers of different fields all survive, and `increment` is atomic;
 * - a TTL (seconds) comes with every write; `set` without one uses {@link defaultTtlSeconds},
 *   which the owning {@link SessionMiddleware} sets to its `maxAge`;
 * - `destroy` removes the record and leaves a tombstone for as long as the session could still
 *   have been presented (its remaining TTL, or the default TTL when it had none); `load` reports
 *   it, `get` resolves `undefined`, `length()` and `ids()` skip it, and `patch`, `increment` and
 *   `touch` do not bring a destroyed session back (only a whole-record `set` does).
 *
 * @example
 * ```ts
 * class MapStore extends SessionStore {
 *   readonly #rows = new Map<string, { json: string | null; expiresAt: number }>();
 *   protected async loadSession(id: string): Promise<StoredSession | undefined> {
 *     const row = this.#rows.get(id);
 *     if (!row || row.expiresAt <= Date.now()) return undefined;
 *     return row.json === null ? { state: 'destroyed' } : { state: 'active', data: JSON.parse(row.json), expiresAt: row.expiresAt };
 *   }
 *   protected async writeSession(id: string, json: string, ttlSeconds: number): Promise<void> {
 *     this.#rows.set(id, { json, expiresAt: Date.now() + ttlSeconds * 1000 });
 *   }
 *   // ...destroySession, touchSession, patchSession, incrementField, clearSessions,
 *   // countSessions, sessionIds
 * }
 * container.rebind(TYPES.SessionStore).to(MapStore).inSingletonScope();
 * ```
 */
export abstract class SessionStore {
  #defaultTtlSeconds = 3600;
  #hashIds: boolean | 'migrate' = false;
  /** The id checks of the middlewares that own this store; an id passes when one of them accepts it. */
  readonly [ID_CHECKS]: Array<(id: string) => boolean> = [];
  /** Recent id → key derivations: a request asks for the same id's key several times. */
  readonly #keys = new Map<string, string>();

  /**
   * How ids are filed: `false` under the id itself; `true` under a hash of it
   * ({@link SessionStore.keyFor}), so a dump of the store holds no id a client could present;
   * `'migrate'` like `true`, and a session still filed under its raw id (written before hashing
   * was on) is moved under its hash when it is next read. The middleware that owns the store
   * sets it from its `hashIds` option (default `true`); a store used alone keeps raw ids.
   * @defaultValue false
   */
  get hashIds(): boolean | 'migrate' {
    return this.#hashIds;
  }

  /** Sets how ids are filed (see the getter). */
  set hashIds(mode: boolean | 'migrate') {
    if (mode !== true && mode !== false && mode !== 'migrate') throw SessionError.invalidOption('hashIds', "true, false or 'migrate'", mode);
    this.#hashIds = mode;
    this.#keys.clear();
  }

  /**
   * The key the store files `id` under: the id itself, or with {@link SessionStore.hashIds} a
   * SHA-256 of its random part (`k.` and 43 characters), which is what `ids()` yields then. Keys
   * cannot be presented by a client: the middleware only ever derives them from an id.
   */
  keyFor(id: string): string {
    this.checkId(id);
    return this.keyOf(id);
  }

  /** Reads the session filed under `key` (from {@link SessionStore.keyFor}, `ids()` or the user index). */
  async loadKey(key: string): Promise<StoredSession | undefined> {
    this.checkId(key);
    return this.loadSession(key);
  }

  /** Destroys the session filed under `key` (from {@link SessionStore.keyFor}, `ids()` or the user index). */
  async destroyKey(key: string): Promise<void> {
    this.checkId(key);
    return this.destroySession(key);
  }

  /**
   * The TTL of writes that name none. The middleware that owns the store sets it to its `maxAge`.
   * @defaultValue 3600
   */
  get defaultTtlSeconds(): number {
    return this.#defaultTtlSeconds;
  }

  /** Sets the default TTL (a positive number of seconds). */
  set defaultTtlSeconds(seconds: number) {
    if (!(typeof seconds === 'number' && Number.isFinite(seconds) && seconds > 0)) {
      throw SessionError.invalidOption('defaultTtlSeconds', 'a positive number of seconds', seconds);
    }
    this.#defaultTtlSeconds = seconds;
  }

  /**
   * Reads a session with its expiry, or the tombstone of a destroyed one; `undefined` when there
   * is neither (or it expired). Rejects with `invalid-id` for an id that is not a non-empty string.
   */
  async load(id: string): Promise<StoredSession | undefined> {
    this.checkId(id);
    return this.#load(id);
  }

  /**
   * The data of `id`, or `undefined` when it is missing, expired or destroyed. The fields the
   * middleware keeps beside the data (named `__session.*`) are left out. Built on
   * {@link SessionStore.load}, so a subclass that overrides `load` changes what `get` sees.
   */
  async get(id: string): Promise<SessionData | undefined> {
    const found = await this.load(id);
    if (found?.state !== 'active') return undefined;
    takeMeta(found.data);
    return found.data;
  }

  /**
   * Replaces the whole record of `id`; without `ttlSeconds` the default TTL applies. Checks the
   * id, then the record (a plain object with valid keys and JSON values), then the TTL.
   */
  async set(id: string, data: SessionData, ttlSeconds?: number): Promise<void> {
    this.checkId(id);
    const json = recordToJson(data);
    const ttl = this.ttlOrDefault(ttlSeconds);
    return this.writeSession(this.keyOf(id), json, ttl);
  }

  /** Removes `id` and leaves a tombstone so that the id is never adopted again while it could be presented. */
  async destroy(id: string): Promise<void> {
    this.checkId(id);
    return this.destroySession(this.keyOf(id));
  }

  /** Extends the TTL of a live session; a missing or destroyed one stays so. */
  async touch(id: string, ttlSeconds: number): Promise<void> {
    this.checkId(id);
    const ttl = this.ttlOrDefault(ttlSeconds);
    return this.touchSession(this.keyOf(id), ttl);
  }

  /**
   * Writes only the fields in `changes` (a field set to `undefined` is deleted), creating the
   * session when it does not exist, and sets its TTL. Every field is checked before anything is
   * written, so a refused patch changes nothing.
   */
  async patch(id: string, changes: SessionChanges, ttlSeconds: number): Promise<void> {
    this.checkId(id);
    const ttl = this.ttlOrDefault(ttlSeconds);
    return this.patchSession(this.keyOf(id), checkedChanges(changes), ttl);
  }

  /**
   * Atomically adds `by` to the numeric field `key` (a missing field counts as 0), sets the TTL
   * and resolves the new value. Rejects with a `not-a-number` {@link SessionError} when the field
   * holds something else.
   */
  async increment(id: string, key: string, by: number, ttlSeconds: number): Promise<number> {
    this.checkId(id);
    assertKey(key);
    checkAmount(by);
    const ttl = this.ttlOrDefault(ttlSeconds);
    return this.incrementField(this.keyOf(id), key, by, ttl);
  }

  /** Removes every session (and tombstone) this store holds. */
  async clear(): Promise<void> {
    return this.clearSessions();
  }

  /** Counts live sessions (tombstones and expired entries excluded). */
  async length(): Promise<number> {
    return this.countSessions();
  }

  /** Iterates the ids of live sessions (each once). */
  async *ids(): AsyncIterable<string> {
    yield* this.sessionIds();
  }

  /**
   * Adds (or replaces, by handle) a logged-in session in its user's index, unless the user's
   * revocation mark ends it (an in-flight request of a revoked session cannot put it back on
   * the list). The index keeps at most `MAX_USER_SESSIONS` (100) entries and lives as long as
   * its longest entry. Rejects with `unsupported` on a store that keeps no index.
   */
  async indexSession(userId: string, entry: UserSessionEntry): Promise<void> {
    checkUserId(userId);
    checkEntry(entry);
    return this.indexUserSession(userId, entry);
  }

  /** Takes the session named `handle` off its user's index. */
  async unindexSession(userId: string, handle: string): Promise<void> {
    checkUserId(userId);
    if (typeof handle !== 'string' || handle.length === 0) throw new SessionError('invalid-value', 'A handle must be a non-empty string');
    return this.unindexUserSession(userId, handle);
  }

  /** The user's indexed sessions that have not expired, and the revocation mark. */
  async userIndex(userId: string): Promise<UserIndex> {
    checkUserId(userId);
    return this.loadUserIndex(userId);
  }

  /** The user's revocation mark only (read on every request of a logged-in session), or `undefined`. */
  async userRevocation(userId: string): Promise<UserRevocation | undefined> {
    checkUserId(userId);
    return this.loadUserRevocation(userId);
  }

  /**
   * Atomically marks every session of the user logged in before `before` as revoked (but the
   * one named `spared`), takes them off the index and resolves the entries taken off, so the
   * caller can destroy their sessions. The mark lasts `REVOCATION_TTL_SECONDS` (400 days).
   */
  async revokeUser(userId: string, before: number, spared?: string): Promise<UserSessionEntry[]> {
    checkUserId(userId);
    if (typeof before !== 'number' || !Number.isFinite(before)) throw new SessionError('invalid-value', 'before must be an epoch ms');
    return this.revokeUserSessions(userId, { before, spared });
  }

  /**
   * Releases what the store itself owns (timers, connections it opened); a no-op by default.
   * A store never closes a client the application passed in (a Redis client, a wrapped
   * express-session store): the application owns those. The DI module calls it when the
   * container deactivates the default store.
   */
  close(): void | Promise<void> {
    return undefined;
  }

  /**
   * Primitive of {@link SessionStore.load} (and so of `get`): what the backend holds under `id`,
   * a live session (its data a fresh copy the caller may change, with its expiry when known), a
   * tombstone, or `undefined` when there is nothing or it expired.
   */
  protected abstract loadSession(id: string): Promise<StoredSession | undefined>;

  /**
   * Primitive of {@link SessionStore.set}: replaces the whole record of `id` (a tombstone
   * included) with `json`, so that it runs out after `ttlSeconds`.
   * @param json - The record's JSON text: an object whose keys are valid and whose values are
   *   JSON (checked). `JSON.parse` gives a fresh copy.
   * @param ttlSeconds - Positive, possibly fractional; already resolved (the default TTL when the
   *   caller named none).
   */
  protected abstract writeSession(id: string, json: string, ttlSeconds: number): Promise<void>;

  /**
   * Primitive of {@link SessionStore.destroy}: replaces what `id` holds with a tombstone that
   * lasts the session's remaining TTL (the default TTL when the id held nothing, or its expiry
   * is unknown). Destroying a tombstone again leaves it as it is.
   */
  protected abstract destroySession(id: string): Promise<void>;

  /**
   * Primitive of {@link SessionStore.touch}: gives the live session `id` the TTL `ttlSeconds`
   * (positive, resolved); a missing, expired or destroyed id stays as it is.
   */
  protected abstract touchSession(id: string, ttlSeconds: number): Promise<void>;

  /**
   * Primitive of {@link SessionStore.patch}: writes each field of `changes` into the session
   * `id` (creating it when there is none) and sets its TTL, atomically with respect to other
   * writes of the same session. A tombstone stays one: nothing is written then.
   * @param changes - `[key, json]` pairs, all checked: `json` is the field's new value as JSON
   *   text, or `undefined` to delete the field.
   * @param ttlSeconds - Positive, possibly fractional.
   */
  protected abstract patchSession(id: string, changes: ReadonlyArray<readonly [key: string, json: string | undefined]>, ttlSeconds: number): Promise<void>;

  /**
   * Primitive of {@link SessionStore.increment}: atomically adds `by` (finite) to the field
   * `key` (valid) of session `id` (a missing field or session counts as 0), sets the TTL and
   * resolves the new value. On a tombstone it resolves what the value would be and writes
   * nothing. Rejects with a `not-a-number` {@link SessionError} when the field holds anything
   * but a number (`null` included), changing nothing.
   */
  protected abstract incrementField(id: string, key: string, by: number, ttlSeconds: number): Promise<number>;

  /** Primitive of {@link SessionStore.clear}: removes every session and tombstone of this store. */
  protected abstract clearSessions(): Promise<void>;

  /** Primitive of {@link SessionStore.length}: counts live, unexpired sessions (no tombstones). */
  protected abstract countSessions(): Promise<number>;

  /** Primitive of {@link SessionStore.ids}: the ids of live, unexpired sessions, each once. */
  protected abstract sessionIds(): AsyncIterable<string>;

  /**
   * Primitive of {@link SessionStore.indexSession} (arguments checked). A store without a user
   * index keeps this default, which rejects with `unsupported`; logins then still work, and
   * only the listing and revocation calls fail.
   */
  protected indexUserSession(userId: string, entry: UserSessionEntry): Promise<void> {
    void userId;
    void entry;
    return Promise.reject(noUserIndex(this));
  }

  /** Primitive of {@link SessionStore.unindexSession}; rejects with `unsupported` by default. */
  protected unindexUserSession(userId: string, handle: string): Promise<void> {
    void userId;
    void handle;
    return Promise.reject(noUserIndex(this));
  }

  /** Primitive of {@link SessionStore.userIndex}: live entries only; rejects with `unsupported` by default. */
  protected loadUserIndex(userId: string): Promise<UserIndex> {
    void userId;
    return Promise.reject(noUserIndex(this));
  }

  /** Primitive of {@link SessionStore.userRevocation}; resolves `undefined` by default (no index, no marks). */
  protected loadUserRevocation(userId: string): Promise<UserRevocation | undefined> {
    void userId;
    return Promise.resolve(undefined);
  }

  /** Primitive of {@link SessionStore.revokeUser}; rejects with `unsupported` by default. */
  protected revokeUserSessions(userId: string, revocation: UserRevocation): Promise<UserSessionEntry[]> {
    void userId;
    void revocation;
    return Promise.reject(noUserIndex(this));
  }

  /**
   * False for an id that the middlewares owning this store do not accept (a tampered signature),
   * when ids are hashed; true otherwise. `load`/`get` of such an id resolve `undefined`, writes
   * reject with `invalid-id`.
   */
  protected idAccepted(id: string): boolean {
    if (this.#hashIds === false) return true;
    const checks = this[ID_CHECKS];
    if (checks.length === 0) return true;
    for (const check of checks) if (check(id)) return true;
    return false;
  }

  /** @internal An id the middleware has just issued: its key is derived now, without the id check (an HMAC). */
  [TRUST_ID](id: string): void {
    if (this.#hashIds === false || this.#keys.has(id)) return;
    if (this.#keys.size >= KEY_CACHE) this.#keys.clear();
    this.#keys.set(id, hashedKeyOf(id));
  }

  /** @internal Registers a middleware's id check (the newest `MAX_ID_CHECKS` are kept). */
  [ADD_ID_CHECK](check: (id: string) => boolean): void {
    const checks = this[ID_CHECKS];
    checks.push(check);
    if (checks.length > MAX_ID_CHECKS) checks.shift();
  }

  /** The key `id` (checked) is filed under; see {@link SessionStore.keyFor}. */
  protected keyOf(id: string): string {
    if (this.#hashIds === false) return id;
    // Remembered keys belong to ids already accepted: one map lookup on the request path.
    let key = this.#keys.get(id);
    if (key === undefined) {
      if (!this.idAccepted(id)) {
        throw new SessionError('invalid-id', 'Not an id the middleware that owns this store issued (tampered or forged); with hashed ids it is refused');
      }
      key = hashedKeyOf(id);
      if (this.#keys.size >= KEY_CACHE) this.#keys.clear();
      this.#keys.set(id, key);
    }
    return key;
  }

  /** `load` by key; in `'migrate'` mode a session still under its raw id moves under its key. */
  async #load(id: string): Promise<StoredSession | undefined> {
    if (this.#hashIds !== false && !this.#keys.has(id) && !this.idAccepted(id)) return undefined;
    const key = this.keyOf(id);
    const found = await this.loadSession(key);
    if (found !== undefined || this.#hashIds !== 'migrate' || key === id) return found;
    const raw = await this.loadSession(id);
    if (raw?.state !== 'active') return raw;
    const ttl = raw.expiresAt === undefined ? this.#defaultTtlSeconds : Math.max(0.001, (raw.expiresAt - Date.now()) / 1000);
    await this.writeSession(key, JSON.stringify(raw.data), ttl);
    await this.destroySession(id);
    return this.loadSession(key);
  }

  /**
   * Rejects ids that are not non-empty strings with an `invalid-id` {@link SessionError}, so an
   * `undefined` id never becomes a session called "undefined". The public methods call it on
   * every id before any primitive.
   */
  protected checkId(id: unknown): asserts id is string {
    if (typeof id !== 'string' || id.length === 0) {
      throw new SessionError('invalid-id', 'Session ids must be non-empty strings');
    }
  }

  /** Resolves `ttlSeconds`, falling back to the default TTL; rejects nonsense early. */
  protected ttlOrDefault(ttlSeconds: number | undefined): number {
    if (ttlSeconds === undefined) return this.defaultTtlSeconds;
    if (!(typeof ttlSeconds === 'number' && Number.isFinite(ttlSeconds) && ttlSeconds > 0)) {
      throw new SessionError('invalid-value', `TTL must be a positive number of seconds, got ${String(ttlSeconds)}`);
    }
    return ttlSeconds;
  }
}
