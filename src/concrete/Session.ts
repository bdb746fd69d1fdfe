import type { SessionData } from '../core/json.js';
import type { SessionStore } from '../abstract/SessionStore.js';
import type { SessionRuntime } from '../core/runtime.js';
import { ChangeTracker } from '../core/ChangeTracker.js';
import { assertKey } from '../core/serialize.js';

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
export class Session<T extends object = SessionData> {
  readonly #runtime: SessionRuntime;
  readonly #values: ChangeTracker;
  #id: string;
  #startedAt: number | undefined;
  #isNew: boolean;
  #stored: boolean;
  #storeExpiresAt: number | undefined;
  #destroyed = false;
  /** The id was made in this request and never sent nor stored: nobody can present it yet. */
  #unknownId: boolean;
  /** Operations and store calls started by this session; the response waits for them all (B5). */
  readonly #inflight = new Set<Promise<unknown>>();
  /** The last write of this session: the next one starts after it. */
  #lastWrite: Promise<unknown> = Promise.resolve();

  /** @internal */
  constructor(runtime: SessionRuntime, init: SessionInit) {
    this.#runtime = runtime;
    this.#id = init.id;
    this.#startedAt = init.startedAt;
    this.#isNew = init.isNew;
    this.#stored = init.stored !== undefined;
    this.#storeExpiresAt = init.stored?.expiresAt;
    this.#values = new ChangeTracker(init.stored?.data);
    this.#unknownId = init.isNew && init.startedAt !== undefined && init.stored === undefined;
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
    return this.#values.get(key) as T[K] | undefined;
  }

  /** Sets `key` (setting `undefined` deletes it). Throws `invalid-value` for non-JSON values. */
  set<K extends keyof T & string>(key: K, value: T[K]): this {
    if (value === undefined) this.delete(key);
    else this.#values.set(key, value);
    return this;
  }

  /** Deletes `key`; returns whether it was there. */
  delete<K extends keyof T & string>(key: K): boolean {
    return this.#values.delete(key);
  }

  /** True when `key` holds a value. */
  has<K extends keyof T & string>(key: K): boolean {
    return this.#values.has(key);
  }

  /** Removes every value (the id stays). */
  clear(): void {
    this.#values.clear();
  }

  /** A plain object of the current values. */
  toJSON(): Partial<T> {
    return this.#values.toJSON() as Partial<T>;
  }

  /**
   * Atomically adds `by` to the number at `key` in the store (concurrent requests never lose a
   * count) and resolves the new value.
   */
  increment<K extends keyof T & string>(key: K, by = 1): Promise<number> {
    return this.#track(() => this.#increment(key, by));
  }

  async #increment(key: string, by: number): Promise<number> {
    assertKey(key);
    const version = this.#values.version(key);
    await this.#flush();
    if (this.#destroyed) {
      // After destroy() later writes in this request are ignored: nothing reaches the store.
      const current = this.#values.get(key);
      const value = (typeof current === 'number' ? current : 0) + by;
      this.#values.settle(key, value, version);
      return value;
    }
    const now = Date.now();
    const value = await this.#call('increment', (store) => store.increment(this.#id, key, by, this.#ttl(now)));
    this.#values.settle(key, value, version);
    this.#wrote(now);
    return value;
  }

  /**
   * Gives the session a new id and destroys the old one (do it on login, against fixation).
   * With `keepData: false` (or after `destroy()`) the new session starts empty and its absolute
   * timeout restarts; otherwise its data moves to the new id at once.
   */
  regenerate(options: { keepData?: boolean } = {}): Promise<void> {
    return this.#track(() => this.#regenerate(options));
  }

  async #regenerate({ keepData = true }: { keepData?: boolean }): Promise<void> {
    // What is in flight (an increment) lands on the old id first and moves with the data.
    await Promise.allSettled([...this.#inflight]);
    const previous = this.#id;
    const carry = keepData && !this.#destroyed && (this.#stored || this.#values.size > 0);
    await this.#forget(previous);
    this.#destroyed = false;
    this.#isNew = true;
    this.#unknownId = true;
    if (carry) {
      this.#startedAt ??= Date.now();
      this.#id = this.#runtime.issueId(this.#startedAt);
      this.#values.rewriteAll();
      await this.#flush();
    } else {
      this.#startedAt = Date.now();
      this.#id = this.#runtime.issueId(this.#startedAt);
      this.#values.reset();
      this.#stored = false;
    }
    this.#runtime.log.emit('regenerated', this.#id, { previousSessionId: previous });
  }

  /**
   * Removes the session from the store (leaving a tombstone, so no instance adopts the id again);
   * the response clears the cookie and sends no id. Later writes in this request are ignored:
   * to go on with a fresh session, use `regenerate({ keepData: false })` instead.
   */
  destroy(): Promise<void> {
    return this.#track(() => this.#destroy());
  }

  async #destroy(): Promise<void> {
    // A write in flight may store the id: wait for it, then #forget decides.
    await Promise.allSettled([...this.#inflight]);
    await this.#forget(this.#id);
    this.#destroyed = true;
    this.#stored = false;
    this.#values.reset();
    this.#runtime.log.emit('destroyed', this.#id);
  }

  /** Refreshes the session's TTL in the store now (nothing to do for a session never stored). */
  async touch(): Promise<void> {
    if (!this.#stored || this.#destroyed) return;
    const now = Date.now();
    await this.#call('touch', (store) => store.touch(this.#id, this.#ttl(now)));
    this.#storeExpiresAt = now + this.#ttl(now) * 1000;
  }

  /** Writes pending changes now instead of just before the response. */
  save(): Promise<void> {
    return this.#track(async () => {
      await this.#flush();
    });
  }

  /** Runs an operation, remembered until it settles: the commit waits for all of them (B5). */
  #track<R>(run: () => Promise<R>): Promise<R> {
    const op = run();
    this.#inflight.add(op);
    const settled = (): void => {
      this.#inflight.delete(op);
    };
    op.then(settled, settled);
    return op;
  }

  /**
   * @internal Called once the handler is done: waits for store calls the handler did not await,
   * then writes changes, or refreshes a TTL that has not been refreshed for `touchAfter`.
   */
  async commit(): Promise<void> {
    while (this.#inflight.size > 0) await Promise.allSettled([...this.#inflight]);
    if (this.#destroyed || (await this.#flush()) || !this.#stored) return;
    const now = Date.now();
    // How far a refresh would move the expiry: also right when absoluteTimeout cuts the TTL short.
    const gain = this.#storeExpiresAt === undefined ? Infinity : now + this.#ttl(now) * 1000 - this.#storeExpiresAt;
    if (gain >= this.#runtime.touchAfterMs) await this.touch();
  }

  /** @internal The response is carrying the id to the client: from now on it can be presented. */
  markSent(): void {
    this.#unknownId = false;
  }

  /** @internal Seconds the cookie should live: until the session would expire. */
  cookieMaxAge(now: number): number {
    return Math.max(0, Math.ceil((this.#expiresAtMs(now) - now) / 1000));
  }

  /**
   * Writes what changed (the whole record after `regenerate`), after this session's previous
   * write so writes land in order; true when it wrote.
   */
  async #flush(): Promise<boolean> {
    if (this.#destroyed) return false;
    const pending = this.#values.take();
    if (!pending) return false;
    const { write } = pending;
    const now = Date.now();
    const ttl = this.#ttl(now);
    const id = this.#id;
    const previous = this.#lastWrite;
    const call = previous.then(() =>
      write.kind === 'record'
        ? this.#call('set', (store) => store.set(id, write.data, ttl))
        : this.#call('patch', (store) => store.patch(id, write.changes, ttl)),
    );
    this.#lastWrite = call.catch(() => undefined);
    try {
      await call;
    } catch (error) {
      pending.undo();
      throw error;
    }
    this.#wrote(now);
    return true;
  }

  #expiresAtMs(now: number): number {
    if (this.#destroyed) return 0;
    if (!this.#stored) {
      const start = this.#startedAt ?? now;
      return start + this.#runtime.ttlSeconds(this.#startedAt, start) * 1000;
    }
    return this.#storeExpiresAt ?? now + this.#ttl(now) * 1000;
  }

  /** One store call, bounded and typed by the runtime, and tracked until it settles. */
  #call<R>(what: string, op: (store: SessionStore) => Promise<R>): Promise<R> {
    return this.#track(() => this.#runtime.call(what, () => op(this.#runtime.store)));
  }

  /**
   * Destroys `id` in the store, leaving a tombstone, unless nobody can present it yet (made in
   * this request, never stored): then there is nothing to refuse later, and a flood of such
   * logouts writes nothing.
   */
  async #forget(id: string): Promise<void> {
    if (this.#unknownId && !this.#stored) return;
    await this.#call('destroy', (store) => store.destroy(id));
  }

  #ttl(now: number): number {
    return this.#runtime.ttlSeconds(this.#startedAt, now);
  }

  #wrote(now: number): void {
    this.#stored = true;
    this.#storeExpiresAt = now + this.#ttl(now) * 1000;
  }
}
