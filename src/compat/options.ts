import type { IncomingMessage } from 'node:http';
import type { SessionStore } from '../abstract/SessionStore.js';
import type { SessionLogger } from '../core/logger.js';
import type { BreakerOptions } from '../engine/options.js';
import type { ExpressSessionStoreLike } from '../stores/ExpressSessionStoreAdapter.js';
import type { LegacySecret } from './secrets.js';

/**
 * express-session's `cookie` option. `maxAge` is in milliseconds, as there; without it (and
 * without `expires`) the cookie is a browser-session cookie.
 */
export interface ExpressSessionCookieOptions {
  /** Lifetime in milliseconds: the idle timeout, and the cookie's `Max-Age`. @defaultValue none (a browser-session cookie; the store keeps the session 1 day idle) */
  maxAge?: number | null | undefined;
  /** A fixed expiry date (deprecated in express-session): taken as a lifetime from construction. @defaultValue none */
  expires?: Date | null | undefined;
  /** @defaultValue true */
  httpOnly?: boolean | undefined;
  /** `'auto'`: `Secure` on HTTPS requests. @defaultValue `'auto'` (express-session: `false`) */
  secure?: boolean | 'auto' | undefined;
  /** `true` is `'strict'`; `'auto'` is `'lax'` here. @defaultValue `'lax'` (express-session: none) */
  sameSite?: boolean | 'lax' | 'strict' | 'none' | 'auto' | undefined;
  /** Also the paths the middleware serves, as in express-session. @defaultValue '/' */
  path?: string | undefined;
  /** @defaultValue none */
  domain?: string | undefined;
  /** @defaultValue false */
  partitioned?: boolean | undefined;
  /** @defaultValue none */
  priority?: 'low' | 'medium' | 'high' | undefined;
  /** Accepted and ignored: the cookie is always signed. */
  signed?: boolean | undefined;
  /** Accepted and ignored, as express-session ignores it: ids need no encoding. */
  encode?: ((value: string) => string) | undefined;
}

/**
 * The options of `session(options)`: express-session's, with its defaults, plus a few of this
 * library's (`absoluteTimeout`, `storeTimeout`, `onStoreError`, `logger`, `maxSessionBytes`,
 * `breaker`, `cacheControl`). See `docs/migration.md` for what each one maps to.
 *
 * @example
 * ```ts
 * app.use(session({
 *   secret: process.env.SESSION_SECRET!,
 *   resave: false,
 *   saveUninitialized: false,
 *   cookie: { maxAge: 24 * 3600 * 1000 },
 * }));
 * ```
 */
export interface ExpressSessionOptions {
  /**
   * Signs the ids; with a list, the first signs and all verify (express-session's `s:` cookies
   * included). Shorter than 32 characters: accepted with a warning. @defaultValue `req.secret` (from cookie-parser)
   */
  secret?: LegacySecret | LegacySecret[] | undefined;
  /** The cookie's name. @defaultValue 'connect.sid' */
  name?: string | undefined;
  /** express-session's old name for `name`. */
  key?: string | undefined;
  /**
   * Cookie attributes. A function of the request (express-session 1.18) is refused with an
   * `invalid-option` error: its parameter is typed `never` only so that express-session's own
   * option type stays assignable. @defaultValue `{ path: '/', httpOnly: true }`
   */
  cookie?: ExpressSessionCookieOptions | ((req: never) => ExpressSessionCookieOptions) | undefined;
  /** Any express-session store (wrapped in `ExpressSessionStoreAdapter`), or a `SessionStore`. @defaultValue a new `session.MemoryStore` */
  store?: ExpressSessionStoreLike | SessionStore | undefined;
  /** Re-send the cookie and refresh the expiry on every response. @defaultValue false */
  rolling?: boolean | undefined;
  /** Accepted; not needed: only changed fields are written. */
  resave?: boolean | undefined;
  /**
   * `false`: a new session that holds nothing gets no cookie (express-session's behaviour).
   * Either way an empty session is never stored. @defaultValue true
   */
  saveUninitialized?: boolean | undefined;
  /** What `req.session = null` (or `delete req.session`) does at the end of the request. @defaultValue 'keep' */
  unset?: 'destroy' | 'keep' | undefined;
  /** Trust `X-Forwarded-Proto` for `secure: 'auto'`: `true` always, `false` never. @defaultValue Express's `trust proxy` setting */
  proxy?: boolean | undefined;
  /** Accepted and ignored, with a warning: ids are issued and signed by this library. */
  genid?(req: IncomingMessage): string;
  /** This library's: seconds after which a session ends however active. @defaultValue none */
  absoluteTimeout?: number | undefined;
  /** This library's: bound on every store call, in seconds. @defaultValue 2 */
  storeTimeout?: number | undefined;
  /** This library's: `'continue'` serves a request without a session when the store fails. @defaultValue 'error' */
  onStoreError?: 'error' | 'continue' | undefined;
  /** This library's: receives lifecycle events with hashed ids. @defaultValue none */
  logger?: SessionLogger | undefined;
  /** This library's: largest session, in bytes of JSON. @defaultValue 65536 */
  maxSessionBytes?: number | undefined;
  /** This library's: the circuit breaker in front of the store. @defaultValue `{ failures: 5, cooldown: 5 }` */
  breaker?: BreakerOptions | false | undefined;
  /** This library's: keep responses carrying the cookie out of shared caches. @defaultValue true */
  cacheControl?: boolean | undefined;
}
