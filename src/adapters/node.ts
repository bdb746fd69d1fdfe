import type { IncomingMessage, ServerResponse } from 'node:http';
import { SessionTurn, type SessionLifecycle } from '../engine/lifecycle.js';
import type { RequestView } from '../engine/SessionEngine.js';
import { holdResponseUntilCommitted } from './holdResponse.js';

/** Connect/Express `next`: call with an error to reach the error handlers. */
export type ConnectNext = (error?: unknown) => void;

/** A Node request as Express hands it over: `req.res` is its response. */
export type NodeRequest = IncomingMessage & {
  /** The response Express attaches to its request. */
  res?: ServerResponse;
};

/** A Connect-style middleware, usable with Express and plain `node:http`. */
export type ConnectHandler = (req: IncomingMessage, res: ServerResponse, next: ConnectNext) => void;

/**
 * The engine's view of a Node request. Under Express, `req.secure` (which honours the app's
 * `trust proxy` setting) decides whether the request is HTTPS; on plain `node:http` the socket
 * and, with the `trustProxy` option, `X-Forwarded-Proto` do.
 */
export function nodeView(req: IncomingMessage): RequestView {
  const express = typeof (req as { app?: { get?: unknown } }).app?.get === 'function' && 'secure' in req;
  return express ? new ExpressView(req) : new NodeView(req);
}

class NodeView implements RequestView {
  readonly #req: IncomingMessage;
  constructor(req: IncomingMessage) {
    this.#req = req;
  }
  header(name: string): string | undefined {
    const value = this.#req.headers[name];
    return Array.isArray(value) ? value.join(', ') : value;
  }
  get encrypted(): boolean {
    return Boolean((this.#req.socket as { encrypted?: boolean } | null)?.encrypted);
  }
  get method(): string {
    return this.#req.method ?? 'GET';
  }
  /** The pathname, as the app saw it (Express's `originalUrl`: a router mount does not cut it). */
  get path(): string {
    const url = (this.#req as { originalUrl?: string }).originalUrl ?? this.#req.url ?? '/';
    const query = url.indexOf('?');
    return query === -1 ? url : url.slice(0, query);
  }
}

class ExpressView extends NodeView {
  readonly #req: IncomingMessage;
  constructor(req: IncomingMessage) {
    super(req);
    this.#req = req;
  }
  /** Asked only when `secure: 'auto'` and a cookie goes out. */
  get secure(): boolean {
    return Boolean((this.#req as { secure?: unknown }).secure);
  }
}

/**
 * Runs the session lifecycle around a Node request: opens the session, exposes it on `req`,
 * and holds `res.end` until the session is committed (durability, B5). With a store that works
 * synchronously (`MemoryStore`) the session opens without a promise and `next` runs at once.
 */
export function dispatchNode(lifecycle: SessionLifecycle<unknown>, req: IncomingMessage, res: ServerResponse, next: ConnectNext): Promise<void> {
  let begun: SessionTurn | Promise<SessionTurn>;
  try {
    begun = lifecycle.begin(req, nodeView(req));
  } catch (error) {
    next(error);
    return DONE;
  }
  if (begun instanceof SessionTurn) {
    proceed(req, res, next, begun);
    return DONE;
  }
  return begun.then(
    (turn) => proceed(req, res, next, turn),
    (error: unknown) => next(error),
  );
}

const DONE: Promise<void> = Promise.resolve();

function proceed(req: IncomingMessage, res: ServerResponse, next: ConnectNext, turn: SessionTurn): void {
  // Mounted twice (app and router): the first mount owns the session and the response.
  if (!turn.owner) {
    next();
    return;
  }
  if (turn.session) (req as { session?: unknown }).session = turn.session;
  holdResponseUntilCommitted(res, turn, next);
  next();
}
