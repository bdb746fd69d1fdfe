import { TOKEN } from '../core/cookie.js';
import { SessionError } from '../core/SessionError.js';
import { MAX_AGE_LIMIT_SECONDS } from '../core/timers.js';
import type { SessionStore } from '../abstract/SessionStore.js';
import type { SessionCookieOptions } from '../engine/options.js';
import type { ExpressSessionStoreLike } from '../stores/ExpressSessionStoreAdapter.js';
import type { ExpressSessionOptions } from './options.js';
import { warnOnce } from './warnings.js';

/** Idle lifetime the store keeps a session with a browser-session cookie (as connect-redis does). */
export const BROWSER_SESSION_TTL_SECONDS = 24 * 3600;

/** What {@link mapOptions} makes of express-session's options. */
export interface MappedOptions {
  /** The core's options, but the secret and the store. */
  readonly core: {
    sessionCookie: string;
    sessionHeader: false;
    maxAge: number;
    touchAfter?: number;
    cookie: SessionCookieOptions & { persistent: boolean };
  } & Pick<ExpressSessionOptions, 'absoluteTimeout' | 'storeTimeout' | 'onStoreError' | 'logger' | 'maxSessionBytes' | 'breaker' | 'cacheControl'>;
  /** The `secret` option, unvalidated; `undefined` (or `''`): `req.secret` at request time. */
  readonly secret: unknown;
  readonly store: ExpressSessionStoreLike | SessionStore | undefined;
  readonly unset: 'destroy' | 'keep';
  readonly proxy: boolean | undefined;
  /** `false`: no cookie for a new session that holds nothing. */
  readonly saveUninitialized: boolean;
  /** The cookie path: requests outside it get no session. */
  readonly path: string;
  /** The configured lifetime in ms, `null` for browser-session cookies (express-session's `originalMaxAge`). */
  readonly originalMaxAge: number | null;
}

const EXTRAS = ['absoluteTimeout', 'storeTimeout', 'onStoreError', 'logger', 'maxSessionBytes', 'breaker', 'cacheControl'] as const;
const KNOWN = new Set<string>(['secret', 'name', 'key', 'cookie', 'store', 'rolling', 'resave', 'saveUninitialized', 'unset', 'proxy', 'genid', ...EXTRAS]);
const KNOWN_COOKIE = new Set<string>(['maxAge', 'expires', 'httpOnly', 'secure', 'sameSite', 'path', 'domain', 'partitioned', 'priority', 'signed', 'encode']);

function optionalBoolean(name: string, value: unknown): boolean | undefined {
  if (value === undefined || typeof value === 'boolean') return value;
  throw SessionError.invalidOption(name, 'a boolean', value);
}

/**
 * Maps express-session's options onto the core's, with express-session's defaults where they
 * are safe (`connect.sid`, browser-session cookies) and this library's where they are not.
 * Throws a `SessionError` (`invalid-option`) naming the option for a value express-session
 * would refuse too, or one this library cannot honour; warns about options it ignores.
 */
export function mapOptions(input: ExpressSessionOptions | undefined): MappedOptions {
  if (input !== undefined && (typeof input !== 'object' || input === null)) throw SessionError.invalidOption('options', 'an object', input);
  const options = (input ?? {}) as Record<string, unknown>;
  for (const key of Object.keys(options)) {
    if (!KNOWN.has(key)) warnOnce('SWARMAURI_SESSION_UNKNOWN_OPTION', `express-session drop-in: unknown option "${key}" is ignored`);
  }
  const name = options.name ?? options.key ?? 'connect.sid';
  if (typeof name !== 'string' || !TOKEN.test(name)) throw SessionError.invalidOption('name', 'a cookie name (RFC 9110 token)', name);
  for (const flag of ['rolling', 'resave', 'saveUninitialized', 'proxy']) optionalBoolean(flag, options[flag]);
  const unset = options.unset ?? 'keep';
  if (unset !== 'keep' && unset !== 'destroy') throw SessionError.invalidOption('unset', '"destroy" or "keep"', unset);
  if (options.genid !== undefined) {
    if (typeof options.genid !== 'function') throw SessionError.invalidOption('genid', 'a function', options.genid);
    warnOnce('SWARMAURI_SESSION_GENID_IGNORED', 'express-session drop-in: genid is ignored; session ids are issued and signed by swarmauri-middleware-session');
  }
  const { cookie, maxAge, path } = cookieOf(options.cookie);
  const extras: Record<string, unknown> = {};
  for (const key of EXTRAS) if (options[key] !== undefined) extras[key] = options[key];
  return {
    core: {
      ...extras,
      sessionCookie: name,
      sessionHeader: false,
      maxAge: maxAge ?? BROWSER_SESSION_TTL_SECONDS,
      // rolling: refresh the expiry and re-send the cookie on every response.
      ...(options.rolling === true ? { touchAfter: 0 } : {}),
      cookie,
    },
    secret: options.secret === '' ? undefined : options.secret,
    store: options.store as MappedOptions['store'],
    unset,
    proxy: options.proxy as boolean | undefined,
    saveUninitialized: options.saveUninitialized !== false,
    path,
    originalMaxAge: maxAge === undefined ? null : maxAge * 1000,
  };
}

/** The core's cookie options and lifetime (seconds) from express-session's `cookie`. */
function cookieOf(value: unknown): { cookie: MappedOptions['core']['cookie']; maxAge: number | undefined; path: string } {
  if (typeof value === 'function') {
    throw SessionError.invalidOption('cookie', 'an object (cookie options computed per request are not supported)', value);
  }
  if (value !== undefined && value !== null && typeof value !== 'object') throw SessionError.invalidOption('cookie', 'an object', value);
  const options = (value ?? {}) as Record<string, unknown>;
  for (const key of Object.keys(options)) {
    if (!KNOWN_COOKIE.has(key)) warnOnce('SWARMAURI_SESSION_UNKNOWN_OPTION', `express-session drop-in: unknown option "cookie.${key}" is ignored`);
  }
  const maxAge = lifetimeOf(options.maxAge, options.expires);
  const sameSite = options.sameSite === true ? 'strict' : options.sameSite === 'auto' ? 'lax' : options.sameSite;
  const cookie: MappedOptions['core']['cookie'] = { persistent: maxAge !== undefined, secure: (options.secure as boolean | 'auto' | undefined) ?? 'auto' };
  // The core validates these and names the option (cookie.path, cookie.sameSite, ...) in its error.
  for (const [key, option] of [['httpOnly', options.httpOnly], ['sameSite', sameSite], ['path', options.path], ['domain', options.domain], ['partitioned', options.partitioned], ['priority', options.priority]] as const) {
    if (option !== undefined) (cookie as unknown as Record<string, unknown>)[key] = option;
  }
  const path = typeof options.path === 'string' ? options.path : '/';
  return { cookie, maxAge, path };
}

/** Whole seconds of express-session's `cookie.maxAge` (ms) or `cookie.expires` (a date); `undefined`: browser-session. */
function lifetimeOf(maxAge: unknown, expires: unknown): number | undefined {
  let ms: number;
  if (maxAge !== undefined && maxAge !== null) {
    if (typeof maxAge !== 'number' || !Number.isFinite(maxAge) || maxAge <= 0) {
      throw SessionError.invalidOption('cookie.maxAge', 'a number of milliseconds > 0', maxAge);
    }
    ms = maxAge;
  } else if (expires !== undefined && expires !== null && expires !== false) {
    const at = expires instanceof Date ? expires.getTime() : NaN;
    if (!Number.isFinite(at) || at <= Date.now()) throw SessionError.invalidOption('cookie.expires', 'a Date in the future', expires);
    ms = at - Date.now();
  } else {
    return undefined;
  }
  // Browsers keep a cookie at most 400 days (RFC 6265bis): longer means the same thing.
  return Math.min(Math.ceil(ms / 1000), MAX_AGE_LIMIT_SECONDS);
}
