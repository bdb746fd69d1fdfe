import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Session } from '../concrete/Session.js';
import type { RequestView, SessionEngine } from '../core/SessionEngine.js';
import { holdResponseUntilCommitted } from './holdResponse.js';
import type { SessionRegistry } from './state.js';

/** Connect/Express `next`: call with an error to reach the error handlers. */
export type ConnectNext = (error?: unknown) => void;

/** A Node request as Express hands it over: `req.res` is its response. */
export type NodeRequest = IncomingMessage & {
  /** The response Express attaches to its request. */
  res?: ServerResponse;
};

/** A Connect-style middleware, usable with Express and plain `node:http`. */
export type ConnectHandler = (req: IncomingMessage, res: ServerResponse, next: ConnectNext) => void;

/** The engine's view of a Node request. */
export function nodeView(req: IncomingMessage): RequestView {
  return {
    header: (name) => {
      const value = req.headers[name];
      return Array.isArray(value) ? value.join(', ') : value;
    },
    encrypted: Boolean((req.socket as { encrypted?: boolean } | null)?.encrypted),
  };
}

/**
 * Runs the session lifecycle around a Node request: opens the session, exposes it on `req`,
 * and holds `res.end` until the session is committed (durability, B5). With a store that works
 * synchronously (`MemoryStore`) the session opens without a promise and `next` runs at once.
 */
export function dispatchNode(
  engine: SessionEngine,
  registry: SessionRegistry,
  req: IncomingMessage,
  res: ServerResponse,
  next: ConnectNext,
): Promise<void> {
  // Mounted twice (app and router): the first mount owns the session.
  if (registry.get(req) !== undefined) {
    next();
    return DONE;
  }
  const view = nodeView(req);
  let opened: Session | null;
  try {
    opened = engine.openNow(view);
  } catch (error) {
    next(error);
    return DONE;
  }
  if (opened !== null) {
    proceed(engine, registry, req, res, next, view, opened);
    return DONE;
  }
  return engine.open(view).then(
    (session) => proceed(engine, registry, req, res, next, view, session),
    (error: unknown) => next(error),
  );
}

const DONE: Promise<void> = Promise.resolve();

function proceed(
  engine: SessionEngine,
  registry: SessionRegistry,
  req: IncomingMessage,
  res: ServerResponse,
  next: ConnectNext,
  view: RequestView,
  session: Session | undefined,
): void {
  registry.attach(req, session);
  if (session) (req as { session?: Session }).session = session;
  holdResponseUntilCommitted(
    res,
    {
      commit: () => engine.commit(session),
      settle: () => session === undefined || session.commitNow(),
      finishLater: () => {
        if (session !== undefined && !session.closeIfIdle()) engine.commit(session).catch(() => undefined);
      },
      headers: () => engine.responseHeaders(session, view),
      headerName: engine.options.header,
      cacheControl: engine.options.cacheControl,
    },
    next,
  );
  next();
}
