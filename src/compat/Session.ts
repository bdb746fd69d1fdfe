import type { Cookie } from './Cookie.js';
import type { Store } from './Store.js';

/** An express-session callback: called once, with the error if there was one. */
export type SessionCallback = (err?: any) => void;

/** The request as express-session's `Session` sees it (an Express request, or any object with these). */
export interface SessionRequest {
  /** The request's session. */
  session?: any;
  /** The id of the request's session. */
  sessionID?: string;
  /** The store the session middleware uses. */
  sessionStore?: Store;
}

/** What the methods of a live `req.session` call: the request's session host (the drop-in's own, not exported by the package). */
export interface SessionHost {
  regenerate(view: Session, callback: SessionCallback | undefined): void;
  destroy(view: Session, callback: SessionCallback | undefined): void;
  reload(view: Session, callback: SessionCallback | undefined): void;
  save(view: Session, callback: SessionCallback | undefined): void;
  touch(view: Session): void;
}

/** Where a live view keeps its host (a symbol, so it is no session field; the drop-in's own). */
export const HOST: unique symbol = Symbol('swarmauri-middleware-session/express-session host');

function hostOf(session: Session): SessionHost | undefined {
  return (session as unknown as Record<symbol, SessionHost | undefined>)[HOST];
}

/** True for a `req.session` this drop-in serves (not one made with `new Session(...)`). */
export function isLiveSession(value: unknown): value is Session {
  return value instanceof Session && hostOf(value) !== undefined;
}

const noop = (): void => undefined;

/**
 * express-session's `Session` (`session.Session`): the class of `req.session`. Fields are read,
 * written and deleted as properties (`req.session.userId = 42`, `delete req.session.cart`,
 * `req.session.passport.user = id`); underneath, each request's session is this library's
 * `Session`, so writes are stored field by field, before the response, and concurrent requests
 * do not overwrite each other's fields. The methods take express-session's callbacks and call
 * them exactly once.
 *
 * `new Session(req, data)` (what a store's `createSession` makes) is a detached object, as in
 * express-session: its methods use `req.sessionStore` directly.
 *
 * @example
 * ```ts
 * req.session.regenerate((err) => {
 *   if (err) return next(err);
 *   req.session.userId = user.id;
 *   req.session.save((err) => (err ? next(err) : res.redirect('/')));
 * });
 * ```
 */
export class Session {
  /** The application's fields. */
  [field: string]: unknown;
  /** The session id (`req.sessionID`). */
  declare readonly id: string;
  /** The session cookie: `maxAge` (ms left), `expires`, `originalMaxAge`. */
  declare cookie: Cookie;
  /** The request this session belongs to. */
  declare readonly req: SessionRequest;

  /** As express-session's: a session of `req` (its `sessionID`) with the fields of `data`. */
  constructor(req: SessionRequest, data?: object) {
    Object.defineProperty(this, 'req', { value: req });
    Object.defineProperty(this, 'id', { value: req.sessionID });
    if (typeof data === 'object' && data !== null) {
      for (const field in data) if (!(field in this)) this[field] = (data as Record<string, unknown>)[field];
    }
  }

  /** Replaces the session with a new, empty one under a new id (the old id is destroyed); then `callback(err)`. */
  regenerate(callback: SessionCallback): this {
    const host = hostOf(this);
    if (host) host.regenerate(this, callback);
    else this.req.sessionStore!.regenerate(this.req, callback);
    return this;
  }

  /** Destroys the session (`req.session` becomes `undefined`); then `callback(err)`. */
  destroy(callback?: SessionCallback): this {
    const host = hostOf(this);
    if (host) {
      host.destroy(this, callback);
    } else {
      delete this.req.session;
      this.req.sessionStore!.destroy(this.id, callback);
    }
    return this;
  }

  /** Re-reads the session from the store, dropping unsaved changes; then `callback(err)`. */
  reload(callback: SessionCallback): this {
    const host = hostOf(this);
    if (host) {
      host.reload(this, callback);
      return this;
    }
    const { req } = this;
    const store = req.sessionStore!;
    store.get(this.id, (err, data) => {
      if (err) return callback(err);
      if (!data) return callback(new Error('failed to load session'));
      store.createSession(req, data);
      callback();
    });
    return this;
  }

  /** Stores the session now (it is stored before the response anyway); then `callback(err)`. */
  save(callback?: SessionCallback): this {
    const host = hostOf(this);
    if (host) host.save(this, callback);
    else this.req.sessionStore!.set(this.id, this as never, callback ?? noop);
    return this;
  }

  /** Refreshes the session's expiry. */
  touch(): this {
    return this.resetMaxAge();
  }

  /** Refreshes the session's expiry (express-session: resets `cookie.maxAge` to `cookie.originalMaxAge`). */
  resetMaxAge(): this {
    const host = hostOf(this);
    if (host) host.touch(this);
    else if (this.cookie) this.cookie.maxAge = this.cookie.originalMaxAge;
    return this;
  }
}
