import type { SessionData } from '../core/json.js';
import type { SessionRuntime } from '../core/runtime.js';
import { assertKey, toJson } from '../core/serialize.js';

/**
 * How a {@link Session} came to be; built by the middleware, not by applications.
 * @internal
 */
export interface SessionInit {
  id: string;
  /** Epoch ms the session began (from its signed id); `undefined` for client-named ids. */
  startedAt: number | undefined;
  isNew: boolean;
  /** The stored record, when there is one. */
  stored?: { data: SessionData; expiresAt: number | undefined };
}

/**
 * The session of one request. Reads are synchronous; writes are collected and stored field by
 * field before the response goes out (or earlier with {@link Session.save}). Nothing is stored
 * for a session that never sets anything.
 *
 * Values have JSON semantics. Objects read with `get` may be mutated in place: the change is
 * detected and written, as in express-session.
 *
 * @typeParam T - the shape of the session data.
 *
 * @example
 * ```ts
 * app.post('/login', async (req, res) => {
 *   await req.session.regenerate();           // new id against fixation
 *   req.session.set('userId', user.id);
 *   const visits = await req.session.increment('visits');
 *   res.json({ visits });
 * });
 * ```
 */
export class Session<T extends SessionData = SessionData> {
  readonly #runtime: SessionRuntime;
  #id: string;
  #startedAt: number | undefined;
  #isNew: boolean;
  #stored: boolean;
  #storeExpiresAt: number | undefined;
  #destroyed = false;
  /** Whole record must be rewritten (after `clear()` or `regenerate()`). */
  #rewrite = false;
  #data: Map<string, unknown>;
  /** Keys set or deleted since the last write. */
  readonly #dirty = new Set<string>();
  /** JSON of object values handed out by `get`, to notice in-place mutation. */
  readonly #handedOut = new Map<string, string | undefined>();

  /** @internal */
  constructor(runtime: SessionRuntime, init: SessionInit) {
    this.#runtime = runtime;
    this.#id = init.id;
    this.#startedAt = init.startedAt;
    this.#isNew = init.isNew;
    this.#stored = init.stored !== undefined;
    this.#storeExpiresAt = init.stored?.expiresAt;
    this.#data = new Map(init.stored ? Object.entries(init.stored.data) : []);
  }

  /** The session id (changes only on {@link Session.regenerate}). */
  get id(): string {
    return this.#id;
  }

  /** True when this request created the session. */
  get isNew(): boolean {
    return this.#isNew;
  }

  /** True after {@link Session.destroy}. */
  get isDestroyed(): boolean {
    return this.#destroyed;
  }

  /** When the session ends if nothing else happens. */
  get expiresAt(): Date {
    return new Date(this.#expiresAtMs(Date.now()));
  }

  /** The value of `key`, or `undefined`. */
  get<K extends keyof T & string>(key: K): T[K] | undefined {
    const value = this.#data.get(key);
    if (typeof value === 'object' && value !== null && !this.#dirty.has(key)) this.#watch(key, value);
    return value as T[K] | undefined;
  }

  /** Sets `key` (setting `undefined` deletes it). Throws `invalid-value` for non-JSON values. */
  set<K extends keyof T & string>(key: K, value: T[K]): this {
    assertKey(key);
    if (value === undefined) {
      this.delete(key);
      return this;
    }
    toJson(value, `Value of "${key}"`);
    this.#data.set(key, value);
    this.#dirty.add(key);
    return this;
  }

  /** Deletes `key`; resolves whether it was there. */
  delete<K extends keyof T & string>(key: K): boolean {
    const had = this.#data.delete(key);
    if (had) this.#dirty.add(key);
    this.#handedOut.delete(key);
    return had;
  }

  /** True when `key` holds a value. */
  has<K extends keyof T & string>(key: K): boolean {
    return this.#data.has(key);
  }

  /** Removes every value (the id stays). */
  clear(): void {
    this.#data.clear();
    this.#dirty.clear();
    this.#handedOut.clear();
    this.#rewrite = true;
  }

  /** A plain object of the current values. */
  toJSON(): Partial<T> {
    const out: Record<string, unknown> = {};
    for (const [key, value] of this.#data) {
      if (typeof value === 'object' && value !== null && !this.#dirty.has(key)) this.#watch(key, value);
      out[key] = value;
    }
    return out as Partial<T>;
  }

  /**
   * Atomically adds `by` to the number at `key` in the store (concurrent requests never lose a
   * count) and resolves the new value.
   */
  async increment<K extends keyof T & string>(key: K, by = 1): Promise<number> {
    assertKey(key);
    await this.save();
    const now = Date.now();
    const value = await this.#runtime.call('increment', () =>
      this.#runtime.store.increment(this.#id, key, by, this.#ttl(now)),
    );
    this.#data.set(key, value);
    this.#dirty.delete(key);
    this.#handedOut.delete(key);
    this.#wrote(now);
    return value;
  }

  /**
   * Gives the session a new id and destroys the old one (do it on login, against fixation).
   * With `keepData: false` the new session starts empty and its absolute timeout restarts.
   */
  async regenerate({ keepData = true }: { keepData?: boolean } = {}): Promise<void> {
    const previous = this.#id;
    await this.#runtime.call('destroy', () => this.#runtime.store.destroy(previous));
    if (keepData) {
      this.#startedAt ??= Date.now();
      this.#id = this.#runtime.issueId(this.#startedAt);
      this.#rewrite = true;
      await this.save();
    } else {
      this.#startedAt = Date.now();
      this.#id = this.#runtime.issueId(this.#startedAt);
      this.#data.clear();
      this.#dirty.clear();
      this.#handedOut.clear();
      this.#stored = false;
      this.#rewrite = false;
    }
    this.#destroyed = false;
    this.#isNew = true;
    this.#runtime.log.emit('regenerated', this.#id, { previousSessionId: previous });
  }

  /**
   * Removes the session from the store (leaving a tombstone, so no instance adopts the id again);
   * the response clears the cookie and sends no id. Later writes in this request are ignored:
   * to go on with a fresh session, use `regenerate({ keepData: false })` instead.
   */
  async destroy(): Promise<void> {
    await this.#runtime.call('destroy', () => this.#runtime.store.destroy(this.#id));
    this.#destroyed = true;
    this.#stored = false;
    this.#data.clear();
    this.#dirty.clear();
    this.#handedOut.clear();
    this.#runtime.log.emit('destroyed', this.#id);
  }

  /** Refreshes the session's TTL in the store now (nothing to do for a session never stored). */
  async touch(): Promise<void> {
    if (!this.#stored || this.#destroyed) return;
    const now = Date.now();
    await this.#runtime.call('touch', () => this.#runtime.store.touch(this.#id, this.#ttl(now)));
    this.#storeExpiresAt = now + this.#ttl(now) * 1000;
  }

  /** Writes pending changes now instead of just before the response. */
  async save(): Promise<void> {
    if (this.#destroyed) return;
    const now = Date.now();
    const rewrite = this.#rewrite;
    const pending = this.#pending(rewrite);
    if (pending === undefined) return;
    // Clear before the await: changes made while the write is in flight stay pending.
    const dirty = [...this.#dirty];
    this.#dirty.clear();
    this.#rewrite = false;
    for (const [key, json] of pending.snapshots) {
      if (json === undefined) this.#handedOut.delete(key);
      else this.#handedOut.set(key, json);
    }
    try {
      if (rewrite) {
        const data = Object.fromEntries(this.#data) as SessionData;
        await this.#runtime.call('set', () => this.#runtime.store.set(this.#id, data, this.#ttl(now)));
      } else {
        await this.#runtime.call('patch', () => this.#runtime.store.patch(this.#id, pending.changes, this.#ttl(now)));
      }
    } catch (error) {
      for (const key of dirty) this.#dirty.add(key);
      this.#rewrite ||= rewrite;
      throw error;
    }
    this.#wrote(now);
  }

  /** @internal Called once the handler is done: writes changes, or refreshes a due TTL. */
  async commit(): Promise<void> {
    if (this.#destroyed) return;
    if (this.#rewrite || this.#pending(false) !== undefined) return this.save();
    if (!this.#stored) return;
    const now = Date.now();
    const lastRefresh = this.#storeExpiresAt === undefined ? -Infinity : this.#storeExpiresAt - this.#runtime.maxAgeMs;
    if (now - lastRefresh >= this.#runtime.touchAfterMs) await this.touch();
  }

  /** @internal Seconds the cookie should live: until the session would expire. */
  cookieMaxAge(now: number): number {
    return Math.max(0, Math.ceil((this.#expiresAtMs(now) - now) / 1000));
  }

  #expiresAtMs(now: number): number {
    if (this.#destroyed) return 0;
    if (!this.#stored) return this.#startedAt === undefined ? now + this.#runtime.maxAgeMs : this.#startedAt + this.#runtime.maxAgeMs;
    return this.#storeExpiresAt ?? now + this.#ttl(now) * 1000;
  }

  #ttl(now: number): number {
    return this.#runtime.ttlSeconds(this.#startedAt, now);
  }

  #wrote(now: number): void {
    this.#stored = true;
    this.#storeExpiresAt = now + this.#ttl(now) * 1000;
  }

  /** Remembers the JSON of an object handed out, so in-place mutation is noticed at commit. */
  #watch(key: string, value: unknown): void {
    if (!this.#handedOut.has(key)) this.#handedOut.set(key, JSON.stringify(value));
  }

  /**
   * What the next write must carry: set/deleted keys plus handed-out objects whose JSON changed
   * (all keys when `rewrite`), and the JSON of every object written, to watch afterwards.
   * `undefined` when there is nothing to write.
   */
  #pending(rewrite: boolean): { changes: Record<string, unknown>; snapshots: Map<string, string | undefined> } | undefined {
    const changes: Record<string, unknown> = {};
    const snapshots = new Map<string, string | undefined>();
    let any = rewrite;
    for (const [key, value] of this.#data) {
      const dirty = this.#dirty.has(key);
      if (!rewrite && !dirty && !this.#handedOut.has(key)) continue;
      const json = typeof value === 'object' && value !== null ? toJson(value, `Value of "${key}"`) : undefined;
      const changed = dirty || json !== this.#handedOut.get(key);
      if (changed) {
        changes[key] = value;
        any = true;
      }
      if (changed || rewrite) snapshots.set(key, json);
    }
    for (const key of this.#dirty) {
      if (!this.#data.has(key)) {
        changes[key] = undefined;
        any = true;
      }
    }
    return any ? { changes, snapshots } : undefined;
  }
}
