/**
 * adapters/web.ts: telling Web requests from Node ones, the engine's view of a Web `Request`, and
 * adding the session headers to every kind of `Response` (mutable, redirect, error, fetched).
 * The dispatch flows themselves are in tests/integration/web.
 */
import { IncomingMessage } from 'node:http';
import { Socket } from 'node:net';
import { afterEach, describe, expect, it } from '@jest/globals';
import { isWebRequest, webView, withSessionHeaders } from '../../../src/adapters/web.js';
import type { SessionResponseHeaders } from '../../../src/engine/SessionEngine.js';
import { listenHandler, type Running } from '../../support/http.js';

const ID = 'QUJDREVGR0hJSktMTU5PUA.tp3x28.YWJjZGVmZ2hpamtsbW5vcHFy';
const COOKIE = `session_id=${ID}; Max-Age=3600; Path=/; HttpOnly; SameSite=Lax`;
const BOTH: SessionResponseHeaders = { sessionId: ID, setCookie: COOKIE };
const NOTHING: SessionResponseHeaders = { sessionId: undefined, setCookie: undefined };

describe('adapters/web', () => {
  describe('isWebRequest', () => {
    it('is true for a real fetch Request', () => {
      expect(isWebRequest(new Request('http://localhost/'))).toBe(true);
      expect(isWebRequest(new Request('https://example.com/a?b=c', { method: 'POST', body: 'x' }))).toBe(true);
    });

    it('is true for a Request-like object from another realm: url string, headers.get, no res', () => {
      const headers = new Headers({ 'x-session-id': 'abc' });
      expect(isWebRequest({ url: 'http://localhost/', headers })).toBe(true);
      expect(isWebRequest({ url: 'http://localhost/', headers: { get: (_name: string) => null } })).toBe(true);
    });

    it('is false for an Express-style request holding res, even with url and headers.get', () => {
      expect(isWebRequest({ url: 'http://localhost/', headers: new Headers(), res: {} })).toBe(false);
    });

    it('is false for a Node IncomingMessage (plain headers object)', () => {
      const req = new IncomingMessage(new Socket());
      req.url = '/path';
      req.headers = { host: 'localhost' };
      expect(isWebRequest(req)).toBe(false);
    });

    it.each([
      ['null', null],
      ['undefined', undefined],
      ['a URL string', 'http://localhost/'],
      ['an empty object', {}],
      ['an object without headers', { url: 'http://localhost/' }],
      ['an object whose url is not a string', { url: new URL('http://localhost/'), headers: new Headers() }],
      ['an object whose headers has no get', { url: 'http://localhost/', headers: { host: 'localhost' } }],
    ])('is false for %s', (_label, value) => {
      expect(isWebRequest(value)).toBe(false);
    });
  });

  describe('webView', () => {
    it('is encrypted only for https URLs', () => {
      expect(webView(new Request('https://example.com/')).encrypted).toBe(true);
      expect(webView(new Request('HTTPS://EXAMPLE.COM/x')).encrypted).toBe(true);
      expect(webView(new Request('http://example.com/')).encrypted).toBe(false);
      expect(webView(new Request('http://https.example.com/https:')).encrypted).toBe(false);
    });

    it('reads headers case-insensitively, repeated ones joined with ", ", missing ones as undefined (not null)', () => {
      const headers = new Headers();
      headers.append('X-Session-ID', 'first-id-1');
      headers.append('X-Session-ID', 'second-id-2');
      headers.set('Cookie', 'session_id=abc; other=1');
      const view = webView(new Request('http://localhost/', { headers }));
      expect(view.header('x-session-id')).toBe('first-id-1, second-id-2');
      expect(view.header('cookie')).toBe('session_id=abc; other=1');
      expect(view.header('x-forwarded-proto')).toBeUndefined();
    });
  });

  describe('withSessionHeaders', () => {
    it('returns a copy of a mutable Response with the id header and cookie, leaving the original untouched', async () => {
      const response = new Response('body', { status: 201, statusText: 'Made', headers: { 'content-type': 'text/plain' } });
      const result = withSessionHeaders(response, BOTH, { headerName: 'X-Session-ID', cacheControl: false });
      expect(result).not.toBe(response);
      // A handler may hand the same Response to many requests: it must never collect their cookies.
      expect(response.headers.getSetCookie()).toEqual([]);
      expect(response.headers.get('x-session-id')).toBeNull();
      expect(result.headers.get('x-session-id')).toBe(ID);
      expect(result.headers.getSetCookie()).toEqual([COOKIE]);
      expect(result.status).toBe(201);
      expect(result.statusText).toBe('Made');
      expect(result.headers.get('content-type')).toBe('text/plain');
      expect(await result.text()).toBe('body');
    });

    it("appends the cookie after the application's own Set-Cookie lines, and replaces an id header the handler set", () => {
      const headers = new Headers();
      headers.append('set-cookie', 'theme=dark; Path=/');
      headers.append('set-cookie', 'lang=en; Path=/');
      headers.set('x-session-id', 'something-else');
      const response = new Response(null, { headers });
      const result = withSessionHeaders(response, BOTH, { headerName: 'X-Session-ID', cacheControl: false });
      expect(result.headers.getSetCookie()).toEqual(['theme=dark; Path=/', 'lang=en; Path=/', COOKIE]);
      expect(result.headers.get('x-session-id')).toBe(ID);
    });

    it('uses the configured header name, and sends no id header when the header transport is off', () => {
      const custom = withSessionHeaders(new Response('x'), BOTH, { headerName: 'X-Token', cacheControl: false });
      expect(custom.headers.get('x-token')).toBe(ID);
      expect(custom.headers.get('x-session-id')).toBeNull();

      const off = withSessionHeaders(new Response('x'), BOTH, { headerName: false, cacheControl: false });
      expect([...off.headers.keys()]).toEqual(['content-type', 'set-cookie']);
      expect(off.headers.getSetCookie()).toEqual([COOKIE]);
    });

    it('adds only what it is given (a cookie-less or header-less result)', () => {
      const idOnly = withSessionHeaders(new Response('x'), { sessionId: ID, setCookie: undefined }, { headerName: 'X-Session-ID', cacheControl: false });
      expect(idOnly.headers.get('x-session-id')).toBe(ID);
      expect(idOnly.headers.getSetCookie()).toEqual([]);

      const clearing = 'session_id=; Max-Age=0; Path=/; Expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly; SameSite=Lax';
      const cookieOnly = withSessionHeaders(new Response('x'), { sessionId: undefined, setCookie: clearing }, { headerName: 'X-Session-ID', cacheControl: false });
      expect(cookieOnly.headers.get('x-session-id')).toBeNull();
      expect(cookieOnly.headers.getSetCookie()).toEqual([clearing]);
    });

    it('returns a copy of a Response.redirect() (immutable headers) with its status and location kept and the headers added', () => {
      const redirect = Response.redirect('http://localhost/done', 303);
      const result = withSessionHeaders(redirect, BOTH, { headerName: 'X-Session-ID', cacheControl: false });
      expect(result).not.toBe(redirect);
      expect(result.status).toBe(303);
      expect(result.headers.get('location')).toBe('http://localhost/done');
      expect(result.headers.get('x-session-id')).toBe(ID);
      expect(result.headers.getSetCookie()).toEqual([COOKIE]);
      // The original is untouched.
      expect(redirect.headers.get('x-session-id')).toBeNull();
    });

    it('returns a Response.error() as is (a network error carries no headers)', () => {
      const error = Response.error();
      const result = withSessionHeaders(error, BOTH, { headerName: 'X-Session-ID', cacheControl: false });
      expect(result).toBe(error);
      expect(result.type).toBe('error');
      expect(result.status).toBe(0);
      expect(result.headers.get('x-session-id')).toBeNull();
      expect(result.headers.getSetCookie()).toEqual([]);
    });

    it('returns the same object when there is nothing to add, mutable or not', () => {
      const plain = new Response('x', { headers: { 'x-app': '1' } });
      expect(withSessionHeaders(plain, NOTHING, { headerName: 'X-Session-ID', cacheControl: false })).toBe(plain);
      expect([...plain.headers.keys()]).toEqual(['content-type', 'x-app']);
      const redirect = Response.redirect('http://localhost/next', 302);
      expect(withSessionHeaders(redirect, NOTHING, { headerName: 'X-Session-ID', cacheControl: false })).toBe(redirect);
    });

    describe('on a fetch() response (immutable headers)', () => {
      let server: Running | undefined;
      afterEach(async () => {
        await server?.close();
        server = undefined;
      });

      it('returns a copy with status, statusText, headers (every Set-Cookie line) and body kept', async () => {
        server = await listenHandler((_req, res) => {
          res.setHeader('set-cookie', ['a=1; Path=/', 'b=2; Path=/']);
          res.writeHead(202, 'Taken In', { 'content-type': 'text/plain', 'x-upstream': 'yes' });
          res.end('upstream body');
        });
        const fetched = await fetch(server.url);
        const result = withSessionHeaders(fetched, BOTH, { headerName: 'X-Session-ID', cacheControl: false });
        expect(result).not.toBe(fetched);
        expect(result.status).toBe(202);
        expect(result.statusText).toBe('Taken In');
        expect(result.headers.get('x-upstream')).toBe('yes');
        expect(result.headers.get('content-type')).toBe('text/plain');
        expect(result.headers.get('x-session-id')).toBe(ID);
        expect(result.headers.getSetCookie()).toEqual(['a=1; Path=/', 'b=2; Path=/', COOKIE]);
        expect(await result.text()).toBe('upstream body');
      });
    });
  });
});
