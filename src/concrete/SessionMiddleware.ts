import { inject, injectable, optional } from 'inversify';
import { MiddlewareBase } from '../abstract/MiddlewareBase.js';
import { ADD_ID_CHECK, type SessionStore } from '../abstract/SessionStore.js';
import { dispatchNode, type ConnectHandler, type ConnectNext, type NodeRequest } from '../adapters/node.js';
import { SessionRegistry } from '../engine/state.js';
import { SessionLifecycle } from '../engine/lifecycle.js';
import { dispatchWeb, isWebRequest, type WebNext } from '../adapters/web.js';
import { fastifySession, type FastifySessionPlugin } from '../adapters/fastify.js';
import { koaSession, type KoaSessionMiddleware } from '../adapters/koa.js';
import { honoSession, type HonoSessionMiddleware } from '../adapters/hono.js';
import { resolveOptions, type SessionMiddlewareOptions } from '../engine/options.js';
import { SessionEngine } from '../engine/SessionEngine.js';
import { revoke, revokeAll, sessionsOf, type UserSession } from '../engine/users.js';
import { checkUserId } from '../abstract/userIndex.js';
import { TYPES } from '../abstract/TYPES.js';
import { MemoryStore } from '../stores/MemoryStore.js';
import type { SessionData } from '../core/json.js';
import { createSession, type Session } from './Session.js';
import { SessionError } from '../core/SessionError.js';

let warnedNoSecret = false;

/**
 * Session middleware: the TypeScript `SessionMiddleware` of `swarmauri_middleware_session`,
 * with signed ids, lazy field-level storage, expiry in the store and hardened cookies.
 *
 * @example
 * ```ts
 * const sessionMiddleware = new SessionMiddleware();
 * app.use((req, res, next) => sessionMiddleware.dispatch(req, next));   // Express
 * const response = await sessionMiddleware.dispatch(request, handler);  // Web Request
 * ```
 */
@injectable()
export class SessionMiddleware extends MiddlewareBase<Request | NodeRequest, WebNext | ConnectNext, Response | void> {
  /** The store sessions live in. */
  readonly sessionStorage: SessionStore;
  /** Header carrying the id, or `false`. */
  readonly sessionHeader: string | false;
  /** Cookie carrying the id, or `false`. */
  readonly sessionCookie: string | false;
  /** Idle timeout in seconds. */
  readonly maxAge: number;
  /**
   * The framework-free request lifecycle every adapter is written on: begin, commit, headers.
   * Use it to serve a framework that has no adapter here (see `docs/frameworks.md`).
   */
  readonly lifecycle: SessionLifecycle<Session>;
  readonly #engine: SessionEngine;

  /**
   * @param options - see {@link SessionMiddlewareOptions}; all optional.
   * @param sessionStorage - the injected store (`TYPES.SessionStore`); `options.sessionStorage` wins.
   * @throws {@link SessionError} of kind `invalid-option` naming the bad option.
   */
  constructor(
    @inject(TYPES.SessionOptions) @optional() options: SessionMiddlewareOptions = {},
    @inject(TYPES.SessionStore) @optional() sessionStorage?: SessionStore,
  ) {
    super();
    const resolved = resolveOptions(options ?? {});
    const store = options?.sessionStorage ?? sessionStorage ?? new MemoryStore();
    if (typeof store?.load !== 'function' || typeof store.patch !== 'function') {
      throw SessionError.invalidOption('sessionStorage', 'a SessionStore', store);
    }
    store.defaultTtlSeconds = resolved.maxAge;
    store.hashIds = resolved.hashIds;
    this.sessionStorage = store;
    this.sessionHeader = resolved.header;
    this.sessionCookie = resolved.cookieName;
    this.maxAge = resolved.maxAge;
    this.#engine = new SessionEngine(resolved, store, createSession);
    this.lifecycle = new SessionLifecycle<Session>(this.#engine, new SessionRegistry());
    // With hashed ids the store refuses ids this middleware would not accept (see ID_CHECKS).
    const engine = this.#engine;
    if (typeof store[ADD_ID_CHECK] === 'function') store[ADD_ID_CHECK]((id) => engine.acceptsId(id));
    if (resolved.generatedSecret) this.#warnNoSecret();
  }

  /** Web standard: resolves the handler's `Response` with the session id attached. */
  dispatch(request: Request, next: WebNext): Promise<Response>;
  /** Express/Connect: `app.use((req, res, next) => sessionMiddleware.dispatch(req, next))`. */
  dispatch(request: NodeRequest, next: ConnectNext): Promise<void>;
  dispatch(request: Request | NodeRequest, next: WebNext | ConnectNext): Promise<Response | void> {
    if (isWebRequest(request)) return dispatchWeb(this.lifecycle, request, next as WebNext);
    const res = (request as NodeRequest | undefined)?.res;
    if (!res) {
      return Promise.reject(
        new SessionError('unsupported-request', 'dispatch needs a Web Request or an Express request (with req.res); use .express() for plain node:http'),
      );
    }
    return dispatchNode(this.lifecycle, request as NodeRequest, res, next as ConnectNext);
  }

  /**
   * A Connect-style `(req, res, next)` handler for Express and plain `node:http`.
   *
   * @example
   * ```ts
   * app.use(sessionMiddleware.express());
   * // node:http
   * const handle = sessionMiddleware.express();
   * http.createServer((req, res) => handle(req, res, (err) => (err ? fail(res) : route(req, res))));
   * ```
   */
  express(): ConnectHandler {
    return (req, res, next) => {
      void dispatchNode(this.lifecycle, req, res, next);
    };
  }

  /**
   * A Fastify 5 plugin: `await app.register(sessionMiddleware.fastify())`. See `docs/frameworks.md`.
   */
  fastify(): FastifySessionPlugin {
    return fastifySession(this.lifecycle);
  }

  /** Koa 3 middleware: `app.use(sessionMiddleware.koa())`; `ctx.session`, `ctx.state.sessionId`. */
  koa(): KoaSessionMiddleware {
    return koaSession(this.lifecycle);
  }

  /** Hono 4 middleware: `app.use(sessionMiddleware.hono())`; `c.get('session')`. */
  hono(): HonoSessionMiddleware {
    return honoSession(this.lifecycle);
  }

  /**
   * The live sessions of `userId` (logged in with `session.login`), newest login first: what a
   * "your devices" page shows. Every instance sharing the store lists the same sessions.
   * Rejects with `unsupported` on a store without a user index.
   */
  sessionsOf(userId: string): Promise<UserSession[]> {
    return this.#users(userId, () => sessionsOf(this.#engine, userId));
  }

  /** Ends the user's session named `handle` (from {@link SessionMiddleware.sessionsOf}). */
  revoke(userId: string, handle: string): Promise<void> {
    return this.#users(userId, () => revoke(this.#engine, userId, handle));
  }

  /**
   * Ends every session of `userId`, or all but `except` (a handle: "log out my other devices").
   * Once it resolves, a request presenting any of them is served as a new anonymous session,
   * on every instance sharing the store, even for a session the user's list missed.
   */
  revokeAll(userId: string, options: { except?: string } = {}): Promise<void> {
    return this.#users(userId, () => revokeAll(this.#engine, userId, options?.except));
  }

  #users<T>(userId: string, run: () => Promise<T>): Promise<T> {
    try {
      checkUserId(userId);
      return run();
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * The session of a request this middleware handled (Express req, Web `Request`, ...), typed
   * with your data: `sessionOf<{ visits: number }>(request)`.
   */
  sessionOf<T extends object = SessionData>(request: object): Session<T> | undefined {
    return this.lifecycle.sessionOf(request) as Session<T> | undefined;
  }

  #warnNoSecret(): void {
    this.#engine.log.emit('no-secret', undefined);
    if (warnedNoSecret || this.#engine.options.logger) return;
    warnedNoSecret = true;
    process.emitWarning(
      'SessionMiddleware has no `secret`: ids are signed with a random per-process key, so sessions end when the process restarts and are not shared between instances. Set `secret` in production.',
      { code: 'SWARMAURI_SESSION_NO_SECRET' },
    );
  }
}
