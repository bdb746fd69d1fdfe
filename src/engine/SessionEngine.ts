import { TRUST_ID, type SessionStore, type StoredSession } from '../abstract/SessionStore.js';
import { SessionError } from '../core/SessionError.js';
import { MAX_COOKIE_VALUES, readCookies, serializeCookie } from '../core/cookie.js';
import { IdTokens, isWellFormedId } from '../core/idToken.js';
import { EventLog, type SessionEvent } from '../core/logger.js';
import { CircuitBreaker } from '../core/breaker.js';
import { describeStore, globalProviders, SessionTelemetry, telemetryUnavailable, type TelemetryProviders } from '../core/telemetry.js';
import { takeMeta, type StoredMeta } from '../core/meta.js';
import { isRevoked, type UserRevocation } from '../abstract/userIndex.js';
import { syncOpsOf, type SyncStoreOps } from '../abstract/syncStore.js';
import type { ResolvedOptions } from './options.js';
import type { EngineSession, SessionFactory, SessionRuntime } from './runtime.js';

/** The framework-neutral view of a request: all the engine reads from it. */
export interface RequestView {
  /** A request header by lower-case name; repeated headers joined with ", " as Node and fetch do. */
  header(name: string): string | undefined;
  /** True when the request reached this process over TLS. */
  readonly encrypted: boolean;
  /**
   * The framework's own answer to "is this request HTTPS?", its trust-proxy settings applied
   * (Express's `req.secure`, Fastify's `request.protocol`, Koa's `ctx.secure`). When present it
   * decides `secure: 'auto'`, and the `trustProxy` option is not consulted.
   */
  readonly secure?: boolean;
  /** The request method, for `ignoreActivity` (read only when that option is set). */
  readonly method?: string;
  /** The URL's pathname without the query, for `ignoreActivity` (read only when that option is set). */
  readonly path?: string;
}

/** Headers to add to the response: `sessionId` for the header transport, `setCookie` to append. */
export interface SessionResponseHeaders {
  sessionId: string | undefined;
  setCookie: string | undefined;
  /** `Clear-Site-Data: "cookies"` goes out too (a destroy, with the `clearSiteData` option). */
  clearSiteData?: true;
}

/** Clients may run a little ahead of us; ids from further in the future are forged. */
const CLOCK_SKEW_MS = 60_000;
/** Ids ended (regenerated, destroyed) are remembered this long, for responses still in flight. */
const ENDED_MS = 10 * 60_000;
/** ...and at most this many of them (the oldest are forgotten first). */
const ENDED_MAX = 100_000;
const NONE: readonly string[] = Object.freeze([]);

/** The recognition's question for a user's revocation mark (a plain string asks for a session record). */
class RevocationAsk {
  constructor(readonly userId: string) {}
}
/** What recognition asks the store: a session record by id, or a user's revocation mark. */
type Ask = string | RevocationAsk;
type Answer = StoredSession | UserRevocation | undefined;
/**
 * Signed cookies read at most (every value of the session's cookie that `readCookies` returns):
 * the real one must be read even behind planted ones, and a request still costs at most this
 * many reads, whatever it sends.
 */
const MAX_COOKIE_TRIES = MAX_COOKIE_VALUES;

/** The ids a request presented, in the order to try them. */
interface Presented {
  /** Well-formed candidates: the header's, else the cookies' (ours first). */
  readonly ids: readonly string[];
  /** Store ids of genuine session cookies in another format (see `LEGACY_IDS`), tried after `ids`. */
  readonly legacy: readonly string[];
  /**
   * The client sent a well-formed session cookie: it gets no id header back, even when a header
   * id (which a page script may have set) took precedence.
   */
  readonly cookie: boolean;
}

/** A store call in flight: when it must have answered, and how to fail it then. */
interface PendingCall {
  readonly deadline: number;
  readonly expire: () => void;
}

type Outcome<S> = { readonly session: S; readonly stored: boolean } | { readonly rejected: NonNullable<SessionEvent['reason']> };

/**
 * The session lifecycle, free of any framework: recognise the presented id (or issue one),
 * load lazily, commit before the response, and compute the response headers.
 */
const NO_HEADERS: SessionResponseHeaders = Object.freeze({ sessionId: undefined, setCookie: undefined });

export class SessionEngine<S extends EngineSession = EngineSession> implements SessionRuntime {
  readonly store: SessionStore;
  readonly log: EventLog;
  readonly maxAgeMs: number;
  readonly touchAfterMs: number;
  readonly options: ResolvedOptions;
  readonly maxSessionBytes: number;
  readonly cookieTransport: boolean;
  readonly #tokens: IdTokens;
  readonly #headerKey: string | undefined;
  /** Ids regenerated or destroyed in this process, until when they are remembered (insertion order). */
  readonly #ended = new Map<string, number>();
  /** Store calls in flight, with their deadlines. */
  readonly #calls = new Set<PendingCall>();
  #deadlineTimer: NodeJS.Timeout | undefined;
  readonly #tickMs: number;
  readonly #callDeadlineMs: number;
  readonly #breaker: CircuitBreaker | undefined;
  /** The `telemetry` recorder; undefined when it is off (or, for `true`, until the package has loaded). */
  #telemetry: SessionTelemetry | undefined;
  readonly #create: SessionFactory<S>;

  /** `create` makes the session objects (the middleware passes one that builds `Session`s). */
  constructor(options: ResolvedOptions, store: SessionStore, create: SessionFactory<S>) {
    this.#create = create;
    this.options = options;
    this.store = store;
    this.log = new EventLog(options.logger);
    this.maxAgeMs = options.maxAge * 1000;
    this.touchAfterMs = options.touchAfter * 1000;
    this.maxSessionBytes = options.maxSessionBytes;
    this.cookieTransport = options.cookieName !== false;
    this.#tokens = new IdTokens(options.secrets);
    // Deadlines are checked every tick; a call gets storeTimeout minus one tick, so none waits longer.
    this.#tickMs = Math.max(1, Math.min(100, options.storeTimeoutMs / 10));
    this.#callDeadlineMs = Math.max(1, options.storeTimeoutMs - this.#tickMs);
    this.#headerKey = options.header === false ? undefined : options.header.toLowerCase();
    this.#breaker = options.breaker === false ? undefined : new CircuitBreaker(options.breaker.failures, options.breaker.cooldownMs, this.log);
    const telemetry = options.telemetry;
    if (telemetry !== undefined) {
      const record = (providers: TelemetryProviders): void => {
        const recorder = new SessionTelemetry(providers, describeStore(store), this.#breaker);
        this.#telemetry = recorder;
        this.log.countIn(recorder);
      };
      // `true`: the package is loaded once, now (resolveOptions checked that it is installed).
      if (telemetry === 'global') globalProviders().then(record).catch(telemetryUnavailable);
      else record(telemetry);
    }
  }

  /**
   * The session for a request. Rejects with a `SessionError` when the store fails, unless
   * `onStoreError` is `'continue'`, in which case it resolves `undefined` (no session).
   */
  async open(view: RequestView): Promise<S | undefined> {
    const choice = this.#choose(view);
    let step = choice.next();
    while (!step.done) {
      const ask = step.value;
      let answer: Answer;
      try {
        answer =
          typeof ask === 'string'
            ? await this.call('load', () => this.store.load(ask))
            : await this.call('revocation', () => this.store.userRevocation(ask.userId));
      } catch (error) {
        if (this.options.onStoreError === 'continue') return undefined;
        throw error;
      }
      step = choice.next(answer);
    }
    return step.value;
  }

  /**
   * {@link SessionEngine.open} without a promise, for a store whose reads finish synchronously
   * (`MemoryStore`); `null` when the store is not one.
   */
  /** The store's synchronous operations (`MemoryStore`), or `undefined`; asked each time, as a test may patch a store. */
  get sync(): SyncStoreOps | undefined {
    return syncOpsOf(this.store);
  }

  openNow(view: RequestView): S | null {
    const sync = this.sync;
    if (!sync) return null;
    const choice = this.#choose(view);
    let step = choice.next();
    while (!step.done) {
      const ask = step.value;
      step = choice.next(typeof ask === 'string' ? sync.load(ask) : sync.revocation?.(ask.userId));
    }
    return step.value;
  }

  /**
   * Recognition, free of how the store is read: yields each id whose record it needs and is given
   * what the store holds under it. Among several valid cookies, one holding data wins over an
   * issued id that stored nothing (which anyone can obtain and plant from a sibling subdomain).
   */
  *#choose(view: RequestView): Generator<Ask, S, Answer> {
    const presented = this.#presented(view);
    const sendsHeader = this.#headerKey !== undefined && !presented.cookie;
    const quiet = this.#quiet(view);
    let first: { id: string; reason: NonNullable<SessionEvent['reason']> } | undefined;
    let adoptable: S | undefined;
    let loads = 0;
    /** A signed id went unread for the budget: the real session may be among them. */
    let unread = false;
    for (const id of presented.ids) {
      const check = this.#check(id);
      let outcome: Outcome<S>;
      if (typeof check !== 'object') {
        // Planted cookies cannot make us read the store more than MAX_COOKIE_TRIES times.
        if (++loads > MAX_COOKIE_TRIES) {
          unread = true;
          outcome = { rejected: 'not-issued' };
        } else {
          const found = (yield id) as StoredSession | undefined;
          const meta = found?.state === 'active' ? takeMeta(found.data) : undefined;
          // A logged-in session also needs its user's revocation mark (revokeAll holds for sessions the index missed).
          const mark = meta?.userId === undefined ? undefined : ((yield new RevocationAsk(meta.userId)) as UserRevocation | undefined);
          outcome = this.#outcome(id, check, found, meta, mark, sendsHeader, view, quiet);
        }
      } else {
        outcome = check;
      }
      if ('rejected' in outcome) {
        first ??= { id, reason: outcome.rejected };
        continue;
      }
      if (outcome.stored || (presented.ids.length === 1 && presented.legacy.length === 0)) return this.#loaded(outcome.session);
      adoptable ??= outcome.session;
    }
    for (const id of presented.legacy) {
      if (++loads > MAX_COOKIE_TRIES) break;
      const found = (yield id) as StoredSession | undefined;
      if (found?.state !== 'active' || (found.expiresAt !== undefined && found.expiresAt <= Date.now())) {
        first ??= { id, reason: found?.state === 'destroyed' ? 'destroyed' : 'expired' };
        continue;
      }
      const stored = { data: found.data, expiresAt: found.expiresAt, meta: takeMeta(found.data) };
      const session = this.#create(this, { id, startedAt: undefined, isNew: false, stored, sendsHeader, request: view, quiet });
      // Moved to an id of ours at once, data kept; a failed move leaves the write pending for the commit.
      session.regenerate().catch(() => undefined);
      return this.#loaded(session);
    }
    // An issued id that stored nothing is adopted only when every candidate was read: planted ids
    // (which anyone can obtain) that use up the reads must not stand in for an unread real session;
    // the client gets a fresh one instead, which no one else holds.
    if (adoptable && !unread) return this.#loaded(adoptable);
    if (first) this.log.emit('rejected', first.id, { reason: first.reason });
    return this.#fresh(sendsHeader, view);
  }

  #loaded(session: S): S {
    this.log.emit('loaded', session.id);
    return session;
  }

  /** What the id itself says: its start (ours), `undefined` (a client's, when adopted), or why it is refused. */
  #check(presented: string): number | undefined | { readonly rejected: NonNullable<SessionEvent['reason']> } {
    const check = this.#tokens.verify(presented);
    if (check.kind === 'signed') {
      const { startedAt } = check;
      const now = Date.now();
      if (startedAt > now + CLOCK_SKEW_MS) return { rejected: 'from-the-future' };
      const { absoluteTimeout } = this.options;
      if (absoluteTimeout !== undefined && now >= startedAt + absoluteTimeout * 1000) return { rejected: 'expired' };
      return startedAt;
    }
    if (check.kind === 'bad-signature') return { rejected: 'bad-signature' };
    return this.options.acceptClientIds ? undefined : { rejected: 'not-issued' };
  }

  /** A session for `presented` given what the store holds under it, or why it is refused. */
  #outcome(
    presented: string,
    startedAt: number | undefined,
    found: StoredSession | undefined,
    meta: StoredMeta | undefined,
    mark: UserRevocation | undefined,
    sendsHeader: boolean,
    view: RequestView,
    quiet: boolean,
  ): Outcome<S> {
    const now = Date.now();
    if (found?.state === 'destroyed') return { rejected: 'destroyed' };
    if (found?.state === 'active' && meta !== undefined && (found.expiresAt === undefined || found.expiresAt > now)) {
      if (meta.userId !== undefined && isRevoked(mark, meta.loggedInAt, meta.handle)) return { rejected: 'revoked' };
      const stored = { data: found.data, expiresAt: found.expiresAt, meta };
      // Signed with an older secret: with hashed ids the record is filed under the id's random
      // part, so the client moves to the newest secret's signature without the data moving.
      if (startedAt !== undefined && this.options.hashIds !== false) {
        const fresh = this.#tokens.resign(presented);
        if (fresh !== presented) {
          this.log.emit('regenerated', fresh, { previousSessionId: presented });
          return { session: this.#create(this, { id: fresh, startedAt, isNew: false, stored, sendsHeader, request: view, quiet, reissued: true }), stored: true };
        }
      }
      return { session: this.#create(this, { id: presented, startedAt, isNew: false, stored, sendsHeader, request: view, quiet }), stored: true };
    }
    // Nothing stored: an id we issued is valid for maxAge after its start; a client's is adopted.
    if (startedAt !== undefined && now >= startedAt + this.maxAgeMs) return { rejected: 'expired' };
    return { session: this.#create(this, { id: presented, startedAt, isNew: startedAt === undefined, sendsHeader, request: view, quiet }), stored: false };
  }

  /**
   * Writes the session's changes (or a due refresh); honours `onStoreError`. With `close`, it is
   * the request's last commit: later changes to the session are refused.
   */
  async commit(session: EngineSession | undefined, close = true): Promise<void> {
    if (!session) return;
    try {
      await session.commit(close);
    } catch (error) {
      if (this.options.onStoreError !== 'continue') throw error;
    }
  }

  /**
   * The id header and cookie for the response, for the session as it stands now; call it as they
   * go out. The cookie goes out only when the client's copy must change (a new id, a due refresh,
   * a destroy); the header only to clients that did not present a session cookie, so page
   * scripts of a cookie client never read the `HttpOnly` id; neither carries an id that was
   * regenerated or destroyed since the request began.
   */
  responseHeaders(session: EngineSession | undefined, view: RequestView): SessionResponseHeaders {
    if (!session) return NO_HEADERS;
    const { cookieName, header } = this.options;
    if (session.isDestroyed) {
      const setCookie = cookieName === false ? undefined : serializeCookie(cookieName, '', 0, this.#secure(view), this.options.cookie);
      return this.options.clearSiteData ? { sessionId: undefined, setCookie, clearSiteData: true } : { sessionId: undefined, setCookie };
    }
    const ended = !session.isNew && this.hasEnded(session.id);
    const sendCookie = !ended && cookieName !== false && session.cookieDue;
    const sendHeader = !ended && header !== false && session.sendsHeader;
    const now = Date.now();
    const maxAge = sendCookie ? session.cookieMaxAge(now) : undefined;
    session.markSent(sendCookie || sendHeader, maxAge === undefined ? undefined : now + maxAge * 1000);
    if (!sendCookie && !sendHeader) return NO_HEADERS;
    return {
      sessionId: sendHeader ? session.id : undefined,
      setCookie: sendCookie ? serializeCookie(cookieName, session.id, maxAge, this.#secure(view), this.options.cookie) : undefined,
    };
  }

  ended(id: string): void {
    const now = Date.now();
    this.#ended.delete(id);
    this.#ended.set(id, now + ENDED_MS);
    // Forget the oldest: those that expired, and beyond the bound.
    for (const [old, until] of this.#ended) {
      if (until > now && this.#ended.size <= ENDED_MAX) break;
      this.#ended.delete(old);
    }
  }

  hasEnded(id: string): boolean {
    const until = this.#ended.get(id);
    return until !== undefined && until > Date.now();
  }

  /**
   * Runs one store call, bounded by `storeTimeout`, behind the breaker; with `telemetry` on, timed
   * and traced (`measured` marks the inner run, which is the call itself).
   */
  call<T>(what: string, op: () => Promise<T>, measured?: true): Promise<T> {
    const telemetry = this.#telemetry;
    if (telemetry !== undefined && measured === undefined) return telemetry.storeCall(what, () => this.call(what, op, true));
    const breaker = this.#breaker;
    const admission = breaker ? breaker.admit() : 'call';
    if (admission === 'refuse') {
      return Promise.reject(new SessionError('store-unavailable', `Session store is unavailable (circuit open after repeated failures); ${what} not attempted`));
    }
    return new Promise<T>((resolve, reject) => {
      const call: PendingCall = {
        deadline: Date.now() + this.#callDeadlineMs,
        expire: () => fail(new SessionError('store-timeout', `Session store did not answer ${what} within ${this.options.storeTimeoutMs} ms`)),
      };
      const fail = (error: unknown): void => {
        if (!this.#calls.delete(call)) return;
        const failure =
          SessionError.is(error) && error.kind !== 'store-error' ? error : new SessionError('store-error', `Session store failed on ${what}`, { cause: error });
        if (failure.kind === 'store-error' || failure.kind === 'store-timeout') {
          this.log.emit('store-error', undefined, { error: `${failure.kind}: ${what}` });
          breaker?.failed(admission);
        } else {
          // The store answered (the caller's error, such as a value too large): no outage.
          breaker?.succeeded(admission);
        }
        reject(failure);
      };
      this.#calls.add(call);
      this.#watchDeadlines();
      let result: Promise<T>;
      try {
        result = op();
      } catch (error) {
        fail(error);
        return;
      }
      Promise.resolve(result).then((value) => {
        if (!this.#calls.delete(call)) return;
        breaker?.succeeded(admission);
        resolve(value);
      }, fail);
    });
  }

  /**
   * One timer checks the deadlines of every store call in flight, instead of a timer (and a
   * race) per call: a call times out between `storeTimeout - tick` and `storeTimeout`.
   */
  #watchDeadlines(): void {
    if (this.#deadlineTimer !== undefined) return;
    // Cleared with the clearInterval of the setInterval that made it (a test may swap in fake timers meanwhile).
    const stop = clearInterval;
    this.#deadlineTimer = setInterval(() => {
      const now = Date.now();
      for (const call of this.#calls) if (call.deadline <= now) call.expire();
      if (this.#calls.size === 0) {
        stop(this.#deadlineTimer);
        this.#deadlineTimer = undefined;
      }
    }, this.#tickMs);
    this.#deadlineTimer.unref();
  }

  get maxAgeSeconds(): number {
    return this.options.maxAge;
  }

  get persistentCookie(): boolean {
    return this.options.cookie.persistent;
  }

  /**
   * False for an id shaped like ours whose signature none of this middleware's secrets verifies
   * (tampered, or another deployment's). With hashed ids the store files ids of our shape by their
   * random part, so it asks this to refuse those; ids of any other shape are hashed whole and
   * cannot reach another's record, so they stay the app's to use (`sessionStorage.set('x', ...)`).
   */
  acceptsId(id: string): boolean {
    return this.#tokens.verify(id).kind !== 'bad-signature';
  }

  ttlSeconds(startedAt: number | undefined, now: number, ownMaxAge?: number): number {
    const { absoluteTimeout } = this.options;
    const maxAge = ownMaxAge ?? this.options.maxAge;
    if (absoluteTimeout === undefined || startedAt === undefined) return maxAge;
    return Math.max(0.001, Math.min(maxAge, (startedAt + absoluteTimeout * 1000 - now) / 1000));
  }

  issueId(startedAt: number): string {
    const id = this.#tokens.issue(startedAt);
    this.#trust(id);
    return id;
  }

  /** Tells the store the id is ours (it files it without checking the signature again). */
  #trust(id: string): void {
    const store = this.store as Partial<Record<typeof TRUST_ID, (id: string) => void>>;
    if (typeof store[TRUST_ID] === 'function') store[TRUST_ID](id);
  }

  /** True when `ignoreActivity` says the request is no activity; a throwing predicate counts as activity. */
  #quiet(view: RequestView): boolean {
    const ignore = this.options.ignoreActivity;
    if (ignore === undefined) return false;
    try {
      return ignore({ method: view.method ?? 'GET', path: view.path ?? '/' }) === true;
    } catch {
      return false;
    }
  }

  #fresh(sendsHeader: boolean, view: RequestView): S {
    // The token keeps whole seconds; the session keeps the exact start so its first cookie says maxAge.
    const startedAt = Date.now();
    const id = this.#tokens.issue(startedAt);
    this.#trust(id);
    this.log.emit('created', id);
    return this.#create(this, { id, startedAt, isNew: true, sendsHeader, request: view });
  }

  /**
   * Header first, then cookie; a malformed value counts as absent. Among several cookies of the
   * session's name (one planted from a sibling subdomain, say), ours come first, in order.
   */
  #presented(view: RequestView): Presented {
    const values = this.options.cookieName === false ? [] : readCookies(view.header('cookie'), this.options.cookieName);
    const cookies = values.filter(isWellFormedId);
    const legacy = this.#legacy(values, cookies.length);
    const cookie = cookies.length > 0 || legacy.length > 0;
    if (this.#headerKey !== undefined) {
      const value = view.header(this.#headerKey);
      if (value !== undefined && isWellFormedId(value)) return { ids: [value], cookie, legacy };
    }
    if (cookies.length <= 1) return { ids: cookies, cookie, legacy };
    const ours = cookies.filter((value) => this.#tokens.verify(value).kind === 'signed');
    const ids = [...new Set([...ours, ...cookies.filter((value) => !ours.includes(value))])];
    return { ids, cookie, legacy };
  }

  /** The store ids of the session-cookie values in another format that the legacy reader vouches for. */
  #legacy(values: readonly string[], own: number): readonly string[] {
    const read = this.options.legacyIds;
    if (read === undefined || values.length === own) return NONE;
    const ids: string[] = [];
    for (const value of values) {
      if (isWellFormedId(value)) continue;
      let id: string | undefined;
      try {
        id = read(value);
      } catch {
        id = undefined;
      }
      if (typeof id === 'string' && isWellFormedId(id) && !ids.includes(id)) ids.push(id);
    }
    return ids;
  }

  #secure(view: RequestView): boolean {
    const { secure, trustProxy } = this.options;
    if (secure !== 'auto') return secure;
    const framework = view.secure;
    if (framework !== undefined) return framework;
    if (view.encrypted) return true;
    if (!trustProxy) return false;
    const proto = view.header('x-forwarded-proto');
    return proto !== undefined && proto.split(',')[0]!.trim().toLowerCase() === 'https';
  }
}
