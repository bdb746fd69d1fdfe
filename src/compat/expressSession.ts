/**
 * The express-session drop-in: `import session from 'swarmauri-middleware-session/express-session'`
 * in place of `import session from 'express-session'`, and the rest of the app stays as it is.
 * See `docs/migration.md`.
 *
 * @module
 */
import type { ConnectHandler } from '../adapters/node.js';
import { Cookie as CookieClass, type CookieData } from './Cookie.js';
import { MemoryStore as MemoryStoreClass } from './MemoryStore.js';
import { createDropin } from './middleware.js';
import type { ExpressSessionCookieOptions, ExpressSessionOptions } from './options.js';
import { Session as SessionClass } from './Session.js';
import { Store as StoreValue, type SessionData as StoredData, type StoreConstructor } from './Store.js';

/**
 * express-session's `session(options)`, on this library: Express (or Connect, or `node:http`)
 * middleware that gives every request `req.session` with property access, `req.sessionID` and
 * `req.sessionStore`, with signed ids, field-level writes that survive concurrent requests, and
 * the session stored before the response goes out. Cookies express-session issued (`s:<id>.<sig>`,
 * same `secret`, `name` and `store`) keep their sessions, which move to this library's ids.
 *
 * Bad options throw a `SessionError` of kind `invalid-option` naming the option.
 *
 * @example
 * ```ts
 * import session from 'swarmauri-middleware-session/express-session';
 *
 * app.use(session({ secret: process.env.SESSION_SECRET!, resave: false, saveUninitialized: false }));
 * app.get('/', (req, res) => {
 *   req.session.views = (req.session.views ?? 0) + 1;
 *   res.json({ views: req.session.views });
 * });
 * ```
 */
function session(options?: session.SessionOptions): ConnectHandler {
  return createDropin(options);
}

/** express-session's statics and types, under the same names. */
// eslint-disable-next-line @typescript-eslint/no-namespace
declare namespace session {
  /** The options of `session(options)`: express-session's, and a few of this library's. */
  export type SessionOptions = ExpressSessionOptions;
  /** The `cookie` option. */
  export type CookieOptions = ExpressSessionCookieOptions;
  /** A stored session as express-session stores see it: its fields and `cookie`. */
  export type SessionData = StoredData;
  /** An express-session store instance. */
  export type Store = import('./Store.js').Store;
  /** The base of express-session stores (ES class or old-style constructor). */
  export const Store: StoreConstructor;
  /** express-session's memory store, made of this library's bounded `MemoryStore`. */
  export type MemoryStore = MemoryStoreClass;
  /** express-session's memory store, made of this library's bounded `MemoryStore`. */
  export const MemoryStore: typeof MemoryStoreClass;
  /** The class of `req.session`. */
  export type Session = SessionClass;
  /** The class of `req.session`. */
  export const Session: typeof SessionClass;
  /** The class of `req.session.cookie`. */
  export type Cookie = CookieClass;
  /** The class of `req.session.cookie`. */
  export const Cookie: typeof CookieClass;
  /** What a cookie serializes to. */
  export type SerializedCookie = CookieData;
}

Object.defineProperties(session, {
  Store: { value: StoreValue, enumerable: true },
  MemoryStore: { value: MemoryStoreClass, enumerable: true },
  Session: { value: SessionClass, enumerable: true },
  Cookie: { value: CookieClass, enumerable: true },
});

export default session;
/** The same function as the default export (the CommonJS entry re-exports it under this name). */
export { session };
export { StoreValue as Store, MemoryStoreClass as MemoryStore, SessionClass as Session, CookieClass as Cookie };
export type { ExpressSessionOptions, ExpressSessionCookieOptions, ExpressSessionOptions as SessionOptions, ExpressSessionCookieOptions as CookieOptions };
export type { StoredData as SessionData, StoreConstructor, CookieData };
export type { SessionCookie } from './Cookie.js';
export type { SessionCallback, SessionRequest } from './Session.js';
export type { LegacySecret } from './secrets.js';
