import type { ExtendableContext, Next } from 'koa';
import { SessionTurn, type SessionLifecycle } from '../engine/lifecycle.js';
import type { RegisteredSession } from '../engine/registered.js';
import type { RequestView } from '../engine/SessionEngine.js';
import { holdResponseUntilCommitted } from './holdResponse.js';

declare module 'koa' {
  interface DefaultContext {
    /**
     * Set by `sessionMiddleware.koa()`: the request's `Session` (`Session | undefined` once the
     * app registers `onStoreError: 'continue'`, see `SessionTypeRegister`).
     */
    session: RegisteredSession;
  }
  interface DefaultState {
    /**
     * Set by `sessionMiddleware.koa()`: the id of the request's session; follows `regenerate()`.
     * Optional, so that apps that assign `ctx.state = {...}` still compile (the id is then gone).
     */
    readonly sessionId?: string;
  }
}

/**
 * The Koa 3 middleware of `sessionMiddleware.koa()`. Its context parameter is Koa's
 * `ExtendableContext`, which every app's context extends, so it mounts on a `Koa<State, Context>`
 * of any type parameters.
 */
export type KoaSessionMiddleware = (ctx: ExtendableContext, next: Next) => Promise<void>;

/** The engine's view of a Koa request. */
class KoaView implements RequestView {
  readonly #ctx: ExtendableContext;
  constructor(ctx: ExtendableContext) {
    this.#ctx = ctx;
  }
  header(name: string): string | undefined {
    const value = this.#ctx.req.headers[name];
    return Array.isArray(value) ? value.join(', ') : value;
  }
  get encrypted(): boolean {
    return Boolean((this.#ctx.req.socket as { encrypted?: boolean } | null)?.encrypted);
  }
  /** Koa's own answer, `app.proxy` applied; asked only for `secure: 'auto'` when a cookie goes out. */
  get secure(): boolean {
    return this.#ctx.secure;
  }
}

/**
 * Builds the Koa middleware on the lifecycle: the session is opened before `next()`, at
 * `ctx.session`, with its id at `ctx.state.sessionId` (`sessionOf(ctx)` finds it too), and
 * committed after `next()` resolves, before Koa writes the response. A store failure is thrown,
 * so it reaches Koa's error handling as a `SessionError` (`status` 503, `expose` false: Koa
 * answers "Service Unavailable" and shows nothing of the message).
 */
export function koaSession(lifecycle: SessionLifecycle<unknown>): KoaSessionMiddleware {
  return async function session(ctx: ExtendableContext, next: Next): Promise<void> {
    const begun = lifecycle.begin(ctx, new KoaView(ctx));
    // MemoryStore answers synchronously: no extra turn of the event loop for it.
    const turn = begun instanceof SessionTurn ? begun : await begun;
    // Mounted twice (an app and a sub-app): the first mount owns the session and the response.
    if (!turn.owner) return next();
    if (turn.session !== undefined) (ctx as { session?: unknown }).session = turn.session;
    try {
      await next();
    } catch (error) {
      // As koa-session does: what the handler wrote before throwing is kept, and an upstream
      // error handler that renders a page sends the cookie with it. The handler's error wins.
      try {
        await finish(ctx, turn, false);
      } catch {
        // the handler's error is the one to report
      }
      throw error;
    }
    // A failure here is thrown: Koa's error handling answers it (503 for store failures).
    const committing = finish(ctx, turn, true);
    if (committing !== undefined) await committing;
  };
}

/** Commits and adds the session headers, before Koa writes the response; a promise only when that must wait. */
function finish(ctx: ExtendableContext, turn: SessionTurn, answered: boolean): Promise<void> | undefined {
  if (answered && turn.session !== undefined && !ctx.headerSent && producedLater(ctx)) {
    // Koa pipes this body after the middleware returns, and the code producing it may still
    // change the session: as under Express, the response's end waits for the last commit (its
    // last byte too, under a Content-Length), and the headers join its head when it goes out.
    return turn.commit(false).then(() => holdResponseUntilCommitted(ctx.res, turn, (error) => ctx.onerror(error as Error)));
  }
  if (turn.settle()) {
    // Stored already (MemoryStore, or nothing to store): no promise to wait for. The session
    // closes right after, as under Express.
    queueMicrotask(() => turn.finishLater());
    addHeaders(ctx, turn);
    return undefined;
  }
  return turn.commit().then(() => addHeaders(ctx, turn));
}

function addHeaders(ctx: ExtendableContext, turn: SessionTurn): void {
  // `ctx.respond = false` apps may have written the response themselves: too late for headers.
  if (ctx.headerSent) return;
  for (const [name, value] of turn.headers(ctx.response.get('Cache-Control'))) {
    if (name === 'set-cookie') ctx.append('Set-Cookie', value);
    else ctx.set(name, value);
  }
}

/** True when the body is produced after the middleware returns: a stream Koa pipes, or a response the app writes itself. */
function producedLater(ctx: ExtendableContext): boolean {
  if (ctx.respond === false) return true;
  const body = ctx.body as { pipe?: unknown } | null | undefined;
  return typeof body?.pipe === 'function' || body instanceof ReadableStream || body instanceof Response;
}
