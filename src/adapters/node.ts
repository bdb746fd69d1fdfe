import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Session } from '../concrete/Session.js';
import type { RequestView, SessionEngine } from '../core/SessionEngine.js';
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
 * and holds `res.end` until the session is committed (durability, B5).
 */
export async function dispatchNode(
  engine: SessionEngine,
  registry: SessionRegistry,
  req: IncomingMessage,
  res: ServerResponse,
  next: ConnectNext,
): Promise<void> {
  const view = nodeView(req);
  let session: Session | undefined;
  try {
    session = await engine.open(view);
  } catch (error) {
    next(error);
    return;
  }
  registry.attach(req, session);
  if (session) (req as { session?: Session }).session = session;
  holdEndUntilCommitted(res, engine, session, view, next);
  next();
}

/**
 * The one place that delays the response: `writeHead` gains the id header and cookie, and `end`
 * waits for the store write. If the write fails before headers went out the error goes to
 * `next`; after, the connection is cut so the client never takes a partial answer for success.
 */
function holdEndUntilCommitted(res: ServerResponse, engine: SessionEngine, session: Session | undefined, view: RequestView, next: ConnectNext): void {
  const { writeHead, end } = res;
  let headersAdded = false;
  let ending = false;
  const addHeaders = (writeHeadArgs?: unknown[]): void => {
    if (headersAdded || res.headersSent) return;
    headersAdded = true;
    const headers = engine.responseHeaders(session, view);
    const headerName = engine.options.header;
    if (headerName !== false && headers.sessionId !== undefined) res.setHeader(headerName, headers.sessionId);
    if (headers.setCookie !== undefined && !appendToWriteHeadCookies(writeHeadArgs, headers.setCookie)) appendSetCookie(res, headers.setCookie);
  };
  res.writeHead = function (this: ServerResponse, ...args: unknown[]) {
    addHeaders(args);
    return (writeHead as (...a: unknown[]) => ServerResponse).apply(this, args);
  } as ServerResponse['writeHead'];
  res.end = function (this: ServerResponse, ...args: unknown[]) {
    if (ending) return (end as (...a: unknown[]) => ServerResponse).apply(this, args);
    ending = true;
    engine.commit(session).then(
      () => {
        addHeaders();
        (end as (...a: unknown[]) => ServerResponse).apply(res, args);
      },
      (error: unknown) => {
        res.writeHead = writeHead;
        res.end = end;
        if (!res.headersSent) next(error);
        else res.destroy(error instanceof Error ? error : undefined);
      },
    );
    return this;
  } as ServerResponse['end'];
}

/**
 * `writeHead(status, { 'Set-Cookie': ... })` replaces a `Set-Cookie` set earlier with
 * `setHeader`, so when the application passes its own there, ours joins that list instead.
 */
function appendToWriteHeadCookies(args: unknown[] | undefined, cookie: string): boolean {
  if (!args) return false;
  const index = typeof args[1] === 'string' ? 2 : 1;
  const headers = args[index];
  if (Array.isArray(headers)) {
    // Flat [name, value, ...] form: Node sets each pair over the earlier ones, so every cookie
    // (the application's and ours) goes into one set-cookie entry.
    if (headers.length % 2 !== 0) return false;
    const cookies: unknown[] = [];
    const rest: unknown[] = [];
    for (let i = 0; i < headers.length; i += 2) {
      if (String(headers[i]).toLowerCase() === 'set-cookie') cookies.push(...[headers[i + 1]].flat());
      else rest.push(headers[i], headers[i + 1]);
    }
    if (cookies.length === 0) return false;
    args[index] = [...rest, 'set-cookie', [...cookies, cookie]];
    return true;
  }
  if (typeof headers !== 'object' || headers === null) return false;
  const record = headers as Record<string, unknown>;
  const key = Object.keys(record).find((name) => name.toLowerCase() === 'set-cookie');
  if (key === undefined) return false;
  const previous = record[key];
  // A copy: the application may reuse its headers object for every response.
  args[index] = { ...record, [key]: [...(Array.isArray(previous) ? previous : [String(previous)]), cookie] };
  return true;
}

/** Adds a `Set-Cookie` line, keeping any the application set. */
function appendSetCookie(res: ServerResponse, cookie: string): void {
  const previous = res.getHeader('set-cookie');
  if (previous === undefined) res.setHeader('set-cookie', cookie);
  else res.setHeader('set-cookie', Array.isArray(previous) ? [...previous, cookie] : [String(previous), cookie]);
}
