import { Transform, pipeline, type Readable } from 'node:stream';
import type { FastifyPluginCallback, FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify';
import { SessionTurn, type SessionLifecycle } from '../engine/lifecycle.js';
import type { RequestView } from '../engine/SessionEngine.js';
import type { RegisteredSession } from '../engine/registered.js';
import type { SessionState } from '../engine/state.js';
import { committingBody } from './web.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the session plugin: the request's `Session` (`undefined` when `onStoreError: 'continue'` served it without one). */
    session: RegisteredSession;
    /** Set by the session plugin: `request.state.sessionId`. */
    state: SessionState;
  }
}

/**
 * The Fastify 5 plugin of `sessionMiddleware.fastify()`: `await app.register(plugin)`. Like a
 * `fastify-plugin` plugin it is not encapsulated: its hooks serve every route registered after it
 * in the instance it is registered in (at the root: the whole app).
 */
export type FastifySessionPlugin = FastifyPluginCallback;

const NAME = 'swarmauri-middleware-session';
type Slots = Record<symbol, SessionTurn | null>;

/** Builds the Fastify plugin on the lifecycle: `onRequest` opens the session, `onSend` stores it and adds the headers. */
export function fastifySession(lifecycle: SessionLifecycle<unknown>): FastifySessionPlugin {
  // Where this plugin keeps the request's turn until onSend; null once the headers went out.
  const TURN = Symbol('session turn');

  // Hooks either finish at once through `done` (MemoryStore: no promise per request) or return
  // a promise, which Fastify awaits and whose failure it hands to the error handler.
  function onRequest(request: FastifyRequest, _reply: FastifyReply, done: HookHandlerDoneFunction): Promise<void> | void {
    const begun = lifecycle.begin(request, new FastifyView(request));
    if (!(begun instanceof SessionTurn)) return begun.then((turn) => start(request, turn));
    start(request, begun);
    done();
  }
  function start(request: FastifyRequest, turn: SessionTurn): void {
    // Registered twice for one request (root and a child, say): the first registration owns it.
    if (!turn.owner) return;
    request.session = turn.session as RegisteredSession;
    (request as unknown as Slots)[TURN] = turn;
  }

  function onSend(request: FastifyRequest, reply: FastifyReply, payload: unknown, done: (error: Error | null, payload?: unknown) => void): Promise<unknown> | void {
    const turn = (request as unknown as Slots)[TURN];
    // Not ours, or the error reply that follows a failed commit (Fastify runs onSend again for
    // it): nothing to store, no cookie, no second commit.
    if (!turn) return done(null, payload);
    (request as unknown as Slots)[TURN] = null;
    // A streamed body may still change the session: it is stored again, finally, when it ends.
    const streams = isStream(payload instanceof Response ? payload.body : payload);
    if (!turn.settle()) return turn.commit(!streams).then(() => send(turn, reply, payload, streams), (error: unknown) => discard(payload, error));
    done(null, send(turn, reply, payload, streams));
    // Stored already: close the session after this tick (a change made meanwhile is still stored).
    if (!streams) queueMicrotask(() => turn.finishLater());
  }

  const plugin: FastifySessionPlugin = (app, _options, done) => {
    // Decorated up front, so every request object has the same shape (Fastify's advice).
    if (!app.hasRequestDecorator('session')) app.decorateRequest('session', undefined as never);
    if (!app.hasRequestDecorator('state')) app.decorateRequest('state', null as never);
    app.decorateRequest(TURN, null as never);
    app.addHook('onRequest', onRequest);
    app.addHook('onSend', onSend);
    done();
  };
  // What fastify-plugin would set: no encapsulation, a readable name, and the Fastify major it needs.
  return Object.assign(plugin, {
    [Symbol.for('skip-override')]: true,
    [Symbol.for('fastify.display-name')]: NAME,
    [Symbol.for('plugin-meta')]: { name: NAME, fastify: '5.x' },
  });
}

/** Adds the session headers as the reply goes out; a streamed body gets its final commit at its end. */
function send(turn: SessionTurn, reply: FastifyReply, payload: unknown, streams: boolean): unknown {
  const body = unwrap(reply, payload);
  for (const [name, value] of turn.headers(reply.getHeader('cache-control'))) {
    if (name === 'set-cookie') appendCookie(reply, value);
    else reply.header(name, value);
  }
  if (!streams) return body;
  const commit = (): Promise<void> => turn.commit(true);
  const stream = body as Readable | ReadableStream<Uint8Array>;
  return 'pipe' in stream ? committingStream(stream, commit) : committingBody(stream, undefined, commit);
}

/**
 * Adds our cookie to the app's. Fastify's own headers replace those set on `reply.raw` when it
 * writes the head, so a cookie set there is carried over (as @fastify/cookie does).
 */
function appendCookie(reply: FastifyReply, cookie: string): void {
  const current = reply.getHeader('set-cookie');
  if (current === undefined) return void reply.header('set-cookie', cookie);
  reply.removeHeader('set-cookie');
  reply.header('set-cookie', [...(Array.isArray(current) ? current : [String(current)]), cookie]);
}

/**
 * A `Response` payload unwrapped onto the reply (status, headers; its body becomes the payload), as
 * Fastify itself would after the onSend hooks: its headers then come before ours, not after.
 */
function unwrap(reply: FastifyReply, payload: unknown): unknown {
  if (!(payload instanceof Response)) return payload;
  reply.code(payload.status);
  for (const [name, value] of payload.headers) reply.header(name, value);
  return payload.body;
}

function isStream(body: unknown): boolean {
  const candidate = body as { pipe?: unknown; getReader?: unknown } | null | undefined;
  return typeof candidate?.pipe === 'function' || typeof candidate?.getReader === 'function';
}

/** The commit failed: a stream the error reply replaces is closed (a file's descriptor, say), and the error goes on. */
function discard(payload: unknown, error: unknown): never {
  const body = (payload instanceof Response ? payload.body : payload) as { destroy?: () => void; cancel?: () => Promise<void> } | null;
  if (typeof body?.destroy === 'function') body.destroy();
  else if (typeof body?.cancel === 'function') body.cancel().catch(() => undefined);
  throw error;
}

/**
 * `source` passed through, `commit` run before its end goes out (under chunked encoding the client
 * sees the body complete only then). A failed commit errors the stream: Fastify cuts the response.
 * The client left or the source failed: what the handler wrote is still stored (a second commit
 * of a closed session does nothing).
 */
function committingStream(source: Readable, commit: () => Promise<void>): Readable {
  const tail = new Transform({
    transform: (chunk, _encoding, callback) => callback(null, chunk),
    flush: (callback) => void commit().then(() => callback(), callback),
  });
  pipeline(source, tail, (error) => void (error && commit().catch(() => undefined)));
  return tail;
}

/** The engine's view of a Fastify request; `secure` is Fastify's `request.protocol`, which honours `trustProxy`. */
class FastifyView implements RequestView {
  constructor(readonly request: FastifyRequest) {}
  header(name: string): string | undefined {
    const value = this.request.headers[name];
    return Array.isArray(value) ? value.join(', ') : value;
  }
  get encrypted(): boolean {
    return Boolean((this.request.raw.socket as { encrypted?: boolean } | null)?.encrypted);
  }
  get secure(): boolean {
    return this.request.protocol === 'https';
  }
  get method(): string {
    return this.request.method;
  }
  /** For `ignoreActivity`: the pathname without the query. */
  get path(): string {
    const url = this.request.url;
    const query = url.indexOf('?');
    return query === -1 ? url : url.slice(0, query);
  }
}
