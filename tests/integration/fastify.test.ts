/**
 * The session flow through real Fastify 5 apps on real sockets, with `sessionMiddleware.fastify()`:
 * `request.session`, `request.state.sessionId`, the store written in onSend before the reply goes
 * out, store failures at Fastify's error handler.
 */
import { execFile } from 'node:child_process';
import { Readable } from 'node:stream';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from '@jest/globals';
import fastifyCookie from '@fastify/cookie';
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import {
  MemoryStore,
  SessionError,
  SessionMiddleware,
  type SessionChanges,
  type SessionData,
  type SessionMiddlewareOptions,
  type StoredSession,
} from '../../src/index.js';
import { FlakyStore, SlowWriteStore, StoreDown } from '../support/failingStores.js';
import { CookieClient, ISSUED_ID, cookieLine, cookieValue, flipChar, sleep } from '../support/http.js';

const SECRET = 'test-secret-of-at-least-32-characters!!';

interface Harness {
  app: FastifyInstance;
  mw: SessionMiddleware;
  store: MemoryStore;
  url: string;
  /** Errors that reached the app's error handler. */
  errors: unknown[];
  /** Sessions `sessionOf(request)` found, by request, in the order the handlers ran. */
  seen: Array<{ sessionOf: unknown; session: unknown; stateId: string | undefined }>;
  /** The Node streams /stream answered with. */
  streams: Readable[];
  get(path: string, headers?: Record<string, string>): Promise<Response>;
}

interface StartOptions {
  options?: SessionMiddlewareOptions;
  store?: MemoryStore;
  fastify?: FastifyServerOptions;
  /** Registers the plugin (default: once, at the root). */
  mount?: (app: FastifyInstance, mw: SessionMiddleware) => Promise<void>;
  /** Keep Fastify's own error handler. */
  defaultErrorHandler?: boolean;
}

const running: Harness[] = [];
afterEach(async () => {
  for (const h of running.splice(0)) {
    await h.app.close();
    h.store.close();
  }
});

async function start(init: StartOptions = {}): Promise<Harness> {
  const store = init.store ?? new MemoryStore();
  const mw = new SessionMiddleware({ secret: SECRET, sessionStorage: store, ...init.options });
  const app = Fastify(init.fastify);
  const errors: unknown[] = [];
  const seen: Harness['seen'] = [];
  const streams: Readable[] = [];
  if (!init.defaultErrorHandler) {
    app.setErrorHandler((error, _request, reply) => {
      errors.push(error);
      const status = SessionError.is(error) ? error.status : 500;
      void reply.code(status).send({ kind: SessionError.is(error) ? error.kind : 'other' });
    });
  }
  if (init.mount) await init.mount(app, mw);
  else await app.register(mw.fastify());
  routes(app, mw, seen, streams);
  const address = await app.listen({ port: 0, host: '127.0.0.1' });
  const h: Harness = {
    app,
    mw,
    store,
    url: address,
    errors,
    seen,
    streams,
    get: (path, headers = {}) => fetch(address + path, { headers, redirect: 'manual' }),
  };
  running.push(h);
  return h;
}

function routes(app: FastifyInstance, mw: SessionMiddleware, seen: Harness['seen'], streams: Readable[]): void {
  app.get('/greet', async (request) => {
    const visits = await request.session.increment('visits');
    return { session_id: request.state.sessionId, visits };
  });
  app.get('/peek', async (request) => {
    seen.push({ sessionOf: mw.sessionOf(request), session: request.session, stateId: request.state?.sessionId });
    return { id: request.state.sessionId, data: request.session.toJSON(), isNew: request.session.isNew };
  });
  app.get('/maybe', async (request) => ({ hasSession: request.session !== undefined, id: request.state?.sessionId ?? null }));
  app.get<{ Querystring: Record<string, string> }>('/set', async (request) => {
    for (const [key, value] of Object.entries(request.query)) request.session.set(key, value);
    return { id: request.state.sessionId };
  });
  app.get('/theme', async (request, reply) => {
    reply.header('set-cookie', 'theme=dark; Path=/');
    reply.header('set-cookie', 'lang=fr; Path=/');
    request.session.set('seen', true);
    return { ok: true };
  });
  app.get('/raw-cookie', async (request, reply) => {
    // Set on the Node response: Fastify's own headers would replace it when it writes the head.
    reply.raw.setHeader('set-cookie', 'raw=1; Path=/');
    request.session.set('raw', true);
    return { ok: true };
  });
  app.get('/flag', async (request, reply) => {
    request.session.set('flag', 1);
    return reply.redirect('/next');
  });
  app.get('/regenerate', async (request) => {
    const before = request.state.sessionId;
    await request.session.regenerate();
    return { before, after: request.state.sessionId, data: request.session.toJSON() };
  });
  app.get('/destroy', async (request) => {
    await request.session.destroy();
    return { destroyed: true };
  });
  app.get('/stream', async (request, reply) => {
    request.session.set('before', 1);
    const session = request.session;
    async function* body(): AsyncGenerator<string> {
      yield 'one,';
      await sleep(20);
      // Written while the body is produced: stored before the body's end goes out.
      session.set('during', 2);
      yield 'two';
    }
    const stream = Readable.from(body());
    streams.push(stream);
    return reply.type('text/plain').send(stream);
  });
  app.get('/web-stream', async (request, reply) => {
    request.session.set('web', 1);
    const session = request.session;
    let step = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (step++ === 0) return controller.enqueue(new TextEncoder().encode('web'));
        session.set('webDuring', 2);
        controller.close();
      },
    });
    return reply.type('text/plain').send(body);
  });
  app.get('/response', async (request) => {
    request.session.set('response', 1);
    return new Response('from a Response', { status: 201, headers: { 'set-cookie': 'own=1; Path=/', 'x-own': 'yes' } });
  });
  app.get('/boom', async (request) => {
    request.session.set('boom', 1);
    throw new Error('handler failed');
  });
}

function sid(response: Response): string {
  const id = response.headers.get('x-session-id');
  if (id === null) throw new Error(`no X-Session-ID on ${response.status} response`);
  return id;
}

/** A MemoryStore whose reads work and whose writes (patch, set) throw. */
class WriteFailStore extends MemoryStore {
  writes = 0;
  constructor() {
    super({ sweepIntervalSeconds: 0 });
  }
  override async patch(id: string, _changes: SessionChanges, _ttlSeconds: number): Promise<void> {
    this.writes++;
    throw new StoreDown('patch', id);
  }
  override async set(id: string, _data: SessionData, _ttlSeconds?: number): Promise<void> {
    this.writes++;
    throw new StoreDown('set', id);
  }
}

/** A MemoryStore that counts its writes (and, overriding methods, takes the asynchronous path). */
class CountingStore extends MemoryStore {
  writes = 0;
  constructor() {
    super({ sweepIntervalSeconds: 0 });
  }
  override async patch(id: string, changes: SessionChanges, ttlSeconds: number): Promise<void> {
    this.writes++;
    return super.patch(id, changes, ttlSeconds);
  }
  override async set(id: string, data: SessionData, ttlSeconds?: number): Promise<void> {
    this.writes++;
    return super.set(id, data, ttlSeconds);
  }
  override async increment(id: string, key: string, by: number, ttlSeconds: number): Promise<number> {
    this.writes++;
    return super.increment(id, key, by, ttlSeconds);
  }
  override load(id: string): Promise<StoredSession | undefined> {
    return super.load(id);
  }
}

describe.each([
  ['MemoryStore (synchronous path)', () => new MemoryStore()],
  ['a MemoryStore subclass (asynchronous path)', () => new CountingStore()],
])('Fastify 5 with %s', (_name, makeStore) => {
  it('the seed flow: visits 1, then 2 by X-Session-ID header, then 3 by cookie', async () => {
    const h = await start({ store: makeStore() });
    const first = await h.get('/greet');
    const id = sid(first);
    expect(id).toMatch(ISSUED_ID);
    expect(await first.json()).toEqual({ session_id: id, visits: 1 });
    expect(cookieLine(first, 'session_id')).toBe(`session_id=${id}; Max-Age=3600; Path=/; HttpOnly; SameSite=Lax`);

    const second = await h.get('/greet', { 'X-Session-ID': id });
    expect(await second.json()).toEqual({ session_id: id, visits: 2 });
    expect(sid(second)).toBe(id);

    const third = await h.get('/greet', { cookie: `session_id=${cookieValue(first, 'session_id')}` });
    expect(await third.json()).toEqual({ session_id: id, visits: 3 });
    // A cookie client gets no id header and needs no new cookie.
    expect(third.headers.get('x-session-id')).toBeNull();
    expect(cookieLine(third, 'session_id')).toBeUndefined();
  });

  it('a forged id (well-formed but never issued, or with a tampered signature) is not adopted', async () => {
    const h = await start({ store: makeStore() });
    const real = sid(await h.get('/set?user=alice'));
    const tampered = flipChar(real, real.length - 3);
    for (const forged of ['abcdefgh12345678', tampered]) {
      for (const headers of [{ 'X-Session-ID': forged }, { cookie: `session_id=${forged}` }] as Array<Record<string, string>>) {
        const response = await h.get('/peek', headers);
        const body = (await response.json()) as { id: string; data: object; isNew: boolean };
        expect(body.id).not.toBe(forged);
        expect(body.id).not.toBe(real);
        expect(body.id).toMatch(ISSUED_ID);
        expect(body.isNew).toBe(true);
        expect(body.data).toEqual({});
        expect(cookieValue(response, 'session_id')).toBe(body.id);
      }
    }
  });

  it("keeps the application's own cookies alongside the session cookie", async () => {
    const h = await start({ store: makeStore() });
    const response = await h.get('/theme');
    const lines = response.headers.getSetCookie();
    expect(lines).toContain('theme=dark; Path=/');
    expect(lines).toContain('lang=fr; Path=/');
    expect(lines.filter((line) => line.startsWith('session_id='))).toHaveLength(1);
    expect(cookieValue(response, 'session_id')).toBe(sid(response));
  });

  it('keeps a cookie set on reply.raw, and cookies set with @fastify/cookie (whichever plugin comes first)', async () => {
    const h = await start({ store: makeStore() });
    const raw = await h.get('/raw-cookie');
    expect(raw.headers.getSetCookie()).toEqual(['raw=1; Path=/', expect.stringMatching(/^session_id=/)]);
    for (const cookieFirst of [true, false]) {
      const withCookies = await start({
        store: makeStore(),
        mount: async (app, mw) => {
          if (cookieFirst) await app.register(fastifyCookie);
          await app.register(mw.fastify());
          if (!cookieFirst) await app.register(fastifyCookie);
          app.get('/pref', async (request, reply) => {
            reply.setCookie('pref', 'compact', { path: '/' });
            reply.header('set-cookie', 'own=1');
            request.session.set('pref', 'compact');
            return { ok: true };
          });
        },
      });
      const response = await withCookies.get('/pref');
      const lines = response.headers.getSetCookie();
      expect(lines).toHaveLength(3);
      expect(lines).toContain('pref=compact; Path=/; SameSite=Lax');
      expect(lines).toContain('own=1');
      expect(cookieValue(response, 'session_id')).toBe(sid(response));
    }
  });

  it('regenerate: a new id in header and cookie, data kept, the old id refused', async () => {
    const h = await start({ store: makeStore() });
    const old = sid(await h.get('/set?user=alice'));
    const response = await h.get('/regenerate', { 'X-Session-ID': old });
    const body = (await response.json()) as { before: string; after: string; data: object };
    const fresh = sid(response);
    expect(fresh).not.toBe(old);
    expect(body).toEqual({ before: old, after: fresh, data: { user: 'alice' } });
    expect(cookieValue(response, 'session_id')).toBe(fresh);
    expect(await h.store.get(fresh)).toEqual({ user: 'alice' });
    expect(await h.store.get(old)).toBeUndefined();
    const replay = (await (await h.get('/peek', { 'X-Session-ID': old })).json()) as { id: string; data: object };
    expect(replay.id).not.toBe(old);
    expect(replay.data).toEqual({});
  });

  it('destroy: the cookie is cleared, no id header, the store entry is gone', async () => {
    const h = await start({ store: makeStore() });
    const id = sid(await h.get('/set?user=alice'));
    const response = await h.get('/destroy', { 'X-Session-ID': id });
    expect(response.status).toBe(200);
    expect(response.headers.get('x-session-id')).toBeNull();
    expect(cookieLine(response, 'session_id')).toMatch(/^session_id=; Max-Age=0; .*Path=\//);
    expect(await h.store.get(id)).toBeUndefined();
    expect(await h.store.length()).toBe(0);
    const next = (await (await h.get('/peek', { cookie: `session_id=${id}` })).json()) as { id: string };
    expect(next.id).not.toBe(id);
  });

  it('a write is visible to the request that immediately follows (stored before the reply)', async () => {
    const h = await start({ store: makeStore() });
    const client = new CookieClient(h.url);
    for (let i = 1; i <= 5; i++) {
      await client.fetch(`/set?n=${i}`);
      const peek = (await (await client.fetch('/peek')).json()) as { data: object };
      expect(peek.data).toEqual({ n: String(i) });
    }
  });

  it('a redirect carries the cookie, and the write is in the store when the client has the 302', async () => {
    const h = await start({ store: makeStore() });
    const response = await h.get('/flag');
    expect(response.status).toBe(302);
    expect(response.headers.get('location')).toBe('/next');
    const id = sid(response);
    expect(cookieValue(response, 'session_id')).toBe(id);
    expect(await h.store.get(id)).toEqual({ flag: 1 });
  });

  it('a streamed (Node stream) response carries the cookie and keeps the writes made before and while streaming', async () => {
    const h = await start({ store: makeStore() });
    const response = await h.get('/stream');
    const id = sid(response);
    expect(cookieValue(response, 'session_id')).toBe(id);
    expect(await response.text()).toBe('one,two');
    expect(await h.store.get(id)).toEqual({ before: 1, during: 2 });
  });

  it('a Web ReadableStream body and a Response payload carry the cookie and keep the writes', async () => {
    const h = await start({ store: makeStore() });
    const web = await h.get('/web-stream');
    const id = sid(web);
    expect(cookieValue(web, 'session_id')).toBe(id);
    expect(await web.text()).toBe('web');
    expect(await h.store.get(id)).toEqual({ web: 1, webDuring: 2 });

    const response = await h.get('/response');
    expect(response.status).toBe(201);
    expect(response.headers.get('x-own')).toBe('yes');
    expect(await response.text()).toBe('from a Response');
    const lines = response.headers.getSetCookie();
    expect(lines).toContain('own=1; Path=/');
    expect(lines.filter((line) => line.startsWith('session_id='))).toHaveLength(1);
    expect(await h.store.get(sid(response))).toEqual({ response: 1 });
  });

  it('request.state.sessionId and sessionMiddleware.sessionOf(request) name the session', async () => {
    const h = await start({ store: makeStore() });
    const response = await h.get('/peek');
    const body = (await response.json()) as { id: string };
    expect(body.id).toBe(sid(response));
    expect(h.seen).toHaveLength(1);
    expect(h.seen[0]!.sessionOf).toBe(h.seen[0]!.session);
    expect(h.seen[0]!.stateId).toBe(body.id);
    expect((h.seen[0]!.session as { id: string }).id).toBe(body.id);
  });

  it('an error thrown by the handler still gets the session stored and the cookie', async () => {
    const h = await start({ store: makeStore() });
    const response = await h.get('/boom');
    expect(response.status).toBe(500);
    expect(await response.json()).toEqual({ kind: 'other' });
    expect(await h.store.get(sid(response))).toEqual({ boom: 1 });
  });
});

describe('mounting', () => {
  it('registered twice at the root: one commit and one Set-Cookie', async () => {
    const store = new CountingStore();
    const h = await start({
      store,
      mount: async (app, mw) => {
        await app.register(mw.fastify());
        await app.register(mw.fastify());
      },
    });
    const response = await h.get('/set?a=1');
    expect(response.status).toBe(200);
    expect(response.headers.getSetCookie().filter((line) => line.startsWith('session_id='))).toHaveLength(1);
    expect(response.headers.get('x-session-id')).toBe(sid(response));
    expect(store.writes).toBe(1);
    expect(await store.get(sid(response))).toEqual({ a: '1' });
  });

  it('registered at the root and again in a child plugin: one commit and one Set-Cookie', async () => {
    const store = new CountingStore();
    const h = await start({
      store,
      mount: async (app, mw) => {
        await app.register(mw.fastify());
        await app.register(async (child) => {
          await child.register(mw.fastify());
          child.get('/child/set', async (request) => {
            request.session.set('child', true);
            return { id: request.state.sessionId };
          });
        });
      },
    });
    const response = await h.get('/child/set');
    const body = (await response.json()) as { id: string };
    expect(body.id).toBe(sid(response));
    expect(response.headers.getSetCookie()).toHaveLength(1);
    expect(store.writes).toBe(1);
    expect(await store.get(body.id)).toEqual({ child: true });
  });

  it('is not encapsulated (like fastify-plugin): registered in a child, it serves that child, not its siblings', async () => {
    const h = await start({
      mount: async (app, mw) => {
        await app.register(async (child) => {
          await child.register(mw.fastify());
          child.get('/inside', async (request) => ({ id: request.state.sessionId }));
        });
        app.get('/outside', async (request) => ({ session: request.session ?? 'none' }));
      },
    });
    const inside = await h.get('/inside');
    expect(((await inside.json()) as { id: string }).id).toBe(sid(inside));
    const outside = await h.get('/outside');
    expect(await outside.json()).toEqual({ session: 'none' });
    expect(outside.headers.get('x-session-id')).toBeNull();
    expect(outside.headers.getSetCookie()).toEqual([]);
  });

  it('carries the plugin metadata fastify-plugin would set', async () => {
    const plugin = new SessionMiddleware({ secret: SECRET }).fastify() as unknown as Record<symbol, unknown>;
    expect(plugin[Symbol.for('skip-override')]).toBe(true);
    expect(plugin[Symbol.for('fastify.display-name')]).toBe('swarmauri-middleware-session');
    const h = await start();
    expect(h.app.hasPlugin('swarmauri-middleware-session')).toBe(true);
    expect(h.app.hasRequestDecorator('session')).toBe(true);
    expect(h.app.hasRequestDecorator('state')).toBe(true);
  });
});

describe('store failures', () => {
  it('a store whose load throws reaches the error handler: 503, kind store-error, no session headers', async () => {
    const store = new FlakyStore();
    const h = await start({ store });
    const id = sid(await h.get('/set?a=1'));
    store.failing = true;
    const response = await h.get('/peek', { 'X-Session-ID': id });
    expect(response.status).toBe(503);
    expect(await response.json()).toEqual({ kind: 'store-error' });
    expect(response.headers.get('x-session-id')).toBeNull();
    expect(response.headers.getSetCookie()).toEqual([]);
    expect(h.errors).toHaveLength(1);
    expect(SessionError.is(h.errors[0]) && h.errors[0].kind).toBe('store-error');
  });

  it('a store whose writes throw: the onSend failure reaches the error handler once, with no second commit and no cookie', async () => {
    const store = new WriteFailStore();
    const h = await start({ store });
    const response = await h.get('/set?a=1');
    expect(response.status).toBe(503);
    expect(await response.json()).toEqual({ kind: 'store-error' });
    expect(h.errors).toHaveLength(1);
    expect((h.errors[0] as SessionError).status).toBe(503);
    expect(store.writes).toBe(1);
    expect(response.headers.get('x-session-id')).toBeNull();
    expect(response.headers.getSetCookie()).toEqual([]);
    // A streamed body the error reply replaces is closed, not left open.
    const streamed = await h.get('/stream');
    expect(streamed.status).toBe(503);
    expect(await streamed.json()).toEqual({ kind: 'store-error' });
    await sleep(10);
    expect(h.streams.at(-1)?.destroyed).toBe(true);
    // A Response payload: the error reply takes none of its status or headers.
    const fromResponse = await h.get('/response');
    expect(fromResponse.status).toBe(503);
    expect(fromResponse.headers.get('x-own')).toBeNull();
    expect(fromResponse.headers.getSetCookie()).toEqual([]);
    expect(h.errors).toHaveLength(3);
    // The server keeps serving.
    expect((await h.get('/maybe')).status).toBe(200);
  });

  it("Fastify's default error handler answers 503 too", async () => {
    const store = new WriteFailStore();
    const h = await start({ store, defaultErrorHandler: true, fastify: { logger: false } });
    const response = await h.get('/set?a=1');
    expect(response.status).toBe(503);
    expect(((await response.json()) as { statusCode: number }).statusCode).toBe(503);
    expect(response.headers.getSetCookie()).toEqual([]);
  });

  it("onStoreError: 'continue' serves the request with no session", async () => {
    const store = new FlakyStore();
    const h = await start({ store, options: { onStoreError: 'continue' } });
    const id = sid(await h.get('/set?a=1'));
    store.failing = true;
    const response = await h.get('/maybe', { 'X-Session-ID': id });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ hasSession: false, id: null });
    expect(response.headers.get('x-session-id')).toBeNull();
    expect(response.headers.getSetCookie()).toEqual([]);
    expect(h.errors).toEqual([]);
  });

  it('with a slow store (200 ms writes) the write is done before the client has the response', async () => {
    const store = new SlowWriteStore(200);
    const h = await start({ store });
    const started = Date.now();
    const response = await h.get('/flag');
    expect(Date.now() - started).toBeGreaterThanOrEqual(150);
    expect(response.status).toBe(302);
    expect(await store.get(sid(response))).toEqual({ flag: 1 });
    const streamed = await h.get('/stream');
    const id = sid(streamed);
    await streamed.text();
    expect(await store.get(id)).toEqual({ before: 1, during: 2 });
  });
});

describe("secure: 'auto' follows Fastify's trustProxy", () => {
  it.each([
    [false, false],
    [true, true],
  ])('trustProxy %s: X-Forwarded-Proto https gives a Secure cookie: %s', async (trustProxy, secure) => {
    const h = await start({ options: { cookie: { secure: 'auto' } }, fastify: { trustProxy } });
    const forwarded = await h.get('/peek', { 'X-Forwarded-Proto': 'https' });
    expect(/; Secure/.test(cookieLine(forwarded, 'session_id')!)).toBe(secure);
    const plain = await h.get('/peek');
    expect(cookieLine(plain, 'session_id')).not.toMatch(/; Secure/);
  });
});

describe('examples/fastify.ts', () => {
  it('prints visits 1 then visits 2 for one session_id', async () => {
    const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', 'examples/fastify.ts'], { timeout: 30_000 });
    const [first, second] = stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { session_id: string; visits: number });
    expect(first).toEqual({ session_id: expect.stringMatching(ISSUED_ID), visits: 1 });
    expect(second).toEqual({ session_id: first!.session_id, visits: 2 });
  });
});
