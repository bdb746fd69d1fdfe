import type { MiddlewareHandler } from 'hono';
import { applyCacheControl } from '../core/cacheControl.js';
import { CLEAR_COOKIES, SessionTurn, type SessionLifecycle } from '../engine/lifecycle.js';
import type { SessionResponseHeaders } from '../engine/SessionEngine.js';
import type { RegisteredSession } from '../engine/registered.js';
import { committingBody, webView, withSessionHeaders } from './web.js';

declare module 'hono' {
  interface ContextVariableMap {
    /**
     * Set by `sessionMiddleware.hono()`: the request's `Session`. Its id, live across
     * `regenerate()`, is `c.get('session').id` (also `c.req.raw.state.sessionId`). `undefined`
     * only under `onStoreError: 'continue'` while the store is down (typed so once the app
     * registers it: see `SessionTypeRegister`).
     */
    session: RegisteredSession;
  }
}

/**
 * Hono 4 middleware, from `sessionMiddleware.hono()`: `app.use(sessionMiddleware.hono())`, then
 * `c.get('session')` in handlers. The lifecycle is keyed on `c.req.raw` (the Web `Request`), so
 * `sessionMiddleware.sessionOf(c.req.raw)` and `c.req.raw.state.sessionId` work as with the Web
 * dispatch. Store failures are thrown (a `SessionError`, `status` 503) into Hono's error path,
 * `app.onError`.
 */
export type HonoSessionMiddleware = MiddlewareHandler;

/** The context's response makers that the adapter watches (`c.redirect` calls `c.newResponse`). */
const MAKERS = ['body', 'newResponse', 'json', 'text'] as const;

/**
 * Builds the Hono middleware on the lifecycle. The view gives no `secure`: Hono has no
 * trust-proxy setting, so `secure: 'auto'` follows the URL scheme and the `trustProxy` option,
 * as for the Web dispatch.
 */
export function honoSession(lifecycle: SessionLifecycle<unknown>): HonoSessionMiddleware {
  return async (c, next) => {
    const request = c.req.raw;
    const begun = lifecycle.begin(request, webView(request));
    const turn = begun instanceof SessionTurn ? begun : await begun;
    // Mounted twice (an app and a sub-app): the first mount owns the session and the response.
    if (!turn.owner) return next();
    if (turn.session === undefined) return next();
    c.set('session', turn.session as RegisteredSession);
    // Asking a Response for its body costs @hono/node-server its fast path, so the responses the
    // context makes are watched instead: one made for this request can take the headers as it is,
    // and a stream body (hono/streaming, c.body(stream)) may still change the session after the
    // handler returns. A stream returned as a ready-made Response is not seen: a change while it
    // runs is refused (session-closed), never silently lost.
    let made: Response | undefined;
    let streamed = false;
    for (const name of MAKERS) {
      const make = c[name] as (data: unknown, ...rest: unknown[]) => Response;
      (c as unknown as Record<string, unknown>)[name] = (data: unknown, ...rest: unknown[]) => {
        streamed ||= typeof (data as ReadableStream | null)?.getReader === 'function';
        return (made = make(data, ...rest));
      };
    }
    await next();
    const response = c.res;
    const streams = streamed && response.status >= 200 && response.status <= 599 && response.body !== null;
    // A store failure throws here, before any header goes out: Hono hands it to app.onError.
    if (streams) await turn.commit(false);
    else if (turn.settle()) turn.finishLater();
    else await turn.commit();
    const sent = turn.sessionHeaders();
    if (response === made && !streams) {
      // Made by this request's context, so no other request holds it (one kept across requests
      // would keep this cookie too). Untouched when there is nothing to add: reading the headers
      // of a @hono/node-server response makes it build them.
      if (sent.sessionId !== undefined || sent.setCookie !== undefined || sent.clearSiteData) addHeaders(response.headers, sent, turn);
      return;
    }
    // Any other response is copied: redirect and fetch responses have immutable headers, and a
    // handler may return one shared Response to many requests.
    const options = { headerName: turn.headerName, cacheControl: turn.cacheControl };
    const out = streams
      ? withSessionHeaders(response, sent, options, (body, length) => committingBody(body, length, () => turn.commit(true)))
      : withSessionHeaders(response, sent, options);
    if (out === response) return;
    // Unset first: assigning over a set c.res would put the old response's cookies over ours.
    c.res = undefined;
    c.res = out;
  };
}

/** Adds the id header, the cookie (appended: the app's own stay) and a private `Cache-Control`. */
function addHeaders(headers: Headers, sent: SessionResponseHeaders, turn: SessionTurn): void {
  if (turn.headerName !== false && sent.sessionId !== undefined) headers.set(turn.headerName, sent.sessionId);
  if (sent.setCookie !== undefined) headers.append('set-cookie', sent.setCookie);
  if (sent.clearSiteData) headers.set('clear-site-data', CLEAR_COOKIES);
  if (turn.cacheControl) applyCacheControl(headers);
}
