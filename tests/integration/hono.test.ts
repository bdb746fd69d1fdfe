/**
 * `sessionMiddleware.hono()` in real Hono 4 apps served by @hono/node-server on real sockets (and
 * through `app.request` for an https URL): `c.get('session')`, `c.req.raw.state.sessionId`,
 * `sessionOf(c.req.raw)`, commit after `next()` and before the response leaves the middleware.
 */
import { execFile } from 'node:child_process';
import type { Server } from 'node:http';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { serve } from '@hono/node-server';
import { Hono, type Context } from 'hono';
import { setCookie } from 'hono/cookie';
import { stream, streamText } from 'hono/streaming';
import { MemoryStore, SessionError, SessionMiddleware, type SessionMiddlewareOptions, type SessionState, type StoredSession } from '../../src/index.js';
import type { SessionChanges } from '../../src/core/json.js';
import { SlowWriteStore } from '../support/failingStores.js';
import { CookieClient, ISSUED_ID, cookieLine, cookieValue, flipChar, listenApp, listenHandler, sleep, type Running } from '../support/http.js';

const SECRET = 'test-secret-of-at-least-32-characters!!';

/** A MemoryStore whose reads or writes can be made to fail (messages include the id, which must never leak). */
class BrokenStore extends MemoryStore {
  failLoad = false;
  failWrite = false;
  patches = 0;
  constructor() {
    super({ sweepIntervalSeconds: 0 });
  }
  override async load(id: string): Promise<StoredSession | undefined> {
    if (this.failLoad) throw new Error(`load failed for ${id}`);
    return super.load(id);
  }
  override async patch(id: string, changes: SessionChanges, ttlSeconds: number): Promise<void> {
    this.patches++;
    if (this.failWrite) throw new Error(`patch failed for ${id}`);
    return super.patch(id, changes, ttlSeconds);
  }
}

const stateOf = (request: Request): SessionState | undefined => (request as Request & { state?: SessionState }).state;

/** A (body-less) response shared by every request that asks for it: it must never carry one client's cookie to the next. */
const SHARED = new Response(null, { status: 204, headers: { 'x-app': 'shared' } });

function routes(app: Hono, mw: SessionMiddleware): void {
  app.get('/inc', async (c) => {
    const visits = await c.get('session').increment('visits');
    return c.json({ visits, id: c.get('session').id, stateId: stateOf(c.req.raw)?.sessionId, sessionOf: mw.sessionOf(c.req.raw)?.id });
  });
  app.get('/peek', (c) => {
    const session = c.get('session');
    return c.json({ id: session.id, data: session.toJSON(), isNew: session.isNew });
  });
  app.get('/set', (c) => {
    for (const [key, value] of Object.entries(c.req.query())) c.get('session').set(key, value);
    return c.json({ id: c.get('session').id });
  });
  app.get('/nothing', (c) => c.text('ok'));
  app.get('/theme', (c) => {
    setCookie(c, 'theme', 'dark');
    c.header('set-cookie', 'lang=en', { append: true });
    c.get('session').set('seen', true);
    return c.json({ ok: true });
  });
  app.get('/regenerate', async (c) => {
    const session = c.get('session');
    const before = session.id;
    await session.regenerate();
    return c.json({ before, after: session.id, stateId: stateOf(c.req.raw)?.sessionId, data: session.toJSON() });
  });
  app.get('/destroy', async (c) => {
    await c.get('session').destroy();
    return c.json({ destroyed: true });
  });
  app.get('/flag', (c) => {
    c.get('session').set('flag', 1);
    return c.redirect('/next');
  });
  // Response.redirect has immutable headers: the adapter must rebuild it.
  app.get('/flag-raw', (c) => {
    c.get('session').set('flag', 2);
    return Response.redirect('http://127.0.0.1/next', 303);
  });
  app.get('/shared', () => SHARED);
  // A fetch() response has immutable headers: the adapter must rebuild it.
  app.get('/proxy', async (c) => {
    c.get('session').set('proxied', true);
    return fetch(upstream!.url);
  });
  app.get('/stream', (c) => {
    const session = c.get('session');
    session.set('before', 1);
    return streamText(c, async (s) => {
      await s.write('part1,');
      await sleep(20);
      // After the handler returned and the headers were decided: stored before the body ends.
      session.set('during', 2);
      await s.write('part2');
    });
  });
  app.get('/stream-body', (c) => {
    const session = c.get('session');
    session.set('before', 1);
    return stream(c, async (s) => {
      await s.write(new TextEncoder().encode('bytes'));
      await sleep(10);
      session.set('during', 3);
    });
  });
  app.get('/stream-late', (c) => {
    const session = c.get('session');
    return streamText(c, async (s) => {
      await s.write('part1,');
      await sleep(10);
      session.set('late', true);
      await s.write('part2');
    });
  });
  // A stream handed over as a ready-made Response: not seen as one (see the adapter).
  app.get('/stream-response', (c) => {
    c.get('session').set('before', 4);
    const body = new ReadableStream<Uint8Array>({
      async start(controller) {
        controller.enqueue(new TextEncoder().encode('raw,'));
        await sleep(10);
        let refused: unknown;
        try {
          c.get('session').set('during', 4);
        } catch (error) {
          refused = error;
        }
        controller.enqueue(new TextEncoder().encode(SessionError.is(refused) ? refused.kind : 'accepted'));
        controller.close();
      },
    });
    return new Response(body);
  });
  app.get('/boom', (c) => {
    c.get('session').set('before', 'boom');
    throw new Error('boom');
  });
  app.get('/optional', (c) => c.json({ hasSession: c.get('session') !== undefined, stateId: stateOf(c.req.raw)?.sessionId ?? null }));
}

interface Setup {
  options?: SessionMiddlewareOptions;
  store?: MemoryStore;
  /** Mount the middleware on the app and again on a sub-app. */
  twice?: boolean;
}

interface Harness {
  mw: SessionMiddleware;
  store: MemoryStore;
  app: Hono;
  server: Running;
  errors: unknown[];
  get(path: string, headers?: Record<string, string>): Promise<Response>;
}

const open: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const close of open.splice(0)) await close();
});

/** A plain node:http server for the proxy route. */
let upstream: Running | undefined;
beforeAll(async () => {
  upstream = await listenHandler((_req, res) => res.end('upstream'));
});
afterAll(async () => {
  await upstream?.close();
});

function makeApp(mw: SessionMiddleware, errors: unknown[], twice = false): Hono {
  const app = new Hono();
  app.use(mw.hono());
  if (twice) {
    const inner = new Hono();
    inner.use(mw.hono());
    routes(inner, mw);
    app.route('/', inner);
  } else {
    routes(app, mw);
  }
  // SessionErrors carry the HTTP status to answer with (503 for a store failure).
  app.onError((err, c: Context) => {
    errors.push(err);
    if (SessionError.is(err)) return c.json({ kind: err.kind }, err.status as 503);
    return c.json({ error: 'internal' }, 500);
  });
  return app;
}

async function start(setup: Setup = {}): Promise<Harness> {
  const store = setup.store ?? new MemoryStore({ sweepIntervalSeconds: 0 });
  const mw = new SessionMiddleware({ secret: SECRET, sessionStorage: store, ...setup.options });
  const errors: unknown[] = [];
  const app = makeApp(mw, errors, setup.twice);
  const server = await listenApp({ listen: (port, hostname) => serve({ fetch: app.fetch, port, hostname }) as Server });
  open.push(() => server.close(), () => store.close());
  return { mw, store, app, server, errors, get: (path, headers = {}) => fetch(server.url + path, { headers, redirect: 'manual' }) };
}

function sid(response: Response): string {
  const id = response.headers.get('x-session-id');
  if (id === null) throw new Error(`no X-Session-ID on ${response.status} response`);
  return id;
}

describe('Hono 4 with sessionMiddleware.hono() on @hono/node-server', () => {
  it('runs the seed flow: visits 1, then 2 by header, then 3 by cookie; state.sessionId and sessionOf(c.req.raw) agree', async () => {
    const h = await start();
    const first = await h.get('/inc');
    const id = sid(first);
    expect(id).toMatch(ISSUED_ID);
    expect(await first.json()).toEqual({ visits: 1, id, stateId: id, sessionOf: id });
    expect(cookieLine(first, 'session_id')).toBe(`session_id=${id}; Max-Age=3600; Path=/; HttpOnly; SameSite=Lax`);
    expect(first.headers.get('cache-control')).toBe('no-store');

    const second = await h.get('/inc', { 'X-Session-ID': id });
    expect(sid(second)).toBe(id);
    expect(((await second.json()) as { visits: number }).visits).toBe(2);

    const third = await h.get('/inc', { cookie: `session_id=${cookieValue(first, 'session_id')}` });
    expect(((await third.json()) as { visits: number; id: string }).visits).toBe(3);
    // A cookie client never gets the id in a header, and its cookie needs no change.
    expect(third.headers.get('x-session-id')).toBeNull();
    expect(cookieLine(third, 'session_id')).toBeUndefined();
    expect(await h.store.get(id)).toEqual({ visits: 3 });
  });

  it('a cookie-keeping client keeps one session', async () => {
    const h = await start();
    const client = new CookieClient(h.server.url);
    const ids = new Set<string>();
    for (let i = 1; i <= 4; i++) {
      const body = (await (await client.fetch('/inc')).json()) as { visits: number; id: string };
      expect(body.visits).toBe(i);
      ids.add(body.id);
    }
    expect(ids.size).toBe(1);
  });

  it('does not adopt a forged id (well-formed but not issued, or a tampered signature): a new one is issued', async () => {
    const h = await start();
    const real = sid(await h.get('/set?user=alice'));
    const forged = ['attacker-chosen-session-id-0001', flipChar(real, real.length - 3), flipChar(real, 2)];
    for (const id of forged) {
      const transports: Array<Record<string, string>> = [{ 'X-Session-ID': id }, { cookie: `session_id=${id}` }];
      for (const headers of transports) {
        const response = await h.get('/peek', headers);
        const body = (await response.json()) as { id: string; data: unknown; isNew: boolean };
        expect(body.id).not.toBe(id);
        expect(body.id).toMatch(ISSUED_ID);
        expect(body.isNew).toBe(true);
        expect(body.data).toEqual({});
        expect(cookieValue(response, 'session_id')).toBe(body.id);
      }
    }
    expect(await h.store.get(real)).toEqual({ user: 'alice' });
  });

  it("keeps the app's own cookies (hono/cookie setCookie and c.header append) alongside the session cookie", async () => {
    const h = await start();
    const response = await h.get('/theme');
    const lines = response.headers.getSetCookie();
    expect(lines.some((line) => /^theme=dark(;|$)/.test(line))).toBe(true);
    expect(lines).toContain('lang=en');
    expect(lines.filter((line) => line.startsWith('session_id='))).toHaveLength(1);
    expect(cookieValue(response, 'session_id')).toBe(sid(response));
  });

  it('regenerate(): a new id in header, cookie and state, data kept, the old id no longer works', async () => {
    const h = await start();
    const old = sid(await h.get('/set?user=alice'));
    const response = await h.get('/regenerate', { 'X-Session-ID': old });
    const body = (await response.json()) as { before: string; after: string; stateId: string; data: unknown };
    expect(body.before).toBe(old);
    expect(body.after).not.toBe(old);
    expect(body.stateId).toBe(body.after);
    expect(body.data).toEqual({ user: 'alice' });
    expect(sid(response)).toBe(body.after);
    expect(cookieValue(response, 'session_id')).toBe(body.after);
    expect(await h.store.get(old)).toBeUndefined();
    expect(await h.store.get(body.after)).toEqual({ user: 'alice' });
    const replay = (await (await h.get('/peek', { 'X-Session-ID': old })).json()) as { id: string; data: unknown };
    expect(replay.id).not.toBe(old);
    expect(replay.data).toEqual({});
  });

  it('destroy(): the cookie is cleared, no X-Session-ID, the store entry is gone', async () => {
    const h = await start();
    const id = sid(await h.get('/set?user=alice'));
    const response = await h.get('/destroy', { 'X-Session-ID': id });
    expect(response.status).toBe(200);
    expect(response.headers.get('x-session-id')).toBeNull();
    expect(cookieLine(response, 'session_id')).toMatch(/^session_id=; Max-Age=0; Path=\//);
    expect(await h.store.get(id)).toBeUndefined();
    expect(await h.store.length()).toBe(0);
    const next = (await (await h.get('/peek', { cookie: `session_id=${id}` })).json()) as { id: string; isNew: boolean };
    expect(next.id).not.toBe(id);
    expect(next.isNew).toBe(true);
  });

  describe("a failing store reaches Hono's error path (app.onError)", () => {
    it('a failing load: app.onError gets a SessionError of kind store-error, status 503, no id in its message', async () => {
      const store = new BrokenStore();
      const h = await start({ store });
      const id = sid(await h.get('/set?a=1'));
      store.failLoad = true;
      const response = await h.get('/peek', { 'X-Session-ID': id });
      expect(response.status).toBe(503);
      expect(await response.json()).toEqual({ kind: 'store-error' });
      expect(h.errors).toHaveLength(1);
      const error = h.errors[0] as SessionError;
      expect(SessionError.is(error)).toBe(true);
      expect([error.status, error.statusCode]).toEqual([503, 503]);
      expect(error.message).not.toContain(id);
    });

    it("a failing write after the handler: 503 instead of the handler's answer", async () => {
      const store = new BrokenStore();
      const h = await start({ store });
      const id = sid(await h.get('/set?a=1'));
      store.failWrite = true;
      const response = await h.get('/set?a=2', { 'X-Session-ID': id });
      expect(response.status).toBe(503);
      expect(await response.json()).toEqual({ kind: 'store-error' });
      expect((h.errors[0] as SessionError).kind).toBe('store-error');
      store.failWrite = false;
      expect(await store.get(id)).toEqual({ a: '1' });
    });

    it("onStoreError: 'continue' serves the request with no session", async () => {
      const store = new BrokenStore();
      const h = await start({ store, options: { onStoreError: 'continue' } });
      store.failLoad = true;
      const response = await h.get('/optional', { 'X-Session-ID': sid(await h.get('/nothing')) });
      expect(response.status).toBe(200);
      expect(await response.json()).toEqual({ hasSession: false, stateId: null });
      expect(cookieLine(response, 'session_id')).toBeUndefined();
      expect(h.errors).toEqual([]);
    });
  });

  it('a handler error: what it wrote before throwing is stored, and the error page carries the cookie', async () => {
    const h = await start();
    const response = await h.get('/boom');
    expect(response.status).toBe(500);
    const id = sid(response);
    expect(cookieValue(response, 'session_id')).toBe(id);
    expect(await h.store.get(id)).toEqual({ before: 'boom' });
  });

  describe('durability', () => {
    it('with 200 ms store writes, a write is visible to the request that immediately follows', async () => {
      const h = await start({ store: new SlowWriteStore(200) });
      const id = sid(await h.get('/set?a=1'));
      const body = (await (await h.get('/peek', { 'X-Session-ID': id })).json()) as { data: unknown };
      expect(body.data).toEqual({ a: '1' });
      await h.get('/set?b=2', { 'X-Session-ID': id });
      expect(await h.store.get(id)).toEqual({ a: '1', b: '2' });
    });

    it.each([
      ['c.redirect', '/flag', 302, '/next', 1],
      ['Response.redirect (immutable headers)', '/flag-raw', 303, 'http://127.0.0.1/next', 2],
    ])('a redirect by %s carries the cookie and its write is stored before the client has it', async (_name, path, status, location, flag) => {
      const h = await start({ store: new SlowWriteStore(100) });
      const response = await h.get(path);
      expect(response.status).toBe(status);
      expect(response.headers.get('location')).toBe(location);
      const id = sid(response);
      expect(cookieValue(response, 'session_id')).toBe(id);
      expect(await h.store.get(id)).toEqual({ flag });
    });

    it('a fetch() response (immutable headers) carries the cookie and keeps the write', async () => {
      const h = await start({ store: new SlowWriteStore(50) });
      const response = await h.get('/proxy');
      expect(response.status).toBe(200);
      expect(await response.text()).toBe('upstream');
      const id = sid(response);
      expect(cookieValue(response, 'session_id')).toBe(id);
      expect(await h.store.get(id)).toEqual({ proxied: true });
    });

    it.each([
      ['streamText', '/stream', 'part1,part2', { before: 1, during: 2 }],
      ['stream (bytes)', '/stream-body', 'bytes', { before: 1, during: 3 }],
    ])('a streamed response (%s) carries the cookie and keeps the writes made before and while streaming', async (_name, path, text, data) => {
      const h = await start({ store: new SlowWriteStore(50) });
      const response = await h.get(path);
      const id = sid(response);
      expect(cookieValue(response, 'session_id')).toBe(id);
      expect(await response.text()).toBe(text);
      // The whole body is in: so are the writes made while it streamed.
      expect(await h.store.get(id)).toEqual(data);
    });

    it('a stream returned as a ready-made Response carries the cookie and keeps the write made before it; a change while it runs is refused, never lost silently', async () => {
      const h = await start({ store: new SlowWriteStore(50) });
      const response = await h.get('/stream-response');
      const id = sid(response);
      expect(cookieValue(response, 'session_id')).toBe(id);
      expect(await response.text()).toBe('raw,session-closed');
      expect(await h.store.get(id)).toEqual({ before: 4 });
    });

    it('a store failure at the end of a streamed body cuts the response: the client never takes it for complete', async () => {
      // @hono/node-server logs the stream's error.
      const logged = jest.spyOn(console, 'error').mockImplementation(() => undefined);
      open.push(() => logged.mockRestore());
      const store = new BrokenStore();
      const h = await start({ store });
      const id = sid(await h.get('/set?a=1'));
      store.failWrite = true;
      // Nothing to store before the body starts: the write made while it streams fails.
      const response = await h.get('/stream-late', { 'X-Session-ID': id });
      expect(response.status).toBe(200);
      await expect(response.text()).rejects.toThrow();
    });
  });

  it('a Response shared by many requests never carries one client’s cookie to the next', async () => {
    const h = await start();
    const first = await h.get('/shared');
    const second = await h.get('/shared');
    expect([first.status, second.status]).toEqual([204, 204]);
    expect([first.headers.get('x-app'), second.headers.get('x-app')]).toEqual(['shared', 'shared']);
    expect(cookieValue(first, 'session_id')).toBe(sid(first));
    expect(cookieValue(second, 'session_id')).toBe(sid(second));
    expect(sid(first)).not.toBe(sid(second));
    expect(SHARED.headers.get('set-cookie')).toBeNull();
    expect(SHARED.headers.get('x-session-id')).toBeNull();
  });

  describe("secure: 'auto' (Hono has no trust-proxy setting: the URL scheme and the trustProxy option decide)", () => {
    it.each([
      [false, undefined, false],
      [false, 'https', false],
      [true, 'https', true],
      [true, 'http', false],
    ])('trustProxy %s, X-Forwarded-Proto %s: Secure %s', async (trustProxy, proto, secure) => {
      const h = await start({ options: { trustProxy } });
      const response = await h.get('/nothing', proto === undefined ? {} : { 'X-Forwarded-Proto': proto });
      expect(cookieLine(response, 'session_id')!.includes('; Secure')).toBe(secure);
    });

    it('an https URL (TLS reached this process) sets Secure without any proxy header', async () => {
      const mw = new SessionMiddleware({ secret: SECRET });
      const app = makeApp(mw, []);
      const secure = await app.request('https://example.test/nothing');
      const plain = await app.request('http://example.test/nothing');
      expect(cookieLine(secure, 'session_id')).toContain('; Secure');
      expect(cookieLine(plain, 'session_id')).not.toContain('; Secure');
      (mw.sessionStorage as MemoryStore).close();
    });
  });

  it('app.request works too: c.req.raw is the lifecycle key (state.sessionId, sessionOf)', async () => {
    const mw = new SessionMiddleware({ secret: SECRET });
    const app = makeApp(mw, []);
    const request = new Request('http://example.test/inc');
    const response = await app.request(request);
    const body = (await response.json()) as { id: string; stateId: string; sessionOf: string };
    expect(body.stateId).toBe(body.id);
    expect(body.sessionOf).toBe(body.id);
    expect(stateOf(request)?.sessionId).toBe(body.id);
    expect(mw.sessionOf(request)?.get('visits')).toBe(1);
    (mw.sessionStorage as MemoryStore).close();
  });

  it('mounted twice (app and sub-app): one commit, one X-Session-ID, one Set-Cookie', async () => {
    const store = new BrokenStore();
    const h = await start({ store, twice: true });
    const response = await h.get('/set?a=1');
    const id = sid(response);
    expect(response.headers.get('x-session-id')).toBe(id);
    expect(response.headers.getSetCookie().filter((line) => line.startsWith('session_id='))).toHaveLength(1);
    expect(store.patches).toBe(1);
    expect(await store.get(id)).toEqual({ a: '1' });
    const again = (await (await h.get('/inc', { 'X-Session-ID': id })).json()) as { visits: number; id: string };
    expect(again).toMatchObject({ visits: 1, id });
  });

  it('examples/hono.ts prints visits 1 then 2 for one session_id', async () => {
    const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', 'examples/hono.ts'], { timeout: 30_000 });
    const [first, second] = stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { session_id: string; visits: number });
    expect(first?.visits).toBe(1);
    expect(second?.visits).toBe(2);
    expect(first?.session_id).toMatch(ISSUED_ID);
    expect(second?.session_id).toBe(first?.session_id);
  });
});
