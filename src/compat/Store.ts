import { EventEmitter } from 'node:events';
import { inherits } from 'node:util';
import { Cookie, type SessionCookie } from './Cookie.js';
import { Session, isLiveSession, type SessionRequest } from './Session.js';

/**
 * A stored session as express-session stores hand it around: the application's fields, with its
 * `cookie`. Declare the fields as with express-session, by augmenting this interface (or keep
 * augmenting express-session's, whose types then type `req.session`).
 */
export interface SessionData {
  /** The session cookie's settings and expiry. */
  cookie: SessionCookie;
}

/** The callback of an express-session store call. */
export type StoreCallback<T = unknown> = (err?: unknown, result?: T) => void;

/**
 * express-session's `Store` (`session.Store`): the base of the ~60 published session stores.
 * Subclasses implement `get`, `set` and `destroy` (and may add `all`, `length`, `clear`,
 * `touch`); the base adds `regenerate`, `load` and `createSession` as express-session's does.
 * Pass an instance as the `store` option: the middleware wraps it in an
 * `ExpressSessionStoreAdapter`.
 */
export interface Store extends EventEmitter {
  /**
   * Calls back with the session stored under `sid`, or nothing. Sessions handed to callbacks are
   * typed `any`, as the application's own session type (an app's augmented express-session
   * `SessionData` has fields no store can promise).
   */
  get(sid: string, callback: (err: any, session?: any) => void): void;
  /** Stores `session` under `sid`. */
  set(sid: string, session: SessionData, callback?: (err?: any) => void): void;
  /** Removes `sid`. */
  destroy(sid: string, callback?: (err?: any) => void): void;
  /** Optional: every session, as an object keyed by id or a list. */
  all?(callback: (err: any, obj?: any) => void): void;
  /** Optional: how many sessions there are. */
  length?(callback: (err: any, length?: number) => void): void;
  /** Optional: removes every session. */
  clear?(callback?: (err?: any) => void): void;
  /** Optional: refreshes the expiry of `sid`. */
  touch?(sid: string, session: SessionData, callback?: () => void): void;
  /** Gives the request a new, empty session (`req.session.regenerate(callback)` does the same). */
  regenerate(req: SessionRequest, callback: (err?: any) => any): void;
  /** Calls back with the stored session of `sid` as a `Session`, or nothing (typed loosely, as the app's own session type). */
  load(sid: string, callback: (err: any, session?: any) => any): void;
  /** A `Session` of `data` for `req` (set as `req.session`, as express-session does). */
  createSession(req: SessionRequest, data: SessionData): any;
}

/**
 * The type of {@link Store}: an ES base class (`class MyStore extends session.Store`) that is
 * also an old-style constructor (`session.Store.call(this)` with `util.inherits`), as the
 * published stores are written both ways. It carries `EventEmitter`'s statics, as
 * express-session's does.
 */
export interface StoreConstructor extends Omit<typeof EventEmitter, 'prototype'> {
  /** `new MyStore()` through `class MyStore extends session.Store`. */
  new (options?: unknown): Store;
  /** Old style: `function MyStore(options) { session.Store.call(this, options); }`. */
  (this: object, options?: unknown): void;
  /** The shared methods. */
  readonly prototype: Store;
}

/**
 * The base of express-session stores: `class X extends session.Store` and
 * `session.Store.call(this)` + `util.inherits(X, session.Store)` both work.
 *
 * @example
 * ```ts
 * class MapStore extends session.Store {
 *   sessions = new Map<string, string>();
 *   get(sid, cb) { const s = this.sessions.get(sid); cb(null, s ? JSON.parse(s) : null); }
 *   set(sid, sess, cb) { this.sessions.set(sid, JSON.stringify(sess)); cb?.(); }
 *   destroy(sid, cb) { this.sessions.delete(sid); cb?.(); }
 * }
 * app.use(session({ secret, store: new MapStore() }));
 * ```
 */
export const Store = function Store(this: EventEmitter) {
  // A plain function, not a class: old-style stores call it without `new`.
  (EventEmitter as unknown as (this: EventEmitter) => void).call(this);
} as unknown as StoreConstructor;
inherits(Store as unknown as new () => Store, EventEmitter);
// `class X extends Store` then also inherits EventEmitter's statics, as with express-session.
Object.setPrototypeOf(Store, EventEmitter);

Store.prototype.regenerate = function regenerate(this: Store, req: SessionRequest, callback: (err?: unknown) => unknown): void {
  // A request the drop-in serves: its session does it (new id, empty data, old one destroyed).
  if (isLiveSession(req.session)) {
    req.session.regenerate(callback);
    return;
  }
  // express-session's algorithm, for a request it would have served.
  this.destroy(String(req.sessionID), (err) => {
    req.session = new Session(req);
    req.session.cookie = new Cookie();
    callback(err);
  });
};

Store.prototype.load = function load(this: Store, sid: string, callback: (err: unknown, session?: SessionData) => unknown): void {
  this.get(sid, (err, data) => {
    if (err) return callback(err);
    if (!data) return callback(undefined);
    callback(null, this.createSession({ sessionID: sid, sessionStore: this }, data));
  });
};

Store.prototype.createSession = function createSession(this: Store, req: SessionRequest, data: SessionData): Session {
  const stored = data.cookie as SessionCookie | undefined;
  const expires = stored?.expires as unknown;
  const originalMaxAge = stored?.originalMaxAge;
  const cookie = new Cookie(typeof expires === 'string' ? { ...stored, expires: new Date(expires) } : stored);
  // The stored lifetime, not the one measured from `expires` now.
  if (originalMaxAge !== undefined) cookie.originalMaxAge = originalMaxAge;
  const session = new Session(req, { ...data, cookie });
  req.session = session;
  return session;
};
