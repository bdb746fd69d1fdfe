import { MAX_AGE_LIMIT_SECONDS, MAX_TIMER_SECONDS } from '../core/timers.js';
import { randomBytes } from 'node:crypto';
import type { SessionStore } from '../abstract/SessionStore.js';
import { SessionError } from '../core/SessionError.js';
import { TOKEN, type CookieAttributes } from '../core/cookie.js';
import type { SessionLogger } from '../core/logger.js';
import type { Meter, Tracer } from '@opentelemetry/api';
import { openTelemetryApi, type TelemetryProviders } from '../core/telemetry.js';
import { LEGACY_IDS, type LegacyIdReader } from './legacy.js';

/** Attributes of the session cookie. */
export interface SessionCookieOptions {
  /** @defaultValue true */
  httpOnly?: boolean;
  /** `'none'` requires `secure` other than `false`. @defaultValue 'lax' */
  sameSite?: 'lax' | 'strict' | 'none' | false;
  /**
   * `true` always sets `Secure`; `'auto'` sets it when the request came over HTTPS (behind a
   * proxy: the framework's trust-proxy setting, or `trustProxy` on node:http and Web); `false` never. `__Host-` and `__Secure-` cookies need `true`.
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
  /**
   * `true` gives the cookie a `Max-Age` (the session's remaining lifetime); `false` makes it a
   * browser-session cookie, gone when the browser closes, while the store still ends the session
   * after `maxAge` idle. A session given its own lifetime ({@link Session.setMaxAge}, "remember
   * me") gets a persistent cookie either way.
   * @defaultValue true
   */
  persistent?: boolean;
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
  /**
   * Idle timeout in seconds: store TTL and cookie `Max-Age`, sliding with activity. From 1 to
   * 34560000 (400 days, the longest cookie lifetime browsers keep). @defaultValue 3600
   */
  maxAge?: number;
  /**
   * Key(s) that sign ids, each at least 32 characters (a list holds at most 8). With a list, the
   * first signs and all verify (rotation). Without one a
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
   * no start and are not subject to it. From 1 second to 10 years (315360000). @defaultValue none
   */
  absoluteTimeout?: number;
  /**
   * Seconds between TTL refreshes of a session that did not change (and between refreshes of
   * the client's cookie); at least 0 and less than `maxAge`.
   * @defaultValue the smaller of 60 and `maxAge / 2`
   */
  touchAfter?: number;
  /** Bound, in seconds, on every store call; from 0.001 to 2147483 (a Node timer limit). @defaultValue 2 */
  storeTimeout?: number;
  /** `'error'` passes store failures to the framework; `'continue'` serves the request without a session. @defaultValue 'error' */
  onStoreError?: 'error' | 'continue';
  /** Receives lifecycle events with hashed ids. @defaultValue none (events are dropped) */
  logger?: SessionLogger;
  /**
   * Believe `X-Forwarded-Proto` for `secure: 'auto'` (only behind a proxy you control), on
   * `node:http` and the Web `dispatch`. Frameworks with a trust-proxy setting of their own
   * decide themselves, and this option is not consulted there: Express (`app.set('trust proxy',
   * ...)`), Fastify (`trustProxy`) and Koa (`app.proxy`).
   * @defaultValue false
   */
  trustProxy?: boolean;
  /**
   * Requests that do not count as activity: when it returns true, the request neither refreshes
   * the store TTL nor sends a refreshed cookie, so a polling endpoint does not keep an idle
   * session alive. A new or changed session is still written and sent. `path` is the URL's
   * pathname without the query.
   * @example
   * ```ts
   * ignoreActivity: ({ path }) => path.startsWith('/api/poll')
   * ```
   * @defaultValue none (every request is activity)
   */
  ignoreActivity?: (request: { method: string; path: string }) => boolean;
  /**
   * File sessions in the store under a hash of their id, so that a dump of the store (a Redis
   * replica, a backup, `MemoryStore`'s map) holds no id a client could present, and a secret
   * rotation re-signs ids without moving data. `'migrate'`: also read sessions stored under raw
   * ids (before hashing was on) and move them. `false`: raw ids, as before.
   * @defaultValue true
   */
  hashIds?: boolean | 'migrate';
  /**
   * `destroy()` also sends `Clear-Site-Data: "cookies"`, so the browser drops every cookie of the
   * origin (other cookies of the app too), not just the session's.
   * @defaultValue false
   */
  clearSiteData?: boolean;
  /**
   * Keep responses that carry the session id out of shared caches: `Cache-Control: no-store`
   * where the app set none, `private` instead of `public`/`s-maxage` where it did. `false`
   * leaves `Cache-Control` alone. @defaultValue true
   */
  cacheControl?: boolean;
  /**
   * Largest session, in bytes of its JSON text (UTF-8), an integer from 1024 to 16 MiB
   * (16777216). A write that would make the session larger is refused with a
   * `too-large` {@link SessionError}, and nothing of it is stored, so one session cannot slow
   * every later request (each one parses it).
   * @defaultValue 65536 (64 KiB)
   */
  maxSessionBytes?: number;
  /**
   * The circuit breaker in front of the store: after `failures` failed or timed-out store calls
   * in a row, calls fail at once with a `store-unavailable` {@link SessionError} for `cooldown`
   * seconds (instead of each waiting `storeTimeout`), then one probe call at a time is let
   * through; the first that succeeds closes the circuit. `store-down` and `store-up` events go to
   * the logger. `false` turns it off. `failures` from 1 to 1000, `cooldown` from 0.1 to 3600 s.
   * @defaultValue `{ failures: 5, cooldown: 5 }`
   */
  breaker?: BreakerOptions | false;
  /**
   * Metrics and traces through `@opentelemetry/api` (an optional peer dependency): counters of
   * sessions created, loaded, rejected (by reason), regenerated, destroyed, revoked and logged in,
   * a histogram of store-call durations, the breaker's state, and a span per store call; no
   * attribute carries a session or user id (see the guide, "Observability").
   * - `true`: the global meter and tracer providers (`metrics`/`trace` of `@opentelemetry/api`,
   *   loaded once with `import()`; register the SDK before creating the middleware). Refused at
   *   construction when the package is not installed.
   * - `{ meter, tracer }`: your own (either may be left out); nothing is loaded.
   * - `false`: off; nothing is loaded or recorded, and the request path pays a null check.
   * @example
   * ```ts
   * new SessionMiddleware({ secret, telemetry: true });
   * new SessionMiddleware({ secret, telemetry: { meter: metrics.getMeter('app'), tracer: trace.getTracer('app') } });
   * ```
   * @defaultValue false
   */
  telemetry?:
    | boolean
    | {
        /** Receives the counters, the store-call histogram and the breaker gauge; none recorded without it. */
        meter?: Meter;
        /** Receives a span per store call; none recorded without it. */
        tracer?: Tracer;
      };
}

/** Settings of the circuit breaker in front of the store (see `breaker`). */
export interface BreakerOptions {
  /** Failed or timed-out store calls in a row that open the circuit, from 1 to 1000. @defaultValue 5 */
  failures?: number;
  /** Seconds the circuit stays open before one probe call is let through, from 0.1 to 3600. @defaultValue 5 */
  cooldown?: number;
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
  cacheControl: boolean;
  maxSessionBytes: number;
  breaker: { failures: number; cooldownMs: number } | false;
  /** `clearSiteData`. */
  clearSiteData: boolean;
  /** `hashIds`. */
  hashIds: boolean | 'migrate';
  /** `ignoreActivity`, or undefined. */
  ignoreActivity: ((request: { method: string; path: string }) => boolean) | undefined;
  /** Reader of session cookies in another format (the express-session drop-in's); see `LEGACY_IDS`. */
  legacyIds: LegacyIdReader | undefined;
  /** `telemetry`: the meter/tracer given, `'global'` for `true`, or undefined (off). */
  telemetry: TelemetryProviders | 'global' | undefined;
}

const fail = SessionError.invalidOption;

/** Ten years: an absolute timeout beyond it is a typo (milliseconds for seconds), not a policy. */
export const ABSOLUTE_TIMEOUT_LIMIT_SECONDS = 10 * 365 * 24 * 3600;
/** Shortest secret: 32 characters, 256 bits when random, as OWASP asks of HMAC keys. */
export const MIN_SECRET_LENGTH = 32;
/** Most secrets in a rotation list: each one costs an HMAC when an id does not verify. */
export const MAX_SECRETS = 8;
/** Smallest allowed `maxSessionBytes`. */
export const MIN_SESSION_BYTES = 1024;
/** Largest allowed `maxSessionBytes` (16 MiB). */
export const MAX_SESSION_BYTES = 16 * 1024 * 1024;

function seconds(name: string, value: unknown, fallback: number, min: number, max: number, minInclusive = true): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || (minInclusive ? value < min : value <= min) || value > max) {
    throw fail(name, `a number of seconds ${minInclusive ? '>=' : '>'} ${min} and <= ${max}`, value);
  }
  return value;
}


/**
 * Options this middleware knows, and what to use instead of the names a user coming from
 * express-session, the Python package or a typo will write: an unknown option is refused, never
 * ignored, so a setting the user believes in cannot silently be off.
 */
const KNOWN_OPTIONS: readonly string[] = [
  'sessionStorage', 'sessionHeader', 'sessionCookie', 'maxAge', 'secret', 'cookie', 'acceptClientIds',
  'absoluteTimeout', 'touchAfter', 'storeTimeout', 'onStoreError', 'logger', 'trustProxy', 'cacheControl',
  'maxSessionBytes', 'breaker', 'ignoreActivity', 'clearSiteData', 'hashIds', 'telemetry',
];
const KNOWN_COOKIE_OPTIONS: readonly string[] = ['httpOnly', 'sameSite', 'secure', 'path', 'domain', 'partitioned', 'priority', 'persistent'];
const INSTEAD: Readonly<Record<string, string>> = {
  store: 'use sessionStorage',
  name: 'use sessionCookie (the cookie name)',
  resave: 'not needed: only changed fields are written, so there is nothing to resave',
  saveUninitialized: 'not needed: a session is stored once it holds data, and its cookie is sent from the first response',
  rolling: 'use touchAfter (seconds between expiry refreshes of an unchanged session)',
  genid: 'not supported: ids are issued and signed by the middleware',
  proxy: 'use trustProxy',
  unset: "not needed: use session.delete(key) or destroy()",
  session_storage: 'use sessionStorage',
  session_header: 'use sessionHeader',
  session_cookie: 'use sessionCookie',
  max_age: 'use maxAge (seconds)',
  secrets: 'use secret (a string or a list)',
  'cookie.maxAge': 'use the top-level maxAge, in seconds (not milliseconds)',
  'cookie.expires': 'use the top-level maxAge, in seconds',
  'cookie.name': 'use the top-level sessionCookie',
};

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, diagonal + (a[i - 1]!.toLowerCase() === b[j - 1]!.toLowerCase() ? 0 : 1));
      diagonal = above;
    }
  }
  return row[b.length]!;
}

/** Refuses keys not in `known`, naming the option to use instead. */
function refuseUnknown(value: object, known: readonly string[], prefix: string): void {
  for (const key of Object.keys(value)) {
    if (known.includes(key)) continue;
    const option = prefix + key;
    const nearest = known.find((name) => editDistance(key, name) <= 2);
    const hint = INSTEAD[option] ?? INSTEAD[key] ?? (nearest === undefined ? `known options: ${known.join(', ')}` : `did you mean ${prefix}${nearest}?`);
    throw new SessionError('invalid-option', `Unknown option ${option}: ${hint}`, { option });
  }
}

function breakerOf(value: unknown): { failures: number; cooldownMs: number } | false {
  if (value === false) return false;
  if (value !== undefined && (typeof value !== 'object' || value === null)) throw fail('breaker', 'an object or false', value);
  const options = (value ?? {}) as { failures?: unknown; cooldown?: unknown };
  refuseUnknown(options, ['failures', 'cooldown'], 'breaker.');
  const failures = options.failures ?? 5;
  if (!Number.isInteger(failures) || (failures as number) < 1 || (failures as number) > 1000) {
    throw fail('breaker.failures', 'an integer from 1 to 1000', failures);
  }
  const cooldown = seconds('breaker.cooldown', options.cooldown, 5, 0.1, 3600);
  return { failures: failures as number, cooldownMs: cooldown * 1000 };
}

function telemetryOf(value: unknown): TelemetryProviders | 'global' | undefined {
  if (value === undefined || value === false) return undefined;
  if (value === true) {
    if (!openTelemetryApi.installed()) {
      throw new SessionError(
        'invalid-option',
        'Invalid option telemetry: true needs the optional peer dependency @opentelemetry/api, which is not installed (npm install @opentelemetry/api), or pass { meter, tracer }',
        { option: 'telemetry' },
      );
    }
    return 'global';
  }
  if (typeof value !== 'object' || value === null) throw fail('telemetry', 'a boolean or { meter, tracer }', value);
  refuseUnknown(value, ['meter', 'tracer'], 'telemetry.');
  const { meter, tracer } = value as { meter?: unknown; tracer?: unknown };
  const has = (object: unknown, methods: readonly string[]): boolean =>
    typeof object === 'object' && object !== null && methods.every((name) => typeof (object as Record<string, unknown>)[name] === 'function');
  if (meter !== undefined && !has(meter, ['createCounter', 'createHistogram', 'createObservableGauge'])) throw fail('telemetry.meter', 'an OpenTelemetry Meter', meter);
  if (tracer !== undefined && !has(tracer, ['startActiveSpan'])) throw fail('telemetry.tracer', 'an OpenTelemetry Tracer', tracer);
  if (meter === undefined && tracer === undefined) return undefined;
  return { meter: meter as Meter | undefined, tracer: tracer as Tracer | undefined };
}

function byteCount(name: string, value: unknown): number {
  if (value === undefined) return 64 * 1024;
  if (!Number.isInteger(value) || (value as number) < MIN_SESSION_BYTES || (value as number) > MAX_SESSION_BYTES) {
    throw fail(name, `an integer number of bytes from ${MIN_SESSION_BYTES} to ${MAX_SESSION_BYTES}`, value);
  }
  return value as number;
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
  if (!Array.isArray(list) || list.length === 0 || list.length > MAX_SECRETS || !list.every((s) => typeof s === 'string')) {
    throw fail('secret', `a string or a list of 1 to ${MAX_SECRETS} strings`, value);
  }
  const short = list.find((secret: string) => secret.length < MIN_SECRET_LENGTH);
  if (short !== undefined) {
    // The message shows only the length: a secret must not end up in logs.
    throw new SessionError('invalid-option', `Invalid option secret: each secret needs at least ${MIN_SECRET_LENGTH} characters (one has ${(short as string).length}); generate one with \`openssl rand -base64 48\``, { option: 'secret' });
  }
  return { secrets: [...list] as string[], generated: false };
}

function cookieOf(value: SessionCookieOptions | undefined, name: string | false): { cookie: CookieAttributes; secure: boolean | 'auto' } {
  if (value !== undefined && (typeof value !== 'object' || value === null)) throw fail('cookie', 'an object', value);
  const options = value ?? {};
  refuseUnknown(options, KNOWN_COOKIE_OPTIONS, 'cookie.');
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
      persistent: flag('cookie.persistent', options.persistent, true),
    },
  };
}

/** Validates every option, naming the bad one in a `SessionError`, and fills in the defaults. */
export function resolveOptions(options: SessionMiddlewareOptions): ResolvedOptions {
  if (typeof options !== 'object' || options === null) throw fail('options', 'an object', options);
  refuseUnknown(options, KNOWN_OPTIONS, '');
  const header = transportName('sessionHeader', options.sessionHeader, 'X-Session-ID');
  const cookieName = transportName('sessionCookie', options.sessionCookie, 'session_id');
  if (header === false && cookieName === false) throw fail('sessionHeader', 'a header name while sessionCookie is false (one transport is needed)', false);
  const maxAge = seconds('maxAge', options.maxAge, 3600, 1, MAX_AGE_LIMIT_SECONDS);
  const absoluteTimeout =
    options.absoluteTimeout === undefined ? undefined : seconds('absoluteTimeout', options.absoluteTimeout, 0, 1, ABSOLUTE_TIMEOUT_LIMIT_SECONDS);
  const touchAfter = seconds('touchAfter', options.touchAfter, Math.min(60, maxAge / 2), 0, MAX_AGE_LIMIT_SECONDS);
  // touchAfter = maxAge would never refresh: the idle timeout would stop sliding.
  if (touchAfter >= maxAge) throw fail('touchAfter', `less than maxAge (${maxAge})`, touchAfter);
  const onStoreError = oneOf('onStoreError', options.onStoreError, ['error', 'continue'] as const) ?? 'error';
  const logger = options.logger;
  if (logger !== undefined && (typeof logger !== 'object' || logger === null)) throw fail('logger', 'an object with debug/info/warn/error methods', logger);
  const { secrets, generated } = secretsOf(options.secret);
  const legacyIds = (options as { [LEGACY_IDS]?: unknown })[LEGACY_IDS];
  if (legacyIds !== undefined && typeof legacyIds !== 'function') throw fail('[LEGACY_IDS]', 'a function', legacyIds);
  const ignoreActivity = options.ignoreActivity;
  if (ignoreActivity !== undefined && typeof ignoreActivity !== 'function') throw fail('ignoreActivity', 'a function (request) => boolean', ignoreActivity);
  return {
    clearSiteData: flag('clearSiteData', options.clearSiteData, false),
    hashIds: options.hashIds === 'migrate' ? 'migrate' : flag('hashIds', options.hashIds, true),
    ignoreActivity,
    legacyIds: legacyIds as LegacyIdReader | undefined,
    header,
    cookieName,
    maxAge,
    secrets,
    generatedSecret: generated,
    ...cookieOf(options.cookie, cookieName),
    acceptClientIds: flag('acceptClientIds', options.acceptClientIds, false),
    absoluteTimeout,
    touchAfter,
    // Under a millisecond the timer would fire at once: every store call would time out.
    storeTimeoutMs: seconds('storeTimeout', options.storeTimeout, 2, 0.001, MAX_TIMER_SECONDS) * 1000,
    onStoreError,
    logger,
    trustProxy: flag('trustProxy', options.trustProxy, false),
    cacheControl: flag('cacheControl', options.cacheControl, true),
    maxSessionBytes: byteCount('maxSessionBytes', options.maxSessionBytes),
    breaker: breakerOf(options.breaker),
    telemetry: telemetryOf(options.telemetry),
  };
}
