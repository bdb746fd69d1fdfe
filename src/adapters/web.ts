import type { SessionEngine, RequestView, SessionResponseHeaders } from '../core/SessionEngine.js';
import type { SessionRegistry } from './state.js';

/** The next handler of a Web-standard `dispatch`. */
export type WebNext = (request: Request) => Response | Promise<Response>;

/** True for a fetch-API `Request` (from this realm or any other). */
export function isWebRequest(value: unknown): value is Request {
  if (typeof Request !== 'undefined' && value instanceof Request) return true;
  const candidate = value as { url?: unknown; headers?: { get?: unknown }; res?: unknown } | null;
  return typeof candidate?.url === 'string' && typeof candidate.headers?.get === 'function' && candidate.res === undefined;
}

/** The engine's view of a Web `Request`. */
export function webView(request: Request): RequestView {
  return {
    header: (name) => request.headers.get(name) ?? undefined,
    encrypted: request.url.startsWith('https:'),
  };
}

/**
 * A copy of `response` with the id header and cookie added. Always a copy: `Response.redirect()`
 * and `fetch()` responses have immutable headers, and a handler may return one shared `Response`
 * object to many requests, which must never carry one client's cookie to the next.
 * Responses that cannot be rebuilt (`Response.error()`, 101 upgrades) are returned as they are.
 */
export function withSessionHeaders(response: Response, headers: SessionResponseHeaders, headerName: string | false): Response {
  if (headers.sessionId === undefined && headers.setCookie === undefined) return response;
  if (response.status < 200 || response.status > 599) return response;
  const target = new Response(response.body, { status: response.status, statusText: response.statusText, headers: new Headers(response.headers) });
  apply(target.headers, headers, headerName);
  return target;
}

function apply(target: Headers, headers: SessionResponseHeaders, headerName: string | false): void {
  if (headerName !== false && headers.sessionId !== undefined) target.set(headerName, headers.sessionId);
  if (headers.setCookie !== undefined) target.append('set-cookie', headers.setCookie);
}

/** The Web-standard dispatch: the session is committed before the response is returned. */
export async function dispatchWeb(engine: SessionEngine, registry: SessionRegistry, request: Request, next: WebNext): Promise<Response> {
  // Dispatched twice for one request (nested apps): the first dispatch owns the session.
  if (registry.get(request) !== undefined) return next(request);
  const view = webView(request);
  const session = await engine.open(view);
  registry.attach(request, session);
  const response = await next(request);
  await engine.commit(session);
  return withSessionHeaders(response, engine.responseHeaders(session, view), engine.options.header);
}
