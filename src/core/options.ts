import { randomBytes } from 'node:crypto';
import type { SessionStore } from '../abstract/SessionStore.js';
import { SessionError } from '../concrete/SessionError.js';
import { TOKEN, type CookieAttributes } from './cookie.js';
import type { SessionLogger } from './logger.js';

/** Attributes of the session cookie. */
export interface SessionCookieOptions {
  /** @defaultValue true */
  httpOnly?: boolean;
  /** `'none'` requires `secure` other than `false`. @defaultValue 'lax' */
  sameSite?: 'lax' | 'strict' | 'none' | false;
  /**
   * `true` always sets `Secure`; `'auto'` sets it when the request came over HTTPS (behind a
   * proxy, see `trustProxy`); `false` never. `__Host-` and `__Secure-` cookies need `true`.
   * @defaultValue 'auto'
   */
  secure?: boolean | 'auto';
  /** @defaultValue '/' */
  path?: string;
  /** The cookie's `Domain`; omitted by default, so the cookie stays on the exact host. @defaultValue none */
  domain?: string;
  /** CHIPS partitioned cookie; needs `secure` other than `false`. @defaultValue false */
  partitioned?: boolean;
  /** Chrome's cookie priority. @defaultValue none (the browser's Medium) */
  priority?: 'low' | 'medium' | 'high';
}

/**
 * Options of {@link SessionMiddleware}. The first four mirror the Python keyword arguments.
 *
 * @example
 * ```ts
 * new SessionMiddleware({
 *   secret: [process.env.SESSION_SECRET!, process.env.OLD_SESSION_SECRET!],
 *   maxAge: 1800,
 *   absoluteTimeout: 8 * 3600,
 *   cookie: { secure: true, sameSite: 'strict' },
 * });
 * ```
 */
export interface SessionMiddlewareOptions {
  /** Where sessions live. @defaultValue a new {@link MemoryStore} (or the injected store) */
  sessionStorage?: SessionStore;
  /** Request/response header carrying the id; `false` turns the header transport off. @defaultValue 'X-Session-ID' */
  sessionHeader?: string | false;
  /** Cookie carrying the id; `false` turns the cookie transport off. @defaultValue 'session_id' */
  sessionCookie?: string | false;
  /** Idle timeout in seconds: store TTL and cookie `Max-Age`, sliding with activity. @defaultValue 3600 */
  maxAge?: number;
  /**
   * Key(s) that sign ids. With a list, the first signs and all verify (rotation). Without one a
   * random per-process secret is used and a `no-secret` warning is emitted: every instance that
   * shares a store must be given the same secret.
   * @defaultValue a random per-process secret (with a warning)
   */
  secret?: string | readonly string[];
  /** Cookie attributes. @defaultValue `{ httpOnly: true, sameSite: 'lax', secure: 'auto', path: '/' }` */
  cookie?: SessionCookieOptions;
  /**
   * Adopt well-formed ids the server did not issue, as the Python package does (for API clients
   * that name their own sessions). Tampered, expired and destroyed ids are still refused.
   * @defaultValue false
   */
  acceptClientIds?: boolean;
  /**
   * Seconds after which a session ends however active it is, counted from the start its signed
   * id carries (kept across `regenerate()`). Ids a client named itself (`acceptClientIds`) carry
   * no start and are not subject to it. @defaultValue none
   */
  absoluteTimeout?: number;
  /**
   * Seconds between TTL refreshes of a session that did not change.
   * @defaultValue the smaller of 60 and `maxAge / 2`
   */
  touchAfter?: number;
  /** Bound, in seconds, on every store call. @defaultValue 2 */
  storeTimeout?: number;
  /** `'error'` passes store failures to the framework; `'continue'` serves the request without a session. @defaultValue 'error' */
  onStoreError?: 'error' | 'continue';
  /** Receives lifecycle events with hashed ids. @defaultValue none (events are dropped) */
  logger?: SessionLogger;
  /** Believe `X-Forwarded-Proto` for `secure: 'auto'` (only behind a proxy you control). @defaultValue false */
  trustProxy?: boolean;
}

/** Options after validation and defaults. */
export interface ResolvedOptions {
  header: string | false;
  cookieName: string | false;
  maxAge: number;
  secrets: string[];
  generatedSecret: boolean;
  cookie: CookieAttributes;
  secure: boolean | 'auto';
  acceptClientIds: boolean;
  absoluteTimeout: number | undefined;
  touchAfter: number;
  storeTimeoutMs: number;
  onStoreError: 'error' | 'continue';
  logger: SessionLogger | undefined;
  trustProxy: boolean;
}

const fail = SessionError.invalidOption;

function seconds(name: string, value: unknown, fallback: number, min = 0, allowZero = false): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || (!allowZero && value === 0)) {
    throw fail(name, allowZero ? 'a number of seconds >= 0' : 'a positive number of seconds', value);
  }
  return value;
}

/** Node timers overflow past 2^31-1 ms (and then fire after 1 ms), so timer options stop there. */
export const MAX_TIMER_SECONDS = 2_147_483;

function timerSeconds(name: string, value: unknown, fallback: number, allowZero = false): number {
  const result = seconds(name, value, fallback, 0, allowZero);
  if (result > MAX_TIMER_SECONDS) throw fail(name, `at most ${MAX_TIMER_SECONDS} seconds (a Node timer limit)`, value);
  return result;
}

function oneOf<T extends string>(name: string, value: unknown, allowed: readonly T[]): T | undefined {
  if (value === undefined) return undefined;
  if (typeof value === 'string' && allowed.includes(value.toLowerCase() as T)) return value.toLowerCase() as T;
  throw fail(name, `one of ${allowed.join(', ')}`, value);
}

function flag(name: string, value: unknown, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') throw fail(name, 'a boolean', value);
  return value;
}

function capitalize<T extends string>(value: T | undefined): Capitalize<T> | undefined {
  return value === undefined ? undefined : ((value[0]!.toUpperCase() + value.slice(1)) as Capitalize<T>);
}

function transportName(name: string, value: unknown, fallback: string): string | false {
  if (value === undefined) return fallback;
  if (value === false) return false;
  if (typeof value !== 'string' || !TOKEN.test(value)) throw fail(name, 'a header/cookie name (RFC 9110 token) or false', value);
  return value;
}

function secretsOf(value: unknown): { secrets: string[]; generated: boolean } {
  if (value === undefined) return { secrets: [randomBytes(32).toString('base64url')], generated: true };
  const list = typeof value === 'string' ? [value] : value;
  if (!Array.isArray(list) || list.length === 0 || !list.every((s) => typeof s === 'string' && s.length > 0)) {
    throw fail('secret', 'a non-empty string or a non-empty list of non-empty strings', value);
  }
  return { secrets: [...list] as string[], generated: false };
}

function cookieOf(value: SessionCookieOptions | undefined, name: string | false): { cookie: CookieAttributes; secure: boolean | 'auto' } {
  if (value !== undefined && (typeof value !== 'object' || value === null)) throw fail('cookie', 'an object', value);
  const options = value ?? {};
  const secure = options.secure === undefined ? 'auto' : options.secure;
  if (secure !== 'auto' && typeof secure !== 'boolean') throw fail('cookie.secure', "a boolean or 'auto'", secure);
  const path = options.path ?? '/';
  if (typeof path !== 'string' || !/^\/[\x21-\x3a\x3c-\x7e]*$/.test(path)) throw fail('cookie.path', 'a path starting with "/" without ";" or controls', path);
  const domain = options.domain;
  if (domain !== undefined && (typeof domain !== 'string' || !/^\.?[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*$/.test(domain))) {
    throw fail('cookie.domain', 'a host name', domain);
  }
  const sameSite = options.sameSite === false ? undefined : (oneOf('cookie.sameSite', options.sameSite, ['lax', 'strict', 'none'] as const) ?? 'lax');
  const partitioned = flag('cookie.partitioned', options.partitioned, false);
  if (sameSite === 'none' && secure === false) throw fail('cookie.sameSite', "'lax' or 'strict' when cookie.secure is false (browsers drop SameSite=None without Secure)", 'none');
  if (partitioned && secure === false) throw fail('cookie.partitioned', 'false when cookie.secure is false (browsers require Secure)', true);
  // Browsers match the prefixes case-insensitively (RFC 6265bis), so the checks do too.
  const prefix = typeof name === 'string' ? /^__(host|secure)-/i.exec(name)?.[1]?.toLowerCase() : undefined;
  if (prefix !== undefined && secure !== true) {
    throw fail('cookie.secure', `true for a ${prefix === 'host' ? '__Host-' : '__Secure-'} cookie`, secure);
  }
  if (prefix === 'host') {
    if (domain !== undefined) throw fail('cookie.domain', 'no domain for a __Host- cookie', domain);
    if (path !== '/') throw fail('cookie.path', '"/" for a __Host- cookie', path);
  }
  return {
    secure,
    cookie: {
      httpOnly: flag('cookie.httpOnly', options.httpOnly, true),
      sameSite: capitalize(sameSite),
      path,
      domain,
      partitioned,
      priority: capitalize(oneOf('cookie.priority', options.priority, ['low', 'medium', 'high'] as const)),
    },
  };
}

/** Validates every option, naming the bad one in a `SessionError`, and fills in the defaults. */
export function resolveOptions(options: SessionMiddlewareOptions): ResolvedOptions {
  if (typeof options !== 'object' || options === null) throw fail('options', 'an object', options);
  const header = transportName('sessionHeader', options.sessionHeader, 'X-Session-ID');
  const cookieName = transportName('sessionCookie', options.sessionCookie, 'session_id');
  if (header === false && cookieName === false) throw fail('sessionHeader', 'a header name while sessionCookie is false (one transport is needed)', false);
  const maxAge = seconds('maxAge', options.maxAge, 3600);
  const absoluteTimeout = options.absoluteTimeout === undefined ? undefined : seconds('absoluteTimeout', options.absoluteTimeout, 0);
  const touchAfter = seconds('touchAfter', options.touchAfter, Math.min(60, maxAge / 2), 0, true);
  // touchAfter = maxAge would never refresh: the idle timeout would stop sliding.
  if (touchAfter >= maxAge) throw fail('touchAfter', `less than maxAge (${maxAge})`, touchAfter);
  const onStoreError = oneOf('onStoreError', options.onStoreError, ['error', 'continue'] as const) ?? 'error';
  const logger = options.logger;
  if (logger !== undefined && (typeof logger !== 'object' || logger === null)) throw fail('logger', 'an object with debug/info/warn/error methods', logger);
  const { secrets, generated } = secretsOf(options.secret);
  return {
    header,
    cookieName,
    maxAge,
    secrets,
    generatedSecret: generated,
    ...cookieOf(options.cookie, cookieName),
    acceptClientIds: flag('acceptClientIds', options.acceptClientIds, false),
    absoluteTimeout,
    touchAfter,
    storeTimeoutMs: timerSeconds('storeTimeout', options.storeTimeout, 2) * 1000,
    onStoreError,
    logger,
    trustProxy: flag('trustProxy', options.trustProxy, false),
  };
}
