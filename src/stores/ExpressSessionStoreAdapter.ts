import { SessionError } from '../core/SessionError.js';
import type { SessionData } from '../core/json.js';
import { RecordStore, type RecordStoreOptions, type SessionRecord, type TimedSessionRecord } from './RecordStore.js';

/** The callback of an express-session store call: an error, or a result. */
export type ExpressStoreCallback<T = unknown> = (error?: unknown, result?: T) => void;

/**
 * What {@link ExpressSessionStoreAdapter} needs of a store written for express-session: the
 * callback API of express-session's `Store` (`get`, `set`, `destroy`; `all` and `clear` when the
 * store has them). Any such store fits, typed or not; this package does not depend on
 * `@types/express-session` (which would redeclare `req.session`).
 *
 * `touch` and `length` are not called: a store's `touch` often moves only the backend's expiry
 * and leaves the stored `cookie.expires` (which the adapter reads expiry from) behind, and
 * `length` counts tombstones.
 *
 * @example
 * ```ts
 * const pgStore: ExpressSessionStoreLike = new (connectPgSimple(session))({ pool });
 * ```
 */
export interface ExpressSessionStoreLike {
  /** Calls back with the stored session, or `null`/`undefined` when there is none. */
  get(sid: string, callback: (error: unknown, session?: unknown) => void): unknown;
  /**
   * Stores `session` under `sid`, replacing what was there. The adapter passes an
   * {@link ExpressSessionRecord}; the parameter is typed `object` so that stores typed with an
   * application's own `SessionData` fit too.
   */
  set(sid: string, session: object, callback?: (error?: unknown) => void): unknown;
  /** Removes `sid`. */
  destroy(sid: string, callback?: (error?: unknown) => void): unknown;
  /** Optional: calls back with every stored session, as an object keyed by id or an array of sessions carrying an `id`. */
  all?(callback: (error: unknown, sessions?: unknown) => void): unknown;
  /** Optional: removes every stored session. */
  clear?(callback?: (error?: unknown) => void): unknown;
}

/**
 * The cookie an express-session store finds in every record: it computes the record's expiry
 * from `expires` (or `maxAge`), as express-session's own `Cookie` would let it.
 */
export interface ExpressSessionCookie {
  /** The TTL of the write, in milliseconds. */
  originalMaxAge: number;
  /** When the record runs out (a `Date`; stores that serialize keep its ISO string). */
  expires: Date;
  /** As express-session's default cookie. */
  httpOnly: true;
  /** As express-session's default cookie. */
  path: '/';
  /** Milliseconds left until `expires` (a getter, not serialized, as on express-session's `Cookie`). */
  readonly maxAge: number;
}

/**
 * The record {@link ExpressSessionStoreAdapter} hands to the wrapped store:
 * `{ cookie, swarmauri: 1, data }` for a live session, `{ cookie, swarmauri: 1, tombstone: true }`
 * for the tombstone of a destroyed id, `{ cookie, swarmauri: 1, userIndex }` for a user's index
 * (under the id `swarmauri-user:` + base64url(user id)). The application's fields live under
 * `data`, so one named `cookie` (or `id`, which some stores add when listing) collides with
 * nothing; `swarmauri: 1` marks (and versions) the format, and only a record carrying it is ever
 * read as a tombstone or a user index.
 *
 * @example
 * ```json
 * { "cookie": { "originalMaxAge": 3600000, "expires": "2030-01-01T01:00:00.000Z", "httpOnly": true, "path": "/" },
 *   "swarmauri": 1, "data": { "visits": 2 } }
 * ```
 */
export interface ExpressSessionRecord {
  /** Expiry, in the shape express-session stores read it from. */
  cookie: ExpressSessionCookie;
  /** Format marker and version. */
  swarmauri: 1;
  /** The session's data (live sessions). */
  data?: SessionData;
  /** Set on the tombstone of a destroyed id. */
  tombstone?: true;
  /** A user's index: its entries and revocation mark (see {@link SessionRecord}). */
  userIndex?: Extract<SessionRecord, { userIndex: unknown }>['userIndex'];
}

/** The cookie of a record that runs out at `expiresAt`, `ttlMs` after now. */
class StoredCookie implements ExpressSessionCookie {
  originalMaxAge: number;
  expires: Date;
  httpOnly = true as const;
  path = '/' as const;

  constructor(expiresAt: number, ttlMs: number) {
    this.originalMaxAge = ttlMs;
    this.expires = new Date(expiresAt);
  }

  get maxAge(): number {
    return this.expires.getTime() - Date.now();
  }
}

/**
 * Wraps any store written for express-session (connect-pg-simple, connect-mongo, connect-redis,
 * ... : the callback API with `get`, `set`, `destroy`, and `all`/`clear` where available) as a
 * {@link SessionStore} of this library, built on {@link RecordStore}.
 *
 * - Records: see {@link ExpressSessionRecord}. The wrapped store computes its TTL from
 *   `cookie.expires`, as it does for express-session; the adapter reads the expiry back from it
 *   and treats a record whose expiry has passed as missing, even if the store still returns it.
 *   A record without the `swarmauri` marker (one written by express-session itself) reads as a
 *   session whose data is every field but `cookie`; the next write stores it in this format.
 * - Tombstones are records too, so any backend keeps them for the remaining TTL.
 * - `patch`, `increment`, `touch` and `destroy` read, change and write back the whole record:
 *   atomic within one process (serialised per id), **last-writer-wins across processes**. Several
 *   instances writing to one session concurrently need a native store such as `RedisStore`.
 * - `touch` writes the whole record with its new cookie (a store's own `touch` would leave the
 *   stored `cookie.expires` behind).
 * - `ids()` and `length()` need the store's `all`; `clear()` uses its `clear` (or `all` and
 *   `destroy`). Without them those calls reject with a `store-error`.
 * - User indexes (`indexSession`, `revokeUser`, ...) are records of the wrapped store, one per
 *   user (see {@link ExpressSessionRecord}), kept as long as their longest entry or revocation
 *   mark; `ids()` and `length()` skip them, `clear()` removes them. Each operation reads and
 *   writes the whole record: **atomic within one process only** (see {@link RecordStore}).
 * - A store's callback error rejects the call with a `store-error` {@link SessionError} (an
 *   `ENOENT` error from `get` means "not found", as in express-session); a second callback is
 *   ignored; a call that never calls back rejects with `store-timeout` after `callTimeoutSeconds`.
 * - Reads are copied through JSON, so the wrapped store never shares objects with callers.
 *
 * @example
 * ```ts
 * import session from 'express-session';
 * import connectPgSimple from 'connect-pg-simple';
 *
 * const PGStore = connectPgSimple(session);
 * const sessions = new SessionMiddleware({
 *   secret: process.env.SESSION_SECRET,
 *   sessionStorage: new ExpressSessionStoreAdapter(new PGStore({ pool, createTableIfMissing: true })),
 * });
 * ```
 */
export class ExpressSessionStoreAdapter extends RecordStore {
  /** The wrapped express-session store. */
  readonly store: ExpressSessionStoreLike;

  constructor(store: ExpressSessionStoreLike, options: RecordStoreOptions = {}) {
    super(options);
    if (typeof store !== 'object' || store === null || !['get', 'set', 'destroy'].every((name) => typeof (store as unknown as Record<string, unknown>)[name] === 'function')) {
      throw SessionError.invalidOption('store', 'an express-session store (with get, set and destroy methods)', store);
    }
    this.store = store;
  }

  protected async readRecord(id: string): Promise<SessionRecord | undefined> {
    const stored = await this.#call<unknown>('get', (done) => this.store.get(id, done), true);
    return stored === undefined || stored === null ? undefined : recordOf(stored);
  }

  protected async writeRecord(id: string, record: TimedSessionRecord, ttlSeconds: number): Promise<void> {
    const cookie = new StoredCookie(record.expiresAt, Math.round(ttlSeconds * 1000));
    const value: ExpressSessionRecord =
      'tombstone' in record
        ? { cookie, swarmauri: 1, tombstone: true }
        : 'userIndex' in record
          ? { cookie, swarmauri: 1, userIndex: record.userIndex }
          : { cookie, swarmauri: 1, data: record.data };
    await this.#call('set', (done) => this.store.set(id, value, done));
  }

  protected async removeRecord(id: string): Promise<void> {
    await this.#call('destroy', (done) => this.store.destroy(id, done));
  }

  protected override async *listRecords(): AsyncIterable<readonly [string, SessionRecord]> {
    const all = this.store.all;
    if (typeof all !== 'function') {
      throw new SessionError('store-error', 'The wrapped express-session store has no all(): ids(), length() and clear() need it');
    }
    const sessions = await this.#call<unknown>('all', (done) => all.call(this.store, done));
    if (sessions === null || typeof sessions !== 'object') return;
    const entries: Array<[unknown, unknown]> = Array.isArray(sessions)
      ? sessions.map((session: unknown) => [(session as { id?: unknown } | null)?.id, session])
      : Object.entries(sessions);
    for (const [id, session] of entries) {
      // An array entry without its id (some stores list sessions only) cannot be named: skipped.
      if (typeof id === 'string' && id !== '' && session !== null && typeof session === 'object') {
        const record = recordOf(session);
        if (record) yield [id, record];
      }
    }
  }

  protected override async removeAll(): Promise<void> {
    const clear = this.store.clear;
    if (typeof clear === 'function') {
      await this.#call('clear', (done) => clear.call(this.store, done));
      return;
    }
    for await (const [id] of this.listRecords()) await this.removeRecord(id);
  }

  /**
   * Calls a callback-style method of the wrapped store: resolves with what it calls back with,
   * rejects on an error (or a rejected promise, for stores whose methods are also async). Only
   * the first callback counts.
   */
  #call<T>(what: string, invoke: (done: ExpressStoreCallback<T>) => unknown, enoentIsMissing = false): Promise<T | undefined> {
    return new Promise<T | undefined>((resolve, reject) => {
      let settled = false;
      const done: ExpressStoreCallback<T> = (error, result) => {
        if (settled) return;
        settled = true;
        if (!error) resolve(result);
        else if (enoentIsMissing && (error as { code?: unknown }).code === 'ENOENT') resolve(undefined);
        else reject(new SessionError('store-error', `The express-session store failed on ${what}`, { cause: error }));
      };
      try {
        const returned = invoke(done);
        if (returned !== null && typeof returned === 'object' && typeof (returned as { then?: unknown }).then === 'function') {
          (returned as PromiseLike<unknown>).then(undefined, (error: unknown) => done(error ?? new Error(`${what} rejected`)));
        }
      } catch (error) {
        done(error ?? new Error(`${what} threw`));
      }
    });
  }
}

/**
 * Reads a stored session as a record: this library's format, or a session written by
 * express-session itself (every field but `cookie` is data). Data is copied through JSON.
 */
function recordOf(stored: unknown): SessionRecord | undefined {
  if (typeof stored !== 'object' || stored === null) return undefined;
  const fields = stored as Record<string, unknown>;
  const expiresAt = expiryOf(fields.cookie);
  if (fields.swarmauri === 1) {
    if (fields.tombstone === true) return { tombstone: true, expiresAt };
    const userIndex = fields.userIndex;
    if (typeof userIndex === 'object' && userIndex !== null && !Array.isArray(userIndex)) {
      return { userIndex: JSON.parse(JSON.stringify(userIndex)) as Extract<SessionRecord, { userIndex: unknown }>['userIndex'], expiresAt };
    }
    const data = fields.data;
    if (typeof data !== 'object' || data === null || Array.isArray(data)) return { data: {}, expiresAt };
    return { data: copy(data as Record<string, unknown>, false), expiresAt };
  }
  return { data: copy(fields, true), expiresAt };
}

/**
 * A JSON copy of the fields of `fields` (without `cookie` for a foreign record), leaving out a
 * top-level `__proto__`, which no session may hold.
 */
function copy(fields: Record<string, unknown>, foreign: boolean): SessionData {
  const out: SessionData = {};
  for (const key of Object.keys(fields)) {
    if (key !== '__proto__' && !(foreign && key === 'cookie')) out[key] = fields[key];
  }
  return JSON.parse(JSON.stringify(out)) as SessionData;
}

/** Epoch ms of a stored cookie's `expires` (a `Date`, an ISO string or a number), when valid. */
function expiryOf(cookie: unknown): number | undefined {
  if (typeof cookie !== 'object' || cookie === null) return undefined;
  const expires = (cookie as { expires?: unknown }).expires;
  if (!(expires instanceof Date) && typeof expires !== 'string' && typeof expires !== 'number') return undefined;
  const at = new Date(expires).getTime();
  return Number.isFinite(at) ? at : undefined;
}
