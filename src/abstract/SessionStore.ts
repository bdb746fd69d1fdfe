import type { SessionChanges, SessionData } from '../core/json.js';
import { SessionError } from '../core/SessionError.js';
import { takeMeta } from '../core/meta.js';

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
 * The store contract every backend implements, and the behaviour they share.
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
 * class MyStore extends SessionStore {
 *   async load(id: string) { ... }
 *   async set(id: string, data: SessionData, ttlSeconds?: number) { ... }
 *   // ...destroy, touch, patch, increment, clear, length, ids
 * }
 * container.rebind(TYPES.SessionStore).to(MyStore).inSingletonScope();
 * ```
 */
export abstract class SessionStore {
  #defaultTtlSeconds = 3600;

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

  /** Reads a session with its expiry, or the tombstone of a destroyed one. */
  abstract load(id: string): Promise<StoredSession | undefined>;

  /** Replaces the whole record of `id`; without `ttlSeconds` the default TTL applies. */
  abstract set(id: string, data: SessionData, ttlSeconds?: number): Promise<void>;

  /** Removes `id` and leaves a tombstone so that the id is never adopted again while it could be presented. */
  abstract destroy(id: string): Promise<void>;

  /** Extends the TTL of a live session; a missing or destroyed one stays so. */
  abstract touch(id: string, ttlSeconds: number): Promise<void>;

  /**
   * Writes only the fields in `changes` (a field set to `undefined` is deleted), creating the
   * session when it does not exist, and sets its TTL.
   */
  abstract patch(id: string, changes: SessionChanges, ttlSeconds: number): Promise<void>;

  /**
   * Atomically adds `by` to the numeric field `key` (a missing field counts as 0), sets the TTL
   * and resolves the new value. Rejects with a `not-a-number` {@link SessionError} when the field
   * holds something else.
   */
  abstract increment(id: string, key: string, by: number, ttlSeconds: number): Promise<number>;

  /** Removes every session (and tombstone) this store holds. */
  abstract clear(): Promise<void>;

  /** Counts live sessions (tombstones and expired entries excluded). */
  abstract length(): Promise<number>;

  /** Iterates the ids of live sessions. */
  abstract ids(): AsyncIterable<string>;

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
   * The data of `id`, or `undefined` when it is missing, expired or destroyed. The fields the
   * middleware keeps beside the data (named `__session.*`) are left out.
   */
  async get(id: string): Promise<SessionData | undefined> {
    const found = await this.load(id);
    if (found?.state !== 'active') return undefined;
    takeMeta(found.data);
    return found.data;
  }

  /**
   * Rejects ids that are not non-empty strings with an `invalid-id` {@link SessionError}, so an
   * `undefined` id never becomes a session called "undefined". Stores call it on every id.
   */
  protected checkId(id: unknown): asserts id is string {
    if (typeof id !== 'string' || id.length === 0) {
      throw new SessionError('invalid-id', 'Session ids must be non-empty strings');
    }
  }

  /** Resolves `ttlSeconds`, falling back to the default TTL; rejects nonsense early. */
  protected ttlOrDefault(ttlSeconds: number | undefined): number {
    if (ttlSeconds === undefined) return this.#defaultTtlSeconds;
    if (!(typeof ttlSeconds === 'number' && Number.isFinite(ttlSeconds) && ttlSeconds > 0)) {
      throw new SessionError('invalid-value', `TTL must be a positive number of seconds, got ${String(ttlSeconds)}`);
    }
    return ttlSeconds;
  }
}
