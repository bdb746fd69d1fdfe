import { SessionStore, type StoredSession } from '../abstract/SessionStore.js';
import { MAX_USER_SESSIONS, type UserIndex, type UserRevocation, type UserSessionEntry } from '../abstract/userIndex.js';
import { SessionError } from '../core/SessionError.js';
import type { SessionData } from '../core/json.js';
import { seamOf, type RedisSeam, type RedisStoreClient } from './redis/clients.js';
import { DESTROY, INCREMENT, LOAD, PATCH, SET, TOUCH, USER_INDEX, USER_LOAD, USER_REVOCATION, USER_REVOKE, USER_UNINDEX, type LuaScript } from './redis/scripts.js';
import { encodeUserId, entryFrom, entryToJson, newRevocation, publicRevocation, revocationFrom } from './userIndexes.js';

export type { IoRedisLike, IoRedisClusterLike, NodeRedisClientLike, NodeRedisClusterLike, RedisStoreClient } from './redis/clients.js';

/** Default of {@link RedisStoreOptions.prefix}. */
const DEFAULT_PREFIX = 'session:';

/**
 * Where user indexes live under the prefix: `${prefix}user:${encoded user id}`. Session ids that
 * start with it are refused (the middleware's ids never contain `:`).
 */
const USER_NAMESPACE = 'user:';

/** Options of {@link RedisStore}. */
export interface RedisStoreOptions {
  /**
   * A connected Redis client: an ioredis `Redis` or `Cluster`, or a node-redis 5 client
   * (`createClient`) or cluster (`createCluster`). The application owns it: connect it before use
   * and close it on shutdown (the store never does either). An ioredis `keyPrefix` is refused:
   * use `prefix`.
   */
  client: RedisStoreClient;
  /**
   * Prepended to every session id to make its Redis key (`${prefix}${id}`). `clear()`, `length()`
   * and `ids()` work on every key that starts with it, so it must not be shared with other data,
   * nor be the beginning of another store's prefix. Non-empty. It deliberately differs from
   * connect-redis's `sess:`, so the two can share a database during a migration. User indexes
   * live under it too, as `${prefix}user:${encoded user id}`.
   * @defaultValue `'session:'`
   */
  prefix?: string;
  /** TTL of writes that name none; the owning middleware overrides it with its `maxAge`. @defaultValue 3600 */
  defaultTtlSeconds?: number;
  /**
   * The `COUNT` hint of the `SCAN` calls behind `clear()`, `length()` and `ids()`: keys examined per
   * call, per master. A positive integer.
   * @defaultValue 1000
   */
  scanCount?: number;
}

/** A reply element as text (a client may hand bulk strings over as `Buffer`s). */
function text(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('utf8');
  throw new TypeError(`unexpected Redis reply element (${typeof value})`);
}

/** A reply element as an integer (RESP integers come as numbers, or as text under some type mappings). */
function integer(value: unknown): number {
  if (typeof value === 'number') return value;
  if (typeof value === 'bigint') return Number(value);
  return Number(text(value));
}

function list(value: unknown): unknown[] {
  if (Array.isArray(value)) return value;
  throw new TypeError('unexpected Redis reply (not an array)');
}

/** `SCAN MATCH` pattern for keys starting with `prefix` (glob characters in it escaped). */
function matchPattern(prefix: string): string {
  return `${prefix.replace(/[*?[\]\\]/g, '\\$&')}*`;
}

/** TTL seconds as `PEXPIRE` milliseconds: a positive integer. */
function milliseconds(ttlSeconds: number): string {
  return String(Math.min(Number.MAX_SAFE_INTEGER, Math.max(1, Math.round(ttlSeconds * 1000))));
}

/** How a JSON value is named in a `not-a-number` message. */
function kindOf(json: string): string {
  try {
    const value: unknown = JSON.parse(json);
    if (value === null) return 'null';
    return Array.isArray(value) ? 'array' : typeof value;
  } catch {
    return 'value that is not JSON';
  }
}

/**
 * The distributed store: sessions in Redis (standalone or Cluster), through the application's own
 * ioredis or node-redis client.
 *
 * - One key per session, `${prefix}${id}`: a hash whose fields are the session's top-level keys,
 *   each holding that value's JSON (plus an empty-named marker field, so an empty session exists).
 *   A destroyed session is a string (a tombstone) that expires when the session would have.
 * - Redis keeps the TTL (`PEXPIRE`, in milliseconds; fractional seconds are fine).
 * - Every operation on a session is one round trip, one Lua script on one key (`EVALSHA`, with an
 *   `EVAL` fallback when the server does not have the script yet), so it is atomic and
 *   single-slot in a cluster: `load` reads the hash and its TTL; `patch` writes only the changed
 *   fields (two requests changing different keys both survive); `increment` adds in Redis; `set`
 *   replaces the record; `destroy` leaves the tombstone; `patch`, `increment` and `touch` never
 *   bring a tombstone back.
 * - `clear()`, `length()` and `ids()` use `SCAN` (never `KEYS`) on every master of a cluster.
 * - Values are checked with the same JSON rules as {@link MemoryStore}.
 * - User indexes: one hash per user, `${prefix}user:${base64url of the user id}`, a field per
 *   indexed session (by handle, the entry's JSON) and the empty-named field for the revocation
 *   mark. Each user-index operation is one Lua script on that one key (atomic, single-slot);
 *   `userRevocation` is one `HGET`. `ids()` and `length()` skip these keys, `clear()` removes
 *   them; session ids starting with `user:` are refused (`invalid-id`).
 *
 * Needs Redis 6.0 or later (`SCAN ... TYPE`). Failures of the client reject with a
 * `store-error` {@link SessionError} whose `cause` is the client's error; the middleware bounds
 * every call by its `storeTimeout`, whatever the client's own retry settings.
 *
 * @example
 * ```ts
 * import { Redis } from 'ioredis';
 * const client = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
 * const sessions = new SessionMiddleware({ secret, sessionStorage: new RedisStore({ client }) });
 * // node-redis: const client = await createClient({ url }).connect();
 * ```
 */
export class RedisStore extends SessionStore {
  /** The key prefix of this store's sessions (see {@link RedisStoreOptions.prefix}). */
  readonly prefix: string;
  readonly #seam: RedisSeam;
  readonly #match: string;
  readonly #scanCount: string;

  constructor(options: RedisStoreOptions) {
    super();
    if (typeof options !== 'object' || options === null) {
      throw SessionError.invalidOption('client', 'a connected ioredis or node-redis client', undefined);
    }
    this.#seam = seamOf(options.client);
    const prefix = options.prefix ?? DEFAULT_PREFIX;
    if (typeof prefix !== 'string' || prefix.length === 0) {
      throw SessionError.invalidOption('prefix', 'a non-empty string', prefix);
    }
    const scanCount = options.scanCount ?? 1000;
    if (!Number.isSafeInteger(scanCount) || scanCount < 1) {
      throw SessionError.invalidOption('scanCount', 'a positive integer', scanCount);
    }
    this.prefix = prefix;
    this.#match = matchPattern(prefix);
    this.#scanCount = String(scanCount);
    if (options.defaultTtlSeconds !== undefined) this.defaultTtlSeconds = options.defaultTtlSeconds;
  }

  protected async loadSession(id: string): Promise<StoredSession | undefined> {
    return this.#run(LOAD, id, [], (reply): StoredSession | undefined => {
      const state = integer(reply[0]);
      if (state === 0) return undefined;
      if (state === 2) return { state: 'destroyed' };
      const pttl = integer(reply[1]);
      const fields = list(reply[2]);
      const data: SessionData = {};
      for (let i = 0; i < fields.length; i += 2) {
        const field = text(fields[i]);
        // The marker, and a key no write of ours makes (it would set the prototype).
        if (field === '' || field === '__proto__') continue;
        data[field] = JSON.parse(text(fields[i + 1]));
      }
      return { state: 'active', data, expiresAt: pttl >= 0 ? Date.now() + pttl : undefined };
    });
  }

  protected async writeSession(id: string, json: string, ttlSeconds: number): Promise<void> {
    // The record was checked as a whole; each field is kept as its own JSON.
    const record = JSON.parse(json) as SessionData;
    const args = [milliseconds(ttlSeconds)];
    for (const key of Object.keys(record)) args.push(key, JSON.stringify(record[key]));
    await this.#run(SET, id, args);
  }

  protected async destroySession(id: string): Promise<void> {
    await this.#run(DESTROY, id, [milliseconds(this.defaultTtlSeconds)]);
  }

  protected async touchSession(id: string, ttlSeconds: number): Promise<void> {
    await this.#run(TOUCH, id, [milliseconds(ttlSeconds)]);
  }

  protected async patchSession(id: string, changes: ReadonlyArray<readonly [key: string, json: string | undefined]>, ttlSeconds: number): Promise<void> {
    const deleted: string[] = [];
    const written: string[] = [];
    for (const [key, json] of changes) {
      if (json === undefined) deleted.push(key);
      else written.push(key, json);
    }
    await this.#run(PATCH, id, [milliseconds(ttlSeconds), String(deleted.length), ...deleted, ...written]);
  }

  protected async incrementField(id: string, key: string, by: number, ttlSeconds: number): Promise<number> {
    return this.#run(INCREMENT, id, [milliseconds(ttlSeconds), key, String(by)], (reply) => {
      const outcome = integer(reply[0]);
      if (outcome === 0) {
        throw new SessionError('not-a-number', `Cannot increment "${key}": it holds a ${kindOf(text(reply[1]))}`);
      }
      if (outcome === 2) throw new SessionError('invalid-value', `Cannot increment "${key}": the result would not be a finite number`);
      return Number(text(reply[1]));
    });
  }

  protected override async indexUserSession(userId: string, entry: UserSessionEntry): Promise<void> {
    const json = entryToJson(entry);
    const args = [String(Date.now()), entry.handle, json, String(entry.loggedInAt), String(entry.expiresAt), String(MAX_USER_SESSIONS)];
    await this.#runKey(USER_INDEX, this.#userKey(userId), args);
  }

  protected override async unindexUserSession(userId: string, handle: string): Promise<void> {
    await this.#runKey(USER_UNINDEX, this.#userKey(userId), [String(Date.now()), handle]);
  }

  protected override async loadUserIndex(userId: string): Promise<UserIndex> {
    return this.#runKey(USER_LOAD, this.#userKey(userId), [], (reply) => {
      const fields = list(reply);
      const now = Date.now();
      const sessions: UserSessionEntry[] = [];
      let revocation: UserRevocation | undefined;
      for (let i = 0; i < fields.length; i += 2) {
        const field = text(fields[i]);
        const value = text(fields[i + 1]);
        if (field === '') {
          revocation = publicRevocation(revocationFrom(value, now));
        } else {
          const entry = entryFrom(value);
          if (entry && entry.expiresAt > now) sessions.push(entry);
        }
      }
      return { sessions, revocation };
    });
  }

  protected override async loadUserRevocation(userId: string): Promise<UserRevocation | undefined> {
    return this.#runKey(USER_REVOCATION, this.#userKey(userId), [], (reply) =>
      reply === null || reply === undefined ? undefined : publicRevocation(revocationFrom(text(reply), Date.now())),
    );
  }

  protected override async revokeUserSessions(userId: string, revocation: UserRevocation): Promise<UserSessionEntry[]> {
    const now = Date.now();
    const mark = newRevocation(revocation, now);
    const args = [String(now), revocation.spared ?? '', JSON.stringify(mark), String(mark.expiresAt)];
    return this.#runKey(USER_REVOKE, this.#userKey(userId), args, (reply) => {
      const removed: UserSessionEntry[] = [];
      for (const json of list(reply)) {
        const entry = entryFrom(text(json));
        if (entry) removed.push(entry);
      }
      return removed;
    });
  }

  /** Refuses, besides what every store refuses, the ids of the user-index namespace (`user:...`). */
  protected override checkId(id: unknown): asserts id is string {
    super.checkId(id);
    if (id.startsWith(USER_NAMESPACE)) {
      throw new SessionError('invalid-id', `RedisStore keeps user indexes under "${USER_NAMESPACE}": session ids may not start with it`);
    }
  }

  /** The key of a user's index. */
  #userKey(userId: string): string {
    return `${this.prefix}${USER_NAMESPACE}${encodeUserId(userId)}`;
  }

  protected async clearSessions(): Promise<void> {
    await this.#guard('clear', async () => {
      for await (const keys of this.#scan(false)) await this.#seam.unlink(keys);
    });
  }

  protected async countSessions(): Promise<number> {
    return this.#guard('length', async () => {
      const seen = new Set<string>();
      for await (const keys of this.#scan(true)) for (const key of keys) seen.add(key);
      return seen.size;
    });
  }

  protected async *sessionIds(): AsyncIterable<string> {
    // SCAN may return a key twice (while Redis resizes its table): yield each id once.
    const seen = new Set<string>();
    const batches = this.#scan(true)[Symbol.asyncIterator]();
    for (;;) {
      const next = await this.#guard('ids', () => batches.next());
      if (next.done) return;
      for (const key of next.value) {
        if (seen.has(key)) continue;
        seen.add(key);
        yield key.slice(this.prefix.length);
      }
    }
  }

  /**
   * Batches of this store's keys, from every master: live sessions only (hashes, user indexes
   * left out), or every key under the prefix (tombstones and user indexes too, for `clear()`).
   */
  async *#scan(liveOnly: boolean): AsyncGenerator<string[]> {
    const filter = liveOnly ? ['TYPE', 'hash'] : [];
    const users = this.prefix + USER_NAMESPACE;
    for (const send of await this.#seam.masters()) {
      let cursor = '0';
      do {
        const reply = list(await send(['SCAN', cursor, 'MATCH', this.#match, 'COUNT', this.#scanCount, ...filter]));
        cursor = text(reply[0]);
        let keys = list(reply[1]).map(text);
        if (liveOnly) keys = keys.filter((key) => !key.startsWith(users));
        if (keys.length > 0) yield keys;
      } while (cursor !== '0');
    }
  }

  /**
   * Runs `script` on the key of `id` (`EVALSHA`, then `EVAL` when the server lacks the script) and
   * decodes its reply (an array, for scripts that answer one) with `decode`.
   */
  #run<T = void>(script: LuaScript, id: string, args: readonly string[], decode?: (reply: unknown[]) => T): Promise<T> {
    return this.#runKey(script, this.prefix + id, args, decode && ((reply) => decode(list(reply))));
  }

  /** {@link RedisStore.#run} on a whole key, with the reply handed to `decode` as it comes. */
  #runKey<T = void>(script: LuaScript, key: string, args: readonly string[], decode?: (reply: unknown) => T): Promise<T> {
    return this.#guard(script.name, async () => {
      let reply: unknown;
      try {
        reply = await this.#seam.evalsha(script.sha, key, args);
      } catch (error) {
        if (!(error instanceof Error && error.message.startsWith('NOSCRIPT'))) throw error;
        reply = await this.#seam.eval(script.source, key, args);
      }
      return decode ? decode(reply) : (undefined as T);
    });
  }

  /** Turns what the client throws into a `store-error` {@link SessionError} (with no session id in it). */
  async #guard<T>(what: string, op: () => Promise<T>): Promise<T> {
    try {
      return await op();
    } catch (error) {
      if (SessionError.is(error)) throw error;
      const reason = error instanceof Error ? error.message : String(error);
      throw new SessionError('store-error', `RedisStore (${this.#seam.label}) failed on ${what}: ${reason}`, { cause: error });
    }
  }
}
