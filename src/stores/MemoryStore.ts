import { SessionStore, checkedChanges, type StoredSession } from '../abstract/SessionStore.js';
import { checkUserId, isRevoked, type UserIndex, type UserRevocation, type UserSessionEntry } from '../abstract/userIndex.js';
import { SessionError } from '../core/SessionError.js';
import type { SessionData } from '../core/json.js';
import { MAX_TIMER_SECONDS } from '../core/timers.js';
import { SYNC_OPS, type SyncStoreOps } from '../abstract/syncStore.js';
import { recordFromJson, recordToJson } from '../core/serialize.js';
import { CompactEntries, expiresAtOfEntry, isTombstoneEntry, jsonLengthOfEntry, jsonOfEntry, keyOfEntry } from './compactEntries.js';
import { entryFrom, entryToJson, handlesToDrop, newRevocation, publicRevocation, type StoredRevocation } from './userIndexes.js';

/** Default of {@link MemoryStoreOptions.maxBytes}: 64 MiB of JSON text. */
const DEFAULT_MAX_BYTES = 64 * 1024 * 1024;

/** Options of {@link MemoryStore}. */
export interface MemoryStoreOptions {
  /**
   * Most entries kept (live sessions plus tombstones); past it the least recently used goes.
   * Anyone can create entries (see {@link MemoryStore}): past the bound, the sessions of
   * logged-in users are evicted too. User indexes are bounded separately by the same number:
   * at most `maxEntries` users, the one whose index was written least recently going first.
   * @defaultValue 100000
   */
  maxEntries?: number;
  /**
   * Most JSON text kept, summed over all stored sessions and counted in string length
   * (UTF-16 code units): approximately bytes of JSON (exactly for ASCII data; the ids and the
   * per-entry overhead, bounded by `maxEntries`, are not counted). Past it the least recently used
   * entries are evicted, as for `maxEntries`, logged-in users' sessions included. A single record
   * longer than this is refused with a `SessionError` of kind `invalid-value`, evicting nothing.
   * {@link MemoryStore.bytes} gives the current total. A positive integer.
   * @defaultValue 67108864 (64 MiB)
   */
  maxBytes?: number;
  /**
   * Seconds between sweeps of expired entries (the sweep timer is unref'd). `0` disables it;
   * expiry is still enforced on every read.
   * @defaultValue 60
   */
  sweepIntervalSeconds?: number;
  /** TTL of writes that name none; the owning middleware overrides it with its `maxAge`. @defaultValue 3600 */
  defaultTtlSeconds?: number;
}

/** One user's index: entries by handle (as JSON text, with their expiry), and the revocation mark. */
interface UserRecord {
  readonly sessions: Map<string, { readonly json: string; readonly expiresAt: number }>;
  revocation: StoredRevocation | undefined;
}

/**
 * The zero-configuration store for one process: bounded (least-recently-used eviction past
 * `maxEntries` entries or `maxBytes` of JSON), expiry on read plus a periodic sweep, values kept
 * as JSON text so they behave as they would in Redis.
 *
 * Both bounds are shared by everyone: a flood of anonymous requests that each write a session
 * evicts the least recently used entries, and those include the sessions of logged-in users,
 * who are then logged out. Where that matters (a public site, several processes), use a shared
 * store with its own memory policy, such as {@link RedisStore}, or raise
 * `maxEntries` and `maxBytes` to what the process can hold; and write to a session only once
 * there is something worth keeping (the middleware stores nothing for an untouched session).
 *
 * Every operation costs O(1) apart from the JSON work on the record it touches.
 *
 * @example
 * ```ts
 * const store = new MemoryStore({ maxEntries: 50_000 });
 * const sessions = new SessionMiddleware({ sessionStorage: store });
 * // on shutdown
 * store.close();
 * ```
 */
export class MemoryStore extends SessionStore {
  /** Records as JSON text (so no caller shares objects), `null` for a tombstone, packed (see compactEntries.ts). */
  readonly #entries = new CompactEntries();
  readonly #maxEntries: number;
  readonly #maxBytes: number;
  /** Sum of the JSON text lengths of all entries (tombstones count 0); see {@link MemoryStore.bytes}. */
  #bytes = 0;
  /** Ids of tombstones, oldest first: a new tombstone evicts one of these before a live session. */
  readonly #tombstones = new Set<string>();
  #sweepTimer: NodeJS.Timeout | undefined;
  #syncOps: SyncStoreOps | undefined;
  #tombstoneCursor: Iterator<string> | undefined;
  /** User indexes by user id, least recently written first. */
  readonly #users = new Map<string, UserRecord>();

  constructor(options: MemoryStoreOptions = {}) {
    super();
    const maxEntries = options.maxEntries ?? 100_000;
    if (!Number.isInteger(maxEntries) || maxEntries < 1) {
      throw SessionError.invalidOption('maxEntries', 'a positive integer', maxEntries);
    }
    const maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES;
    if (!Number.isSafeInteger(maxBytes) || maxBytes < 1) {
      throw SessionError.invalidOption('maxBytes', 'a positive integer', maxBytes);
    }
    const sweepSeconds = options.sweepIntervalSeconds ?? 60;
    if (!(typeof sweepSeconds === 'number' && Number.isFinite(sweepSeconds) && sweepSeconds >= 0 && sweepSeconds <= MAX_TIMER_SECONDS)) {
      throw SessionError.invalidOption('sweepIntervalSeconds', `a number of seconds from 0 to ${MAX_TIMER_SECONDS}`, sweepSeconds);
    }
    this.#maxEntries = maxEntries;
    this.#maxBytes = maxBytes;
    if (options.defaultTtlSeconds !== undefined) this.defaultTtlSeconds = options.defaultTtlSeconds;
    if (sweepSeconds > 0) {
      this.#sweepTimer = setInterval(() => this.sweep(), sweepSeconds * 1000);
      this.#sweepTimer.unref();
    }
  }

  protected async loadSession(id: string): Promise<StoredSession | undefined> {
    return this.#load(id);
  }

  #load(id: string): StoredSession | undefined {
    const entry = this.#live(id);
    if (entry === undefined) return undefined;
    const json = jsonOfEntry(entry);
    if (json === null) return { state: 'destroyed' };
    return { state: 'active', data: recordFromJson(json), expiresAt: expiresAtOfEntry(entry) };
  }

  protected async writeSession(id: string, json: string, ttlSeconds: number): Promise<void> {
    this.#put(id, json, ttlSeconds);
  }

  protected async destroySession(id: string): Promise<void> {
    const entry = this.#live(id);
    if (entry !== undefined && isTombstoneEntry(entry)) return;
    const expiresAt = entry !== undefined ? expiresAtOfEntry(entry) : Date.now() + this.defaultTtlSeconds * 1000;
    this.#store(id, null, expiresAt);
  }

  protected async touchSession(id: string, ttlSeconds: number): Promise<void> {
    const entry = this.#live(id);
    const json = entry === undefined ? null : jsonOfEntry(entry);
    if (json !== null) this.#entries.set(id, json, Date.now() + ttlSeconds * 1000);
  }

  protected async patchSession(id: string, changes: ReadonlyArray<readonly [key: string, json: string | undefined]>, ttlSeconds: number): Promise<void> {
    this.#patch(id, changes, ttlSeconds);
  }

  #patch(id: string, changes: ReadonlyArray<readonly [key: string, json: string | undefined]>, ttlSeconds: number): void {
    const entry = this.#live(id);
    const stored = entry === undefined ? undefined : jsonOfEntry(entry);
    if (stored === null) return;
    const data: SessionData = stored !== undefined ? recordFromJson(stored) : {};
    for (const [key, json] of changes) {
      if (json === undefined) delete data[key];
      else data[key] = JSON.parse(json);
    }
    // Every value is JSON parsed from checked text: no need to check the record again.
    this.#put(id, JSON.stringify(data), ttlSeconds);
  }

  protected async incrementField(id: string, key: string, by: number, ttlSeconds: number): Promise<number> {
    const entry = this.#live(id);
    const stored = entry === undefined ? undefined : jsonOfEntry(entry);
    const data: SessionData = stored ? recordFromJson(stored) : {};
    const current = Object.hasOwn(data, key) ? data[key] : 0;
    if (typeof current !== 'number') {
      throw new SessionError('not-a-number', `Cannot increment "${key}": it holds a ${typeof current}`);
    }
    const next = current + by;
    // A destroyed session is not brought back by a late write from a request still in flight.
    if (stored === null) return next;
    data[key] = next;
    this.#put(id, JSON.stringify(data), ttlSeconds);
    return next;
  }

  protected async clearSessions(): Promise<void> {
    this.#entries.clear();
    this.#tombstones.clear();
    this.#bytes = 0;
    this.#users.clear();
  }

  /**
   * The JSON text held now, in the unit of {@link MemoryStoreOptions.maxBytes}: the sum of the
   * string lengths of every stored record (tombstones count 0; expired entries count until a
   * read or a sweep drops them). Never more than `maxBytes`.
   */
  get bytes(): number {
    return this.#bytes;
  }

  protected async countSessions(): Promise<number> {
    this.sweep();
    return this.#entries.size - this.#tombstones.size;
  }

  protected async *sessionIds(): AsyncIterable<string> {
    const now = Date.now();
    for (const entry of this.#entries.entries()) {
      if (!isTombstoneEntry(entry) && expiresAtOfEntry(entry) > now) yield keyOfEntry(entry);
    }
  }

  /** Drops every expired entry now, and the expired entries and marks of user indexes (the timer calls this periodically). */
  sweep(): void {
    const now = Date.now();
    for (const entry of this.#entries.entries()) {
      if (expiresAtOfEntry(entry) <= now) this.#delete(keyOfEntry(entry));
    }
    for (const [userId, user] of this.#users) this.#tidy(userId, user, now);
  }

  protected override async indexUserSession(userId: string, entry: UserSessionEntry): Promise<void> {
    const json = entryToJson(entry);
    const now = Date.now();
    const user = this.#user(userId, now);
    if (isRevoked(publicRevocation(user?.revocation), entry.loggedInAt, entry.handle)) return;
    const record = user ?? { sessions: new Map(), revocation: undefined };
    record.sessions.set(entry.handle, { json, expiresAt: entry.expiresAt });
    for (const handle of handlesToDrop(mapEntries(record.sessions), now, entry.handle)) record.sessions.delete(handle);
    this.#remember(userId, record);
  }

  protected override async unindexUserSession(userId: string, handle: string): Promise<void> {
    const user = this.#user(userId, Date.now());
    if (!user) return;
    user.sessions.delete(handle);
    this.#tidy(userId, user, Date.now());
  }

  protected override async loadUserIndex(userId: string): Promise<UserIndex> {
    const user = this.#user(userId, Date.now());
    if (!user) return { sessions: [], revocation: undefined };
    const sessions: UserSessionEntry[] = [];
    for (const { json } of user.sessions.values()) {
      const entry = entryFrom(json);
      if (entry) sessions.push(entry);
    }
    return { sessions, revocation: publicRevocation(user.revocation) };
  }

  protected override async loadUserRevocation(userId: string): Promise<UserRevocation | undefined> {
    return this.#revocation(userId);
  }

  protected override async revokeUserSessions(userId: string, revocation: UserRevocation): Promise<UserSessionEntry[]> {
    const now = Date.now();
    const user = this.#user(userId, now);
    const removed: UserSessionEntry[] = [];
    const sessions = new Map<string, { readonly json: string; readonly expiresAt: number }>();
    for (const [handle, stored] of user?.sessions ?? []) {
      if (handle === revocation.spared) sessions.set(handle, stored);
      else {
        const entry = entryFrom(stored.json);
        if (entry) removed.push(entry);
      }
    }
    this.#remember(userId, { sessions, revocation: newRevocation(revocation, now) });
    return removed;
  }

  /** Stores a user's index as the most recently written; past `maxEntries` users, the least recently written goes. */
  #remember(userId: string, user: UserRecord): void {
    this.#users.delete(userId);
    this.#users.set(userId, user);
    while (this.#users.size > this.#maxEntries) {
      const oldest = this.#users.keys().next();
      if (oldest.done) break;
      this.#users.delete(oldest.value);
    }
  }

  /** The user's live mark, as a fresh object. */
  #revocation(userId: string): UserRevocation | undefined {
    const user = this.#users.get(userId);
    if (user?.revocation === undefined) return undefined;
    if (user.revocation.expiresAt <= Date.now()) {
      this.#tidy(userId, user, Date.now());
      return undefined;
    }
    return publicRevocation(user.revocation);
  }

  /** The user's index with expired entries and an expired mark dropped; `undefined` when nothing is left. */
  #user(userId: string, now: number): UserRecord | undefined {
    const user = this.#users.get(userId);
    return user && this.#tidy(userId, user, now) ? user : undefined;
  }

  /** Drops the user's expired entries and mark, and the user when nothing is left; true when something is. */
  #tidy(userId: string, user: UserRecord, now: number): boolean {
    for (const [handle, stored] of user.sessions) if (stored.expiresAt <= now) user.sessions.delete(handle);
    if (user.revocation !== undefined && user.revocation.expiresAt <= now) user.revocation = undefined;
    if (user.sessions.size > 0 || user.revocation !== undefined) return true;
    this.#users.delete(userId);
    return false;
  }

  /**
   * @internal The synchronous operations the middleware's request path uses, unless a subclass
   * overrides `load`, `set`, `patch` or `userRevocation`, or their primitives (its overrides must
   * then see every call). They check their arguments with the same helpers, in the same order, as
   * the public methods of {@link SessionStore}, so they refuse the same calls with the same errors
   * (thrown).
   */
  [SYNC_OPS](): SyncStoreOps | undefined {
    const own = MemoryStore.prototype;
    if (
      this.load !== own.load ||
      this.set !== own.set ||
      this.patch !== own.patch ||
      this.userRevocation !== own.userRevocation ||
      this.loadSession !== own.loadSession ||
      this.writeSession !== own.writeSession ||
      this.patchSession !== own.patchSession ||
      this.loadUserRevocation !== own.loadUserRevocation ||
      // Moving raw-id records happens on the async path.
      this.hashIds === 'migrate'
    ) {
      return undefined;
    }
    return (this.#syncOps ??= {
      load: (id) => {
        this.checkId(id);
        return this.hashIds === false || this.idAccepted(id) ? this.#load(this.keyOf(id)) : undefined;
      },
      set: (id, data, ttlSeconds) => {
        this.checkId(id);
        const json = recordToJson(data);
        this.#put(this.keyOf(id), json, this.ttlOrDefault(ttlSeconds));
      },
      patch: (id, changes, ttlSeconds) => {
        this.checkId(id);
        const ttl = this.ttlOrDefault(ttlSeconds);
        this.#patch(this.keyOf(id), checkedChanges(changes), ttl);
      },
      revocation: (userId) => {
        checkUserId(userId);
        return this.#revocation(userId);
      },
    });
  }

  /** Stops the sweep timer; the store stays usable (expiry is still enforced on read). */
  override close(): void {
    if (this.#sweepTimer) clearInterval(this.#sweepTimer);
    this.#sweepTimer = undefined;
  }

  /** The unexpired entry for `id`, marked most recently used; expired ones are dropped. */
  #live(id: string): string | undefined {
    const entry = this.#entries.use(id);
    if (entry === undefined) return undefined;
    if (expiresAtOfEntry(entry) <= Date.now()) {
      this.#delete(id);
      return undefined;
    }
    return entry;
  }

  /** Stores `json` under `id`; a record longer than maxBytes is refused before anything changes. */
  #put(id: string, json: string, ttlSeconds: number): void {
    if (json.length > this.#maxBytes) {
      throw new SessionError(
        'too-large',
        `Session data is ${json.length} characters of JSON, more than the store's maxBytes (${this.#maxBytes})`,
      );
    }
    this.#store(id, json, Date.now() + ttlSeconds * 1000);
  }

  /**
   * Stores an entry as the most recently used (`json` null: a tombstone), replacing any for `id`,
   * then evicts least recently used entries until both bounds hold. The new entry is never
   * evicted: it fits maxBytes on its own (see #put).
   */
  #store(id: string, json: string | null, expiresAt: number): void {
    const replaced = this.#entries.set(id, json, expiresAt);
    if (replaced !== undefined) this.#forget(id, replaced);
    if (json === null) this.#tombstones.add(id);
    else this.#bytes += json.length;
    while (this.#entries.size > this.#maxEntries || this.#bytes > this.#maxBytes) {
      // A flood of logouts must not push live sessions out: tombstones make room among themselves.
      // (A tombstone adds no bytes, so only the entry bound can be what a new tombstone exceeds.)
      const oldestTombstone = json === null ? this.#oldestTombstone() : undefined;
      const victim = oldestTombstone !== undefined && oldestTombstone !== id ? oldestTombstone : this.#entries.oldestKey();
      if (victim === undefined) break;
      this.#delete(victim);
    }
  }

  /** The oldest tombstone (a live iterator, as in CompactEntries.oldestKey). */
  #oldestTombstone(): string | undefined {
    let next = (this.#tombstoneCursor ??= this.#tombstones.values()).next();
    if (next.done) next = (this.#tombstoneCursor = this.#tombstones.values()).next();
    return next.value;
  }

  /** Removes `id` (if stored), keeping the tombstone set and the byte total in step. */
  #delete(id: string): void {
    const entry = this.#entries.delete(id);
    if (entry !== undefined) this.#forget(id, entry);
  }

  /** Takes a removed or replaced entry out of the tombstone set or the byte total. */
  #forget(id: string, entry: string): void {
    if (isTombstoneEntry(entry)) this.#tombstones.delete(id);
    else this.#bytes -= jsonLengthOfEntry(entry);
  }
}

/** `[handle, expiresAt]` of each stored entry. */
function* mapEntries(sessions: ReadonlyMap<string, { readonly expiresAt: number }>): Iterable<readonly [string, number]> {
  for (const [handle, stored] of sessions) yield [handle, stored.expiresAt];
}
