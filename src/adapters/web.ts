import type { RequestView, SessionResponseHeaders } from '../engine/SessionEngine.js';
import type { SessionLifecycle } from '../engine/lifecycle.js';
import { applyCacheControl } from '../core/cacheControl.js';
import { CLEAR_COOKIES } from '../engine/lifecycle.js';

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
    method: request.method,
    get path() {
      return new URL(request.url).pathname;
    },
  };
}

/**
 * A copy of `response` with the id header and cookie added (and `Cache-Control` kept out of shared
 * caches when it carries the id), and its body, when there is one, passed through `body`.
 * Always a copy: `Response.redirect()` and `fetch()` responses have immutable headers, and a
 * handler may return one shared `Response` object to many requests, which must never carry one
 * client's cookie to the next. Responses that cannot be rebuilt (`Response.error()`, 101
 * upgrades) are returned as they are.
 */
export function withSessionHeaders(
  response: Response,
  headers: SessionResponseHeaders,
  options: { headerName: string | false; cacheControl: boolean },
  body?: (body: ReadableStream<Uint8Array>, contentLength: number | undefined) => ReadableStream<Uint8Array>,
): Response {
  const carriesId = headers.sessionId !== undefined || headers.setCookie !== undefined || headers.clearSiteData === true;
  if (!carriesId && (body === undefined || response.body === null)) return response;
  if (response.status < 200 || response.status > 599) return response;
  const copy = new Headers(response.headers);
  if (options.headerName !== false && headers.sessionId !== undefined) copy.set(options.headerName, headers.sessionId);
  if (headers.setCookie !== undefined) copy.append('set-cookie', headers.setCookie);
  if (headers.clearSiteData) copy.set('clear-site-data', CLEAR_COOKIES);
  if (carriesId && options.cacheControl) applyCacheControl(copy);
  const length = Number(copy.get('content-length') ?? NaN);
  const content = response.body !== null && body ? body(response.body, Number.isSafeInteger(length) && length > 0 ? length : undefined) : response.body;
  return new Response(content, { status: response.status, statusText: response.statusText, headers: copy });
}

/**
 * The body, with `commit` run once it is fully read (or cancelled), before its end reaches the
 * client: writes made while a streamed body is produced are stored, not dropped. Under a
 * `Content-Length` the last byte is held until then too, so no client holds the whole body
 * before the session is stored (B5). A failed commit errors the stream: the client never takes a
 * cut body for a complete one.
 */
export function committingBody(
  body: ReadableStream<Uint8Array>,
  contentLength: number | undefined,
  commit: () => Promise<void>,
): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  let seen = 0;
  let last: Uint8Array | undefined;
  let committed = false;
  const commitOnce = (): Promise<void> => {
    if (committed) return Promise.resolve();
    committed = true;
    return commit();
  };
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      // Loops until it has something to hand on (a held last byte leaves a read empty-handed).
      for (;;) {
        let chunk: ReadableStreamReadResult<Uint8Array>;
        try {
          chunk = await reader.read();
        } catch (error) {
          await commitOnce().catch(() => undefined);
          controller.error(error);
          return;
        }
        if (chunk.done) {
          await commitOnce();
          if (last) controller.enqueue(last);
          controller.close();
          return;
        }
        const bytes = chunk.value;
        seen += bytes.byteLength;
        if (contentLength !== undefined && last === undefined && bytes.byteLength > 0 && seen >= contentLength) {
          last = bytes.subarray(bytes.byteLength - 1);
          if (bytes.byteLength === 1) continue;
          controller.enqueue(bytes.subarray(0, bytes.byteLength - 1));
          return;
        }
        controller.enqueue(bytes);
        return;
      }
    },
    async cancel(reason) {
      // The client left: what the handler wrote is still stored.
      await Promise.allSettled([reader.cancel(reason), commitOnce()]);
    },
  });
}

/**
 * The Web-standard dispatch: the session is committed before the response is returned, and
 * again when a body is fully produced (a stream may change the session while it runs).
 */
export async function dispatchWeb(lifecycle: SessionLifecycle, request: Request, next: WebNext): Promise<Response> {
  const turn = await lifecycle.begin(request, webView(request));
  // Dispatched twice for one request (nested apps): the first dispatch owns the session.
  if (!turn.owner) return next(request);
  const response = await next(request);
  const streams = turn.session !== undefined && response.body !== null && response.status >= 200 && response.status <= 599;
  await turn.commit(!streams);
  const options = { headerName: turn.headerName, cacheControl: turn.cacheControl };
  const headers = turn.sessionHeaders();
  if (!streams) return withSessionHeaders(response, headers, options);
  return withSessionHeaders(response, headers, options, (body, length) => committingBody(body, length, () => turn.commit(true)));
}
