import type { SessionStore } from '../abstract/SessionStore.js';
import { Session } from '../concrete/Session.js';
import { SessionError } from '../concrete/SessionError.js';
import { readCookie, serializeCookie } from './cookie.js';
import { IdTokens, isWellFormedId } from './idToken.js';
import { EventLog, type SessionEvent } from './logger.js';
import type { ResolvedOptions } from './options.js';
import type { SessionRuntime } from './runtime.js';

/** The framework-neutral view of a request: all the engine reads from it. */
export interface RequestView {
  /** A request header by lower-case name; repeated headers joined with ", " as Node and fetch do. */
  header(name: string): string | undefined;
  /** True when the request reached this process over TLS. */
  readonly encrypted: boolean;
}

/** Headers to add to the response: `sessionId` for the header transport, `setCookie` to append. */
export interface SessionResponseHeaders {
  sessionId: string | undefined;
  setCookie: string | undefined;
}

/** Clients may run a little ahead of us; ids from further in the future are forged. */
const CLOCK_SKEW_MS = 60_000;

/**
 * The session lifecycle, free of any framework: recognise the presented id (or issue one),
 * load lazily, commit before the response, and compute the response headers.
 */
export class SessionEngine implements SessionRuntime {
  readonly store: SessionStore;
  readonly log: EventLog;
  readonly maxAgeMs: number;
  readonly touchAfterMs: number;
  readonly options: ResolvedOptions;
  readonly #tokens: IdTokens;
  readonly #headerKey: string | undefined;

  constructor(options: ResolvedOptions, store: SessionStore) {
    this.options = options;
    this.store = store;
    this.log = new EventLog(options.logger);
    this.maxAgeMs = options.maxAge * 1000;
    this.touchAfterMs = options.touchAfter * 1000;
    this.#tokens = new IdTokens(options.secrets);
    this.#headerKey = options.header === false ? undefined : options.header.toLowerCase();
  }

  /**
   * The session for a request. Rejects with a `SessionError` when the store fails, unless
   * `onStoreError` is `'continue'`, in which case it resolves `undefined` (no session).
   */
  async open(view: RequestView): Promise<Session | undefined> {
    const presented = this.#presentedId(view);
    if (presented === undefined) return this.#fresh();
    const now = Date.now();
    const check = this.#tokens.verify(presented);
    let startedAt: number | undefined;
    if (check.kind === 'signed') {
      startedAt = check.startedAt;
      if (startedAt > now + CLOCK_SKEW_MS) return this.#reject(presented, 'from-the-future');
      const { absoluteTimeout } = this.options;
      if (absoluteTimeout !== undefined && now >= startedAt + absoluteTimeout * 1000) return this.#reject(presented, 'expired');
    } else if (check.kind === 'bad-signature') {
      return this.#reject(presented, 'bad-signature');
    } else if (!this.options.acceptClientIds) {
      return this.#reject(presented, 'not-issued');
    }
    let found;
    try {
      found = await this.call('load', () => this.store.load(presented));
    } catch (error) {
      if (this.options.onStoreError === 'continue') return undefined;
      throw error;
    }
    if (found?.state === 'destroyed') return this.#reject(presented, 'destroyed');
    if (found?.state === 'active' && (found.expiresAt === undefined || found.expiresAt > now)) {
      this.log.emit('loaded', presented);
      return new Session(this, { id: presented, startedAt, isNew: false, stored: found });
    }
    // Nothing stored: an id we issued is valid for maxAge after its start; a client's is adopted.
    if (startedAt !== undefined && now >= startedAt + this.maxAgeMs) return this.#reject(presented, 'expired');
    this.log.emit('loaded', presented);
    return new Session(this, { id: presented, startedAt, isNew: startedAt === undefined });
  }

  /** Writes the session's changes (or a due TTL refresh); honours `onStoreError`. */
  async commit(session: Session | undefined): Promise<void> {
    if (!session) return;
    try {
      await session.commit();
    } catch (error) {
      if (this.options.onStoreError !== 'continue') throw error;
    }
  }

  /** The id header and cookie for the response, for the session as it stands now; call it as they go out. */
  responseHeaders(session: Session | undefined, view: RequestView): SessionResponseHeaders {
    if (!session) return { sessionId: undefined, setCookie: undefined };
    const { cookieName, header } = this.options;
    const destroyed = session.isDestroyed;
    if (!destroyed) session.markSent();
    const setCookie =
      cookieName === false
        ? undefined
        : serializeCookie(
            cookieName,
            destroyed ? '' : session.id,
            destroyed ? 0 : session.cookieMaxAge(Date.now()),
            this.#secure(view),
            this.options.cookie,
          );
    return { sessionId: header === false || destroyed ? undefined : session.id, setCookie };
  }

  async call<T>(what: string, op: () => Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const ms = this.options.storeTimeoutMs;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new SessionError('store-timeout', `Session store did not answer ${what} within ${ms} ms`)), ms);
    });
    try {
      return await Promise.race([Promise.resolve().then(op), timeout]);
    } catch (error) {
      const failure =
        SessionError.is(error) && error.kind !== 'store-error'
          ? error
          : new SessionError('store-error', `Session store failed on ${what}`, { cause: error });
      if (failure.kind === 'store-error' || failure.kind === 'store-timeout') {
        this.log.emit('store-error', undefined, { error: `${failure.kind}: ${what}` });
      }
      throw failure;
    } finally {
      clearTimeout(timer);
    }
  }

  ttlSeconds(startedAt: number | undefined, now: number): number {
    const { absoluteTimeout, maxAge } = this.options;
    if (absoluteTimeout === undefined || startedAt === undefined) return maxAge;
    return Math.max(0.001, Math.min(maxAge, (startedAt + absoluteTimeout * 1000 - now) / 1000));
  }

  issueId(startedAt: number): string {
    return this.#tokens.issue(startedAt);
  }

  #fresh(): Session {
    // The token keeps whole seconds; the session keeps the exact start so its first cookie says maxAge.
    const startedAt = Date.now();
    const id = this.#tokens.issue(startedAt);
    this.log.emit('created', id);
    return new Session(this, { id, startedAt, isNew: true });
  }

  #reject(presented: string, reason: NonNullable<SessionEvent['reason']>): Session {
    this.log.emit('rejected', presented, { reason });
    return this.#fresh();
  }

  /** Header first, then cookie; a malformed value counts as absent. */
  #presentedId(view: RequestView): string | undefined {
    if (this.#headerKey !== undefined) {
      const value = view.header(this.#headerKey);
      if (value !== undefined && isWellFormedId(value)) return value;
    }
    if (this.options.cookieName !== false) {
      const value = readCookie(view.header('cookie'), this.options.cookieName);
      if (value !== undefined && isWellFormedId(value)) return value;
    }
    return undefined;
  }

  #secure(view: RequestView): boolean {
    const { secure, trustProxy } = this.options;
    if (secure !== 'auto') return secure;
    if (view.encrypted) return true;
    if (!trustProxy) return false;
    const proto = view.header('x-forwarded-proto');
    return proto !== undefined && proto.split(',')[0]!.trim().toLowerCase() === 'https';
  }
}
