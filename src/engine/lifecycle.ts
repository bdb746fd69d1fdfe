import { privateCacheControl } from '../core/cacheControl.js';
import type { EngineSession } from './runtime.js';
import type { RequestView, SessionEngine, SessionResponseHeaders } from './SessionEngine.js';
import type { SessionRegistry } from './state.js';

/**
 * A response header for the session: `[name, value]`, the name in lower case. Append
 * `set-cookie` (the app may set cookies of its own); set (replace) the others.
 */
export type SessionHeader = readonly [name: string, value: string];

/** The `Clear-Site-Data` value of a destroy with the `clearSiteData` option. */
export const CLEAR_COOKIES = '"cookies"';

/**
 * One request's run of the session lifecycle, from {@link SessionLifecycle.begin}: the session,
 * then {@link SessionTurn.commit} once the handler is done, then {@link SessionTurn.headers} as
 * the response headers go out.
 *
 * @typeParam S - the session type (`Session` for the middleware's lifecycle).
 */
export class SessionTurn<S = unknown> {
  /** The request's session; `undefined` when `onStoreError: 'continue'` served it without one. */
  readonly session: S | undefined;
  /**
   * False when another mount of the same middleware already runs this request (an app and a
   * router that both mount it): this turn does nothing, the outer one commits and sends headers.
   */
  readonly owner: boolean;
  readonly #engine: SessionEngine;
  readonly #view: RequestView;
  #headersSent = false;

  /** @internal Made by {@link SessionLifecycle.begin}. */
  constructor(engine: SessionEngine, view: RequestView, session: EngineSession | undefined, owner: boolean) {
    this.#engine = engine;
    this.#view = view;
    this.session = session as S | undefined;
    this.owner = owner;
  }

  /**
   * Stores the session's changes (and a due TTL refresh). Await it before the response is
   * sent: the write is then durable before the client sees the reply. With `final` (the
   * default), later changes are refused with `session-closed`; pass `false` for an early
   * commit while a body is still being produced, and commit again at its end. Rejects with a
   * `SessionError` when the store fails (unless `onStoreError: 'continue'`).
   */
  commit(final = true): Promise<void> {
    if (!this.owner) return Promise.resolve();
    return this.#engine.commit(this.session as EngineSession | undefined, final);
  }

  /**
   * The headers to add to the response, for the session as it stands now: the id header, the
   * session cookie (only when the client's copy must change), and `cache-control` when the
   * response carries the id and would otherwise be cacheable by a shared cache.
   * `cacheControl` is the response's current `Cache-Control` value, if any. Call it once, as
   * the headers go out: from then on the cookie the client holds is known.
   */
  headers(cacheControl?: string | number | readonly string[]): SessionHeader[] {
    const { sessionId, setCookie, clearSiteData } = this.sessionHeaders();
    const engine = this.#engine;
    const out: SessionHeader[] = [];
    const name = engine.options.header;
    if (sessionId !== undefined && name !== false) out.push([name.toLowerCase(), sessionId]);
    if (setCookie !== undefined) out.push(['set-cookie', setCookie]);
    if (clearSiteData) out.push(['clear-site-data', CLEAR_COOKIES]);
    if (out.length > 0 && engine.options.cacheControl) {
      const value = privateCacheControl(cacheControl);
      if (value !== undefined) out.push(['cache-control', value]);
    }
    return out;
  }

  /**
   * @internal Stores the session now if that needs no waiting (nothing to write, or a store that
   * works synchronously); true then, and the response need not be held.
   */
  settle(): boolean {
    const session = this.session as EngineSession | undefined;
    return !this.owner || session === undefined || session.commitNow();
  }

  /** @internal After a response that was not held: the last commit, closing the session. */
  finishLater(): void {
    const session = this.session as EngineSession | undefined;
    if (this.owner && session !== undefined && !session.closeIfIdle()) this.#engine.commit(session).catch(() => undefined);
  }

  /** @internal {@link SessionTurn.headers} before it becomes name/value pairs, for the Node adapter's writeHead. */
  sessionHeaders(): SessionResponseHeaders {
    if (!this.owner || this.#headersSent) return { sessionId: undefined, setCookie: undefined };
    this.#headersSent = true;
    return this.#engine.responseHeaders(this.session as EngineSession | undefined, this.#view);
  }

  /** @internal The id header's name, or `false`. */
  get headerName(): string | false {
    return this.#engine.options.header;
  }

  /** @internal Keep responses that carry the id out of shared caches. */
  get cacheControl(): boolean {
    return this.#engine.options.cacheControl;
  }
}

/**
 * The framework-free request lifecycle of a {@link SessionMiddleware}: what every adapter
 * (Express, node:http, Web, Fastify, Koa, Hono) is written on, and what an adapter for another
 * framework uses. Get it as `sessionMiddleware.lifecycle`.
 *
 * @example
 * ```ts
 * const { lifecycle } = sessionMiddleware;
 * // when the request arrives
 * const turn = await lifecycle.begin(request, {
 *   header: (name) => request.headers[name],   // lower-case name; repeated ones joined by ", "
 *   encrypted: false,                          // reached this process over TLS
 *   secure: request.protocol === 'https',      // optional: the framework's trust-proxy answer
 * });
 * request.session = turn.session;
 * // ...the handler runs...
 * await turn.commit();                          // before the response is sent
 * for (const [name, value] of turn.headers(reply.getHeader('cache-control'))) {
 *   if (name === 'set-cookie') reply.appendHeader(name, value); else reply.setHeader(name, value);
 * }
 * ```
 */
export class SessionLifecycle<S = unknown> {
  readonly #engine: SessionEngine;
  readonly #registry: SessionRegistry;

  /** @internal Made by the middleware. */
  constructor(engine: SessionEngine, registry: SessionRegistry) {
    this.#engine = engine;
    this.#registry = registry;
  }

  /**
   * Recognises the presented id (or issues one), opens the session and registers it on
   * `request` (any object that stands for the request: `sessionOf(request)` then finds the
   * session, and `request.state.sessionId` holds its id). A request that this middleware
   * already began gets a passive turn (`owner: false`).
   *
   * Returns the turn directly when the store answers synchronously (`MemoryStore`), a promise
   * otherwise: `await` it either way. Rejects with a `SessionError` when the store fails
   * (unless `onStoreError: 'continue'`, which yields a turn without a session).
   */
  begin(request: object, view: RequestView): SessionTurn<S> | Promise<SessionTurn<S>> {
    const engine = this.#engine;
    const owned = this.#registry.get(request);
    if (owned !== undefined) return new SessionTurn<S>(engine, view, owned, false);
    let opened: EngineSession | null;
    try {
      opened = engine.openNow(view);
    } catch (error) {
      return Promise.reject(error);
    }
    if (opened !== null) return this.#started(request, view, opened);
    return engine.open(view).then((session) => this.#started(request, view, session));
  }

  /** @internal The session registered on `request`, if any (`SessionMiddleware.sessionOf` types it). */
  sessionOf(request: object): unknown {
    return this.#registry.get(request);
  }

  #started(request: object, view: RequestView, session: EngineSession | undefined): SessionTurn<S> {
    this.#registry.attach(request, session);
    return new SessionTurn<S>(this.#engine, view, session, true);
  }
}
