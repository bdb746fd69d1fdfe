import type { JsonValue, SessionChanges, SessionData } from '../core/json.js';
import type { SessionStore } from '../abstract/SessionStore.js';
import type { SessionFactory, SessionInit, SessionRuntime } from '../engine/runtime.js';
import { ChangeTracker } from '../core/ChangeTracker.js';
import { assertAppKey, COOKIE_EXPIRES_AT, takeMeta } from '../core/meta.js';
import { SessionMeta, type MetaWrite } from '../core/SessionMeta.js';
import { MAX_AGE_LIMIT_SECONDS } from '../core/timers.js';
import { assertKey, toJson } from '../core/serialize.js';
import { SessionError } from '../core/SessionError.js';

const MAX_USER_ID_LENGTH = 256;
const MAX_USER_AGENT_LENGTH = 512;
const MAX_LOGIN_META_BYTES = 4096;

type Pending = ReturnType<ChangeTracker['take']>;

/** One write: the whole record, or fields; and whether it records the client's cookie expiry. */
type Payload =
  | { readonly kind: 'set'; readonly data: SessionData; readonly recordsCookie: boolean; readonly meta: MetaWrite | undefined }
  | { readonly kind: 'patch'; readonly changes: SessionChanges; readonly recordsCookie: boolean; readonly meta: MetaWrite | undefined };


/**
 * The session of one request. Reads are synchronous; writes are collected and stored field by
 * field before the response goes out (or earlier with {@link Session.save}). Nothing is stored
 * for a session that never sets anything.
 *
 * Values have JSON semantics: `set` refuses what JSON cannot hold (a `Map`, a `Set`, a class
 * instance, `NaN`, ...) with an `invalid-value` error, and stores a `Date` as its ISO string.
 * Objects read with `get` may be mutated in place: the change is detected and written, as in
 * express-session.
 *
 * Operations take effect in the order they are called, awaited or not: `regenerate()`,
 * `destroy()`, `increment()` and `save()` change what later calls see at once, and their store
 * writes reach the store in call order. After the request's final commit (the response, or the
 * Web response's body, is complete), changes are refused with a `session-closed` error instead
 * of being dropped.
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
  /** The last id the store is known to hold a record for (loaded, or written by this session). */
  #storedId: string | undefined;
  #storeExpiresAt: number | undefined;
  #destroyed = false;
  /** Someone other than this request may present the id: it was loaded, sent or stored. */
  #idKnown: boolean;
  /** When the session cookie the client holds runs out; `undefined` when unknown. */
  #cookieExpiresAt: number | undefined;
  /** The stored record holds {@link COOKIE_EXPIRES_AT}. */
  #cookieRecorded: boolean;
  /** This request moved the client's cookie expiry: the response carries the cookie. */
  #cookieRefreshed = false;
  /** The response headers went out: the client's cookie can no longer change in this request. */
  #headersOut = false;
  readonly #sendsHeader: boolean;
  /** The store work of this session, one operation after the other, in call order. */
  #queue: Promise<unknown> = Promise.resolve();
  /** Operations queued and not yet settled. */
  #inflight = 0;
  /** The request's final commit ran: later changes could not be stored and are refused. */
  #closed = false;
  /** The middleware's own fields of the session: its lifetime, handle, login and flash messages. */
  readonly #meta: SessionMeta;
  /** The request's headers (the login's default meta reads the user agent). */
  readonly #request: { header(name: string): string | undefined } | undefined;
  /** The request does not count as activity (`ignoreActivity`): no TTL or cookie refresh. */
  readonly #quiet: boolean;
  /** {@link Session.setMaxAge} changed it: the response carries the cookie with the new lifetime. */
  #maxAgeChanged = false;

  /** @internal Sessions are made by the middleware for each request; applications do not construct them. */
  constructor(runtime: SessionRuntime, init: SessionInit) {
    this.#runtime = runtime;
    // First: the expiry computations below read the session's own lifetime.
    this.#meta = new SessionMeta(init.stored?.meta);
    this.#request = init.request;
    this.#id = init.id;
    this.#startedAt = init.startedAt;
    this.#isNew = init.isNew;
    this.#storedId = init.stored === undefined ? undefined : init.id;
    this.#storeExpiresAt = init.stored?.expiresAt;
    this.#values = new ChangeTracker(init.stored?.data, runtime.maxSessionBytes);
    this.#idKnown = !(init.isNew && init.startedAt !== undefined && init.stored === undefined);
    this.#cookieRecorded = init.stored?.meta.cookieExpiresAt !== undefined;
    // A session that stored nothing has had its cookie since its id was issued.
    this.#cookieExpiresAt = init.stored ? init.stored.meta.cookieExpiresAt : this.#unstoredExpiry();
    this.#sendsHeader = init.sendsHeader;
    this.#quiet = init.quiet === true;
    // Re-signed with the newest secret (same record): the client gets the new id now.
    this.#cookieRefreshed = init.reissued === true;
  }

  /** The session id (changes only on {@link Session.regenerate}). */
  get id(): string {
    return this.#id;
  }

  /** True when this request created the session (or gave it a new id). */
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

  /** This session's idle lifetime in seconds: its own ({@link Session.setMaxAge}) or the middleware's `maxAge`. */
  get maxAge(): number {
    return this.#meta.maxAge ?? this.#runtime.maxAgeSeconds;
  }

  /**
   * Gives this session its own idle lifetime ("remember me"), in seconds, up to 400 days: stored
   * with the session (every instance sharing the store honours it), applied to its TTL from the
   * next write, and sent to the client with a new cookie `Max-Age` (a persistent cookie even when
   * `cookie.persistent` is `false`). The absolute timeout still caps it. A regenerate keeps it,
   * unless it drops the data.
   *
   * @example
   * ```ts
   * if (req.body.rememberMe) req.session.setMaxAge(30 * 24 * 3600);
   * ```
   */
  setMaxAge(seconds: number): void {
    this.#assertOpen();
    if (typeof seconds !== 'number' || !Number.isFinite(seconds) || seconds <= 0 || seconds > MAX_AGE_LIMIT_SECONDS) {
      throw new SessionError('invalid-value', `maxAge must be a number of seconds > 0 and <= ${MAX_AGE_LIMIT_SECONDS}, got ${String(seconds)}`);
    }
    if (this.#destroyed || seconds === this.#meta.maxAge) return;
    this.#meta.setMaxAge(seconds);
    this.#maxAgeChanged = true;
  }

  /**
   * A stable, non-secret name of this session, safe to show and to send to a browser (to pick a
   * device to log out): never the id, and nothing derived from it presents the session. Made on
   * first use and stored with the session's next write; a login gives the session a new one.
   */
  get handle(): string {
    return this.#meta.ensureHandle(this.#stored && !this.#destroyed);
  }

  /** The id of the user this session is logged in as ({@link Session.login}), or `undefined`. */
  get userId(): string | undefined {
    return this.#meta.userId;
  }

  /** Epoch ms of the login, or `undefined`: ask for a fresh login before a sensitive change. */
  get loggedInAt(): number | undefined {
    return this.#meta.loggedInAt;
  }

  /**
   * Logs the session in as `userId`: a new id with the data kept (against fixation), bound to
   * the user, with the login time and `meta` (a small JSON record; by default the request's
   * `User-Agent`) that `sessionMiddleware.sessionsOf(userId)` lists.
   */
  login(userId: string, meta?: Record<string, JsonValue>): Promise<void> {
    return this.#start(() => {
      if (typeof userId !== 'string' || userId.length === 0 || userId.length > MAX_USER_ID_LENGTH) {
        throw new SessionError('invalid-value', `userId must be a non-empty string of at most ${MAX_USER_ID_LENGTH} characters`);
      }
      const record = meta ?? { userAgent: (this.#request?.header('user-agent') ?? '').slice(0, MAX_USER_AGENT_LENGTH) };
      const json = toJson(record, 'login meta');
      if (typeof record !== 'object' || record === null || Array.isArray(record) || json === undefined || json.length > MAX_LOGIN_META_BYTES) {
        throw new SessionError('invalid-value', `login meta must be a JSON object of at most ${MAX_LOGIN_META_BYTES} bytes`);
      }
      const regenerated = this.regenerate();
      this.#meta.login(userId, JSON.parse(json) as JsonValue, Date.now());
      this.#runtime.log.emit('logged-in', this.#id);
      return regenerated;
    });
  }

  /** Queues a flash message of `type` for a later request (one after a redirect, say). */
  flash(type: string, message: JsonValue): void {
    this.#assertOpen();
    if (typeof type !== 'string' || type.length === 0 || type.length > 64) throw new SessionError('invalid-value', 'flash type must be a non-empty string of at most 64 characters');
    const json = toJson(message, 'flash message');
    if (json === undefined) throw new SessionError('invalid-value', 'flash message must be JSON-serializable');
    if (this.#destroyed) return;
    this.#meta.flash(type, JSON.parse(json) as JsonValue, Date.now());
  }

  /** Returns the flash messages of `type`, in the order queued, and removes them. */
  flashes(type: string): JsonValue[];
  /** Returns every flash message by type, in the order queued, and removes them. */
  flashes(): Record<string, JsonValue[]>;
  flashes(type?: string): JsonValue[] | Record<string, JsonValue[]> {
    this.#assertOpen();
    const taken = this.#meta.takeFlashes(type);
    if (type !== undefined) return taken.map((entry) => entry.message);
    const byType: Record<string, JsonValue[]> = Object.create(null) as Record<string, JsonValue[]>;
    for (const { type: kind, message } of taken) (byType[kind] ??= []).push(message);
    return byType;
  }

  /** The value of `key`, or `undefined`. */
  get<K extends keyof T & string>(key: K): T[K] | undefined {
    return this.#values.get(key) as T[K] | undefined;
  }

  /**
   * Sets `key` (setting `undefined` deletes it). Throws `invalid-value` for non-JSON values,
   * `too-large` past `maxSessionBytes`, `session-closed` after the final commit.
   */
  set<K extends keyof T & string>(key: K, value: T[K]): this {
    this.#assertOpen();
    assertAppKey(key);
    if (value === undefined) this.delete(key);
    else this.#values.set(key, value);
    return this;
  }

  /** Deletes `key`; returns whether it was there. */
  delete<K extends keyof T & string>(key: K): boolean {
    this.#assertOpen();
    return this.#values.delete(key);
  }

  /** True when `key` holds a value. */
  has<K extends keyof T & string>(key: K): boolean {
    return this.#values.has(key);
  }

  /** Removes every value (the id stays). */
  clear(): void {
    this.#assertOpen();
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
    return this.#start(() => {
      assertKey(key);
      assertAppKey(key);
      const version = this.#values.version(key);
      if (this.#destroyed) {
        // After destroy() later writes in this request are ignored: nothing reaches the store.
        const current = this.#values.get(key);
        const value = (typeof current === 'number' ? current : 0) + by;
        this.#values.settle(key, value, version);
        return Promise.resolve(value);
      }
      // Changes made before this call land first (set('n', 5); increment('n') gives 6).
      const before = this.#take();
      const id = this.#id;
      return this.#enqueue(async () => {
        await this.#write(id, before);
        const now = Date.now();
        const value = await this.#call('increment', (store) => store.increment(id, key, by, this.#ttl(now)));
        this.#values.settle(key, value, version);
        this.#wrote(id, now);
        return value;
      });
    });
  }

  /**
   * Gives the session a new id and destroys the old one (do it on login, against fixation).
   * With `keepData: false` (or after `destroy()`) the new session starts empty and its absolute
   * timeout restarts; otherwise its data moves to the new id. The new id and data apply at once,
   * to every later call, awaited or not.
   */
  regenerate(options: { keepData?: boolean } = {}): Promise<void> {
    return this.#start(() => {
      const previous = this.#id;
      const previousKnown = this.#idKnown;
      const wasDestroyed = this.#destroyed;
      const carry = (options?.keepData ?? true) && !wasDestroyed;
      const previousLogin = this.#loginRef();
      if (carry) {
        this.#startedAt ??= Date.now();
        // The record is rewritten under the new id: the middleware's fields go with it.
        this.#meta.moved();
      } else {
        this.#values.reset();
        this.#startedAt = Date.now();
        this.#meta.reset();
        this.#maxAgeChanged = false;
      }
      this.#id = this.#runtime.issueId(this.#startedAt);
      this.#destroyed = false;
      this.#isNew = true;
      this.#idKnown = false;
      this.#cookieRecorded = false;
      this.#cookieExpiresAt = this.#unstoredExpiry();
      // destroy() already ended the previous id; one nobody else knows needs no remembering.
      if (!wasDestroyed && previousKnown) this.#runtime.ended(previous);
      const id = this.#id;
      return this.#enqueue(async () => {
        // Earlier operations (an increment) have landed on the old id: their results are in the data.
        const previousStored = this.#storedId === previous;
        if (!wasDestroyed && (previousKnown || previousStored)) await this.#call('destroy', (store) => store.destroy(previous));
        if (carry && (previousStored || this.#values.size > 0 || this.#meta.any)) {
          this.#values.rewriteAll();
          await this.#write(id, this.#values.take());
        }
        // The user's list follows: the entry of a login that ended goes, the current one names the new id.
        const current = this.#loginRef();
        if (previousLogin && (previousLogin.userId !== current?.userId || previousLogin.handle !== current.handle)) await this.#unindex(previousLogin);
        if (current && id === this.#id) await this.#index(Date.now());
        this.#runtime.log.emit('regenerated', id, { previousSessionId: previous });
      });
    });
  }

  /**
   * Removes the session from the store (leaving a tombstone, so no instance adopts the id again);
   * the response clears the cookie and sends no id. Later writes in this request are ignored:
   * to go on with a fresh session, use `regenerate({ keepData: false })` instead.
   */
  destroy(): Promise<void> {
    return this.#start(() => {
      if (this.#destroyed) return this.#enqueue(async () => undefined);
      const id = this.#id;
      const known = this.#idKnown;
      const login = this.#loginRef();
      this.#destroyed = true;
      this.#values.reset();
      this.#meta.reset();
      if (known) this.#runtime.ended(id);
      return this.#enqueue(async () => {
        // An id made in this request and never sent nor stored needs no tombstone: nobody can
        // present it, so a flood of logouts without a session writes nothing.
        if (known || this.#storedId === id) await this.#call('destroy', (store) => store.destroy(id));
        if (this.#storedId === id) this.#storedId = undefined;
        if (login) await this.#unindex(login);
        this.#runtime.log.emit('destroyed', id);
      });
    });
  }

  /**
   * Forgets the changes not yet written (what `save()` or an `increment` already stored stays):
   * the request's commit then writes none of them. Reads still see the values as changed in
   * memory; re-read them with {@link Session.reload}.
   */
  discard(): void {
    this.#assertOpen();
    this.#values.discard();
  }

  /**
   * Re-reads the session from the store, in call order after the operations queued before it,
   * replacing the values and dropping changes not yet written (express-session's `reload`).
   * Rejects with `invalid-id` when the store does not hold the session (never stored, destroyed
   * or expired).
   */
  reload(): Promise<void> {
    return this.#start(() =>
      this.#enqueue(async () => {
        const id = this.#id;
        const found = await this.#call('load', (store) => store.load(id));
        if (id !== this.#id) return;
        if (found?.state !== 'active') {
          throw new SessionError('invalid-id', 'The store holds no such session (never stored, destroyed or expired); it cannot be reloaded');
        }
        takeMeta(found.data);
        this.#values.replace(found.data);
        this.#storeExpiresAt = found.expiresAt;
      }),
    );
  }

  /** Refreshes the session's TTL in the store now (nothing to do for a session never stored). */
  touch(): Promise<void> {
    return this.#start(() => this.#enqueue(() => this.#touch(Date.now())));
  }

  /** Writes pending changes now instead of just before the response. */
  save(): Promise<void> {
    return this.#start(() => {
      const pending = this.#take();
      const id = this.#id;
      return this.#enqueue(() => this.#write(id, pending));
    });
  }

  /**
   * @internal Called once the handler is done, after what it started (awaited or not): writes
   * the changes, and refreshes the store TTL and the client's cookie when due. With `close`, later
   * changes are refused (`session-closed`).
   */
  async commit(close = true): Promise<void> {
    // Code right after `res.end()` in the same tick still belongs to the request.
    await null;
    await this.#enqueue(() => this.#commitTurn(close));
  }

  /**
   * @internal The response headers are going out: from now on the cookie cannot change. `sent`:
   * they carry the id (from now on it can be presented); `cookieExpiresAt`: when the cookie they
   * carry runs out.
   */
  markSent(sent: boolean, cookieExpiresAt: number | undefined): void {
    this.#headersOut = true;
    if (sent) this.#idKnown = true;
    if (cookieExpiresAt !== undefined) {
      this.#cookieExpiresAt = cookieExpiresAt;
      this.#maxAgeChanged = false;
    }
  }

  /**
   * @internal True when a commit now would write nothing: no operation in flight, no change (an
   * object handed out counts as one), no refresh of the TTL or the cookie due.
   */
  get idle(): boolean {
    if (this.#closed || this.#destroyed) return this.#inflight === 0;
    if (this.#inflight > 0 || this.#values.hasChanges || this.#meta.pending) return false;
    if (!this.#stored) return true;
    const now = Date.now();
    const target = now + this.#ttl(now) * 1000;
    if (this.#refreshDue(false, target)) return false;
    const gain = this.#storeExpiresAt === undefined ? Infinity : target - this.#storeExpiresAt;
    return (this.#quiet || gain < this.#runtime.touchAfterMs) && (this.#cookieRecorded || !this.#runtime.cookieTransport || !this.#cookiePersistent);
  }

  /**
   * @internal Stores now what the commit would store, when that needs no waiting: true when
   * nothing is to be stored, or when the store works synchronously (`MemoryStore`), nothing is
   * queued and no cookie refresh (which re-reads the store) is due. Otherwise false, and nothing
   * changed: the asynchronous commit does it all. The request's last commit still closes it.
   */
  commitNow(): boolean {
    if (this.idle) return true;
    const sync = this.#runtime.sync;
    if (!sync || this.#inflight > 0 || this.#closed || this.#destroyed) return false;
    const now = Date.now();
    if (this.#refreshDue(true, now + this.#ttl(now) * 1000) || this.#reindexDue(now)) return false;
    let pending: Pending;
    try {
      pending = this.#values.take();
    } catch {
      return false;
    }
    if (pending === undefined) {
      // Objects were read but none changed: settled now, unless a TTL refresh, the middleware's
      // fields or the record of the cookie's expiry still need the store (the async commit does those).
      return !this.#meta.pending && !this.#touchDue(now) && !(this.#stored && this.#cookieExpiryToRecord(this.#id, now) !== undefined);
    }
    const id = this.#id;
    const ttl = this.#ttl(now);
    const write = this.#payload(id, pending, undefined, now);
    try {
      if (write.kind === 'set') sync.set(id, write.data, ttl);
      else sync.patch(id, write.changes, ttl);
    } catch {
      pending.undo();
      return false;
    }
    this.#written(id, write, now);
    return true;
  }

  /** @internal Closes the session when its last commit would do nothing; true then. */
  closeIfIdle(): boolean {
    if (!this.idle) return false;
    this.#closed = true;
    return true;
  }

  /** @internal The response must carry the session cookie: a new id, or a due refresh of its expiry. */
  get cookieDue(): boolean {
    return this.#isNew || this.#cookieRefreshed;
  }

  /** @internal The response may carry the id in the header transport. */
  get sendsHeader(): boolean {
    return this.#sendsHeader;
  }

  /** @internal Seconds the cookie should live: until the session would expire. */
  cookieMaxAge(now: number): number | undefined {
    if (!this.#cookiePersistent) return undefined;
    return Math.max(0, Math.ceil((this.#expiresAtMs(now) - now) / 1000));
  }

  /** The cookie carries a `Max-Age`: persistent cookies are configured, or the session has its own lifetime. */
  get #cookiePersistent(): boolean {
    return this.#runtime.persistentCookie || this.#meta.maxAge !== undefined;
  }

  async #commitTurn(close: boolean): Promise<void> {
    if (this.#closed) return;
    const pending = this.#take();
    this.#closed = close;
    if (this.#destroyed) return;
    const now = Date.now();
    // The session's expiry after a write now, and the cookie's after a refresh.
    const target = now + this.#ttl(now) * 1000;
    const id = this.#id;
    const reindex = this.#reindexDue(now);
    const refresh = this.#refreshDue(pending !== undefined || this.#meta.pending, target);
    // A refresh writes the new cookie expiry; a record an increment made still needs its first.
    const cookieExpiry = refresh ? target : pending === undefined && this.#stored ? this.#cookieExpiryToRecord(id, now) : undefined;
    if (pending !== undefined || cookieExpiry !== undefined || this.#meta.pending) {
      await this.#write(id, pending, cookieExpiry === undefined ? undefined : { [COOKIE_EXPIRES_AT]: cookieExpiry });
    } else if (this.#stored) {
      // How far a refresh would move the expiry: also right when absoluteTimeout cuts the TTL short.
      const gain = this.#storeExpiresAt === undefined ? Infinity : target - this.#storeExpiresAt;
      if (gain >= this.#runtime.touchAfterMs && !this.#quiet) await this.#touch(now);
    }
    if (reindex && id === this.#id) await this.#index(now);
    if (!refresh) return;
    // The id may have been regenerated or destroyed by another request meanwhile (a write on a
    // tombstone stores nothing): only a live session's cookie goes back to the client.
    const found = await this.#call('load', (store) => store.load(id));
    if (found?.state === 'active' && !this.#runtime.hasEnded(id)) {
      this.#cookieRefreshed = true;
      this.#cookieExpiresAt = target;
    }
  }

  /**
   * The cookie the client holds must not run out while the session lives: refresh it when it
   * lags the session's new expiry by `touchAfter` or more, and always when nobody knows when it
   * runs out (a record written directly with `sessionStorage.set` carries no such field). A
   * session that stored nothing keeps the cookie it got with its id: both end together.
   */
  #refreshDue(writing: boolean, target: number): boolean {
    if (!this.#runtime.cookieTransport || this.#isNew || this.#headersOut || (!writing && !this.#stored)) return false;
    if (this.#maxAgeChanged) return true;
    if (this.#quiet) return false;
    // A browser-session cookie lasts until the browser closes: nothing to refresh.
    if (!this.#cookiePersistent) return false;
    return this.#cookieExpiresAt === undefined || target - this.#cookieExpiresAt >= this.#runtime.touchAfterMs;
  }

  /**
   * When the client's cookie runs out, to store with a write to `id` at `now`, if the record does
   * not hold it yet: a new id's cookie goes out with this response and lives as long as the write;
   * an issued id that stored nothing has had its cookie since it was issued.
   */
  #cookieExpiryToRecord(id: string, now: number): number | undefined {
    if (!this.#runtime.cookieTransport || id !== this.#id || this.#cookieRecorded || !this.#cookiePersistent) return undefined;
    // Once the headers are out, what the client holds is known exactly (or not at all).
    if (this.#headersOut || !this.#isNew) return this.#cookieExpiresAt;
    return now + this.#ttl(now) * 1000;
  }

  /** Runs the synchronous part of an operation; its errors reject, as for an async method. */
  #start<R>(begin: () => Promise<R>): Promise<R> {
    try {
      this.#assertOpen();
      return begin();
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Appends store work to this session's queue: it runs after everything queued before. */
  #enqueue<R>(run: () => Promise<R>): Promise<R> {
    const op = this.#queue.then(run);
    this.#inflight++;
    const settled = (): void => {
      this.#inflight--;
    };
    // Also marks a rejection as handled: an operation the handler did not await fails quietly
    // (store errors are logged by the runtime), and later ones still run.
    this.#queue = op.then(settled, settled);
    return op;
  }

  /** The stored session's TTL refresh is due (its expiry would move by `touchAfter` or more). */
  #touchDue(now: number): boolean {
    if (!this.#stored || this.#quiet || this.#destroyed) return false;
    const gain = this.#storeExpiresAt === undefined ? Infinity : now + this.#ttl(now) * 1000 - this.#storeExpiresAt;
    return gain >= this.#runtime.touchAfterMs;
  }

  /** The login this session holds, as the user's index names it. */
  #loginRef(): { userId: string; handle: string } | undefined {
    const { userId, handle } = this.#meta;
    return userId === undefined || handle === undefined ? undefined : { userId, handle };
  }

  /**
   * The user's list shows when a logged-in session was last seen: its entry is refreshed when
   * the session's expiry moves by `touchAfter` or more (as the TTL refresh is), not on quiet requests.
   */
  #reindexDue(now: number): boolean {
    return this.#meta.userId !== undefined && this.#touchDue(now);
  }

  /** Writes this session's entry in its user's list; a failure only costs the list its freshness. */
  async #index(now: number): Promise<void> {
    const login = this.#loginRef();
    if (login === undefined) return;
    const entry = {
      handle: login.handle,
      sessionKey: this.#runtime.store.keyFor(this.#id),
      loggedInAt: this.#meta.loggedInAt ?? now,
      lastSeenAt: now,
      expiresAt: now + this.#ttl(now) * 1000,
      meta: this.#meta.loginMeta ?? {},
    };
    await this.#call('index', (store) => store.indexSession(login.userId, entry)).catch(() => undefined);
  }

  /** Takes an ended login off its user's list (best effort: the list is checked against the sessions anyway). */
  async #unindex(login: { userId: string; handle: string }): Promise<void> {
    await this.#call('unindex', (store) => store.unindexSession(login.userId, login.handle)).catch(() => undefined);
  }

  #take(): Pending {
    return this.#destroyed ? undefined : this.#values.take();
  }

  /** Writes `pending` (and `fields`) to `id`; a failed write leaves the changes pending. */
  async #write(id: string, pending: Pending, fields?: SessionChanges): Promise<void> {
    if (pending === undefined && fields === undefined && !(id === this.#id && this.#meta.pending)) return;
    const now = Date.now();
    const ttl = this.#ttl(now);
    const write = this.#payload(id, pending, fields, now);
    try {
      if (write.kind === 'set') await this.#call('set', (store) => store.set(id, write.data, ttl));
      else await this.#call('patch', (store) => store.patch(id, write.changes, ttl));
    } catch (error) {
      pending?.undo();
      throw error;
    }
    this.#written(id, write, now);
  }

  /**
   * The store call for `pending` plus `fields`: the whole record after a regenerate, else the
   * changed fields; with them, when the record does not hold it yet, when the client's cookie runs out.
   */
  #payload(id: string, pending: Pending, fields: SessionChanges | undefined, now: number): Payload {
    const cookieExpiry = fields === undefined ? this.#cookieExpiryToRecord(id, now) : undefined;
    let extra = cookieExpiry === undefined ? fields : { [COOKIE_EXPIRES_AT]: cookieExpiry };
    const whole = pending?.write.kind === 'record';
    const meta = id === this.#id ? this.#meta.write(whole) : undefined;
    if (meta) extra = { ...extra, ...meta.fields };
    const recordsCookie = extra !== undefined && COOKIE_EXPIRES_AT in extra;
    if (pending?.write.kind === 'record') {
      return { kind: 'set', data: extra ? { ...pending.write.data, ...extra } : pending.write.data, recordsCookie, meta };
    }
    const changes = pending ? pending.write.changes : {};
    return { kind: 'patch', changes: extra ? { ...changes, ...extra } : changes, recordsCookie, meta };
  }

  #written(id: string, write: Payload, now: number): void {
    if (write.recordsCookie && id === this.#id) this.#cookieRecorded = true;
    if (write.meta && id === this.#id) this.#meta.written(write.meta);
    this.#wrote(id, now);
  }

  async #touch(now: number): Promise<void> {
    if (!this.#stored || this.#destroyed) return;
    const id = this.#id;
    await this.#call('touch', (store) => store.touch(id, this.#ttl(now)));
    if (id === this.#id) this.#storeExpiresAt = now + this.#ttl(now) * 1000;
  }

  get #stored(): boolean {
    return this.#storedId !== undefined && this.#storedId === this.#id;
  }

  #expiresAtMs(now: number): number {
    if (this.#destroyed) return 0;
    if (!this.#stored) return this.#unstoredExpiry() ?? now + this.#ttl(now) * 1000;
    return this.#storeExpiresAt ?? now + this.#ttl(now) * 1000;
  }

  /** A session that stored nothing lives `maxAge` (capped by the absolute timeout) from its start. */
  #unstoredExpiry(): number | undefined {
    const start = this.#startedAt;
    return start === undefined ? undefined : start + this.#runtime.ttlSeconds(start, start, this.#meta.maxAge) * 1000;
  }

  #assertOpen(): void {
    if (this.#closed) {
      throw new SessionError('session-closed', 'The session was changed after its response was complete; the change cannot be stored (make it before the response ends, or await it)');
    }
  }

  /** One store call, bounded and typed by the runtime. */
  #call<R>(what: string, op: (store: SessionStore) => Promise<R>): Promise<R> {
    return this.#runtime.call(what, () => op(this.#runtime.store));
  }

  #ttl(now: number): number {
    return this.#runtime.ttlSeconds(this.#startedAt, now, this.#meta.maxAge);
  }

  #wrote(id: string, now: number): void {
    this.#storedId = id;
    if (id === this.#id) this.#storeExpiresAt = now + this.#ttl(now) * 1000;
  }
}

/** @internal The engine's factory of {@link Session}s (the engine knows only its `EngineSession` interface). */
export const createSession: SessionFactory<Session> = (runtime, init) => new Session(runtime, init);

declare module '../engine/registered.js' {
  // Lets the adapters (a layer below) name this class as the type of `request.session`.
  interface SessionTypeRegister {
    /** The session class, for the adapters' typings. */
    session: Session;
  }
}
