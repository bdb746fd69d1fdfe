/**
 * `sessionMiddleware.koa()` in real Koa 3 apps on real sockets: `ctx.session`,
 * `ctx.state.sessionId`, `sessionOf(ctx)`, commit after `next()` and before Koa writes the response.
 */
import { execFile } from 'node:child_process';
import { Readable } from 'node:stream';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from '@jest/globals';
import Koa from 'koa';
import { MemoryStore, SessionError, SessionMiddleware, type SessionMiddlewareOptions, type SessionStore, type StoredSession } from '../../src/index.js';
import type { SessionChanges } from '../../src/core/json.js';
import { SlowWriteStore } from '../support/failingStores.js';
import { CookieClient, ISSUED_ID, cookieLine, cookieValue, flipChar, listenApp, sleep, type Running } from '../support/http.js';

const SECRET = 'test-secret-of-at-least-32-characters!!';

/** A MemoryStore that can be made to fail its reads or its writes (messages include the id, which must never leak). */
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

interface Setup {
  options?: SessionMiddlewareOptions;
  store?: SessionStore;
  proxy?: boolean;
  /** Mount the middleware twice. */
  twice?: boolean;
  /** An upstream error handler that answers SessionErrors with `{ kind }` and others with 500 `{ error }`. */
  errorHandler?: boolean;
}

interface Harness {
  mw: SessionMiddleware;
  store: SessionStore;
  server: Running;
  errors: unknown[];
  get(path: string, headers?: Record<string, string>, method?: string): Promise<Response>;
}

const open: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const close of open.splice(0)) await close();
});

function chunks(ctx: Koa.Context, during: () => void): AsyncGenerator<string> {
  return (async function* () {
    yield 'part1,';
    await sleep(10);
    during();
    yield 'part2';
    void ctx;
  })();
}

const routes: Record<string, (ctx: Koa.Context, mw: SessionMiddleware) => unknown> = {
  '/inc': async (ctx, mw) => {
    const visits = await ctx.session.increment('visits');
    ctx.body = { visits, id: ctx.session.id, stateId: ctx.state.sessionId, sessionOf: mw.sessionOf(ctx)?.id };
  },
  '/peek': (ctx) => {
    ctx.body = { id: ctx.state.sessionId, data: ctx.session.toJSON(), isNew: ctx.session.isNew };
  },
  '/set': (ctx) => {
    for (const [key, value] of Object.entries(ctx.query)) ctx.session.set(key, String(value));
    ctx.body = { id: ctx.state.sessionId };
  },
  '/theme': (ctx) => {
    ctx.cookies.set('theme', 'dark', { httpOnly: false });
    ctx.append('Set-Cookie', 'lang=en; Path=/');
    ctx.session.set('seen', true);
    ctx.body = { ok: true };
  },
  '/regenerate': async (ctx) => {
    const before = ctx.state.sessionId;
    await ctx.session.regenerate();
    ctx.body = { before, after: ctx.state.sessionId, data: ctx.session.toJSON() };
  },
  '/destroy': async (ctx) => {
    await ctx.session.destroy();
    ctx.body = { destroyed: true };
  },
  '/redirect': (ctx) => {
    ctx.session.set('flag', 1);
    ctx.redirect('/next');
  },
  '/stream': (ctx) => {
    ctx.session.set('before', 1);
    ctx.type = 'text/plain';
    ctx.body = Readable.from(chunks(ctx, () => ctx.session.set('during', 2)));
  },
  '/stream-length': (ctx) => {
    ctx.type = 'text/plain';
    ctx.body = Readable.from(chunks(ctx, () => ctx.session.set('during', 3)));
    ctx.length = 'part1,part2'.length;
  },
  '/web-stream': (ctx) => {
    let step = 0;
    ctx.type = 'text/plain';
    ctx.body = new ReadableStream<Uint8Array>({
      pull(controller) {
        step++;
        if (step === 1) controller.enqueue(new TextEncoder().encode('web,'));
        else if (step === 2) {
          ctx.session.set('web', true);
          controller.enqueue(new TextEncoder().encode('stream'));
        } else controller.close();
      },
    });
  },
  '/continue': (ctx) => {
    ctx.body = { hasSession: ctx.session !== undefined, stateId: ctx.state.sessionId ?? null };
  },
  '/throw': (ctx) => {
    ctx.session.set('beforeError', 1);
    throw new Error('handler failed');
  },
};

async function start(setup: Setup = {}): Promise<Harness> {
  const store = setup.store ?? new MemoryStore();
  const mw = new SessionMiddleware({ secret: SECRET, sessionStorage: store, ...setup.options });
  const app = new Koa({ proxy: setup.proxy ?? false });
  const errors: unknown[] = [];
  app.silent = true;
  app.on('error', (error: unknown) => errors.push(error));
  if (setup.errorHandler) {
    app.use(async (ctx, next) => {
      try {
        await next();
      } catch (error) {
        ctx.status = SessionError.is(error) ? error.status : 500;
        ctx.body = SessionError.is(error) ? { kind: error.kind } : { error: (error as Error).message };
      }
    });
  }
  app.use(mw.koa());
  if (setup.twice) app.use(mw.koa());
  app.use(async (ctx) => {
    const route = routes[ctx.path];
    if (route) await route(ctx, mw);
  });
  const server = await listenApp(app);
  open.push(() => server.close());
  if (store instanceof MemoryStore) open.push(() => store.close());
  return {
    mw,
    store,
    server,
    errors,
    get: (path, headers = {}, method = 'GET') => fetch(server.url + path, { method, headers, redirect: 'manual' }),
  };
}

function sid(response: Response): string {
  const id = response.headers.get('x-session-id');
  if (id === null) throw new Error(`no X-Session-ID on ${response.status} response`);
  return id;
}

describe('Koa 3 with sessionMiddleware.koa()', () => {
  it('runs the seed flow: visits 1, then 2 by header, then 3 by cookie; ctx.state.sessionId and sessionOf(ctx) agree', async () => {
    const h = await start();
    const first = await h.get('/inc');
    expect(first.status).toBe(200);
    const id = sid(first);
    expect(id).toMatch(ISSUED_ID);
    expect(cookieLine(first, 'session_id')).toBe(`session_id=${id}; Max-Age=3600; Path=/; HttpOnly; SameSite=Lax`);
    expect(first.headers.get('cache-control')).toBe('no-store');
    expect(await first.json()).toEqual({ visits: 1, id, stateId: id, sessionOf: id });

    const second = await h.get('/inc', { 'X-Session-ID': id });
    expect(sid(second)).toBe(id);
    expect(((await second.json()) as { visits: number }).visits).toBe(2);

    const third = await h.get('/inc', { cookie: `session_id=${id}` });
    // A cookie client gets no id header, and no cookie while its copy is fresh.
    expect(third.headers.get('x-session-id')).toBeNull();
    expect(cookieLine(third, 'session_id')).toBeUndefined();
    expect(await third.json()).toEqual({ visits: 3, id, stateId: id, sessionOf: id });
    expect(await h.store.get(id)).toEqual({ visits: 3 });
    expect(h.errors).toEqual([]);
  });

  it('a cookie-keeping client keeps one session', async () => {
    const h = await start();
    const client = new CookieClient(h.server.url);
    const id = sid(await client.fetch('/inc'));
    await client.fetch('/inc');
    const last = await client.fetch('/inc');
    expect(client.cookies.get('session_id')).toBe(id);
    expect(((await last.json()) as { visits: number }).visits).toBe(3);
  });

  it('does not adopt a forged id (well-formed but not issued, or a tampered signature): a new one is issued', async () => {
    const h = await start();
    const issued = sid(await h.get('/set?user=alice'));
    const notIssued = `${'Q'.repeat(22)}.${Math.floor(Date.now() / 1000).toString(36)}.${'Z'.repeat(24)}`;
    const tampered = flipChar(issued, issued.length - 3);
    for (const forged of [notIssued, tampered]) {
      const variants: Array<Record<string, string>> = [{ 'X-Session-ID': forged }, { cookie: `session_id=${forged}` }];
      for (const headers of variants) {
        const response = await h.get('/peek', headers);
        const body = (await response.json()) as { id: string; data: Record<string, unknown>; isNew: boolean };
        expect(body.id).not.toBe(forged);
        expect(body.id).not.toBe(issued);
        expect(body.id).toMatch(ISSUED_ID);
        expect(body.data).toEqual({});
        expect(body.isNew).toBe(true);
        expect(cookieValue(response, 'session_id')).toBe(body.id);
      }
    }
    expect(await h.store.length()).toBe(1);
  });

  it("keeps the app's own cookies (ctx.cookies.set and ctx.append) alongside the session cookie", async () => {
    const h = await start();
    const response = await h.get('/theme');
    const id = sid(response);
    const lines = response.headers.getSetCookie();
    expect(lines.some((line) => line.startsWith('theme=dark;'))).toBe(true);
    expect(lines).toContain('lang=en; Path=/');
    expect(lines.filter((line) => line.startsWith('session_id='))).toEqual([`session_id=${id}; Max-Age=3600; Path=/; HttpOnly; SameSite=Lax`]);
    expect(await h.store.get(id)).toEqual({ seen: true });
  });

  it('regenerate(): a new id in header and cookie, data kept, the old id no longer works', async () => {
    const h = await start();
    const old = sid(await h.get('/set?user=alice'));
    const response = await h.get('/regenerate', { 'X-Session-ID': old });
    const body = (await response.json()) as { before: string; after: string; data: Record<string, unknown> };
    const fresh = sid(response);
    expect(fresh).not.toBe(old);
    expect(body).toEqual({ before: old, after: fresh, data: { user: 'alice' } });
    expect(cookieValue(response, 'session_id')).toBe(fresh);
    expect(await h.store.get(fresh)).toEqual({ user: 'alice' });
    expect(await h.store.get(old)).toBeUndefined();

    const replay = (await (await h.get('/peek', { 'X-Session-ID': old })).json()) as { id: string; data: Record<string, unknown> };
    expect(replay.id).not.toBe(old);
    expect(replay.id).not.toBe(fresh);
    expect(replay.data).toEqual({});
    const current = (await (await h.get('/peek', { cookie: `session_id=${fresh}` })).json()) as { id: string; data: Record<string, unknown> };
    expect(current).toMatchObject({ id: fresh, data: { user: 'alice' } });
  });

  it('destroy(): the cookie is cleared, no X-Session-ID, the store entry is gone', async () => {
    const h = await start();
    const id = sid(await h.get('/set?user=alice'));
    const response = await h.get('/destroy', { cookie: `session_id=${id}` });
    expect(response.status).toBe(200);
    expect(response.headers.get('x-session-id')).toBeNull();
    expect(cookieLine(response, 'session_id')).toMatch(/^session_id=; Max-Age=0; .*Path=\//);
    expect(await h.store.get(id)).toBeUndefined();
    expect(await h.store.length()).toBe(0);
    const replay = (await (await h.get('/peek', { cookie: `session_id=${id}` })).json()) as { id: string; data: Record<string, unknown> };
    expect(replay.id).not.toBe(id);
    expect(replay.data).toEqual({});
  });

  describe('a failing store reaches Koa\'s error handling', () => {
    it('a failing load: Koa answers 503 "Service Unavailable" and shows nothing of the error; app "error" gets the SessionError', async () => {
      const store = new BrokenStore();
      const h = await start({ store });
      const id = sid(await h.get('/set?a=1'));
      store.failLoad = true;
      const response = await h.get('/peek', { 'X-Session-ID': id });
      expect(response.status).toBe(503);
      const text = await response.text();
      expect(text).toBe('Service Unavailable');
      expect(text).not.toContain(id);
      expect(response.headers.get('x-session-id')).toBeNull();
      expect(response.headers.getSetCookie()).toEqual([]);
      expect(h.errors).toHaveLength(1);
      const error = h.errors[0] as SessionError;
      expect(SessionError.is(error)).toBe(true);
      expect(error).toMatchObject({ kind: 'store-error', status: 503, statusCode: 503, expose: false });
      expect(error.message).not.toContain(id);
    });

    it('a failing write after the handler: 503 instead of the handler\'s answer; an upstream error handler sees kind store-error', async () => {
      const store = new BrokenStore();
      store.failWrite = true;
      const plain = await start({ store });
      const response = await plain.get('/set?a=1');
      expect(response.status).toBe(503);
      expect(await response.text()).toBe('Service Unavailable');
      expect(response.headers.get('x-session-id')).toBeNull();
      expect((plain.errors[0] as SessionError).kind).toBe('store-error');

      const handled = await start({ store, errorHandler: true });
      const answered = await handled.get('/set?a=1');
      expect(answered.status).toBe(503);
      expect(await answered.json()).toEqual({ kind: 'store-error' });
      expect(handled.errors).toEqual([]);
    });

    it("onStoreError: 'continue' serves the request with no session", async () => {
      const store = new BrokenStore();
      store.failLoad = true;
      const h = await start({ store, options: { onStoreError: 'continue' } });
      const id = sid(await h.get('/continue'));
      const response = await h.get('/continue', { 'X-Session-ID': id });
      expect(response.status).toBe(200);
      expect(await response.json()).toEqual({ hasSession: false, stateId: null });
      expect(h.errors).toEqual([]);
    });
  });

  it('a handler error: what it wrote before throwing is stored, and an upstream error page carries the cookie', async () => {
    const h = await start({ errorHandler: true });
    const response = await h.get('/throw');
    expect(response.status).toBe(500);
    expect(await response.json()).toEqual({ error: 'handler failed' });
    const id = sid(response);
    expect(cookieValue(response, 'session_id')).toBe(id);
    expect(await h.store.get(id)).toEqual({ beforeError: 1 });
  });

  describe('durability', () => {
    it('with 200 ms store writes, a write is visible to the request that immediately follows', async () => {
      const store = new SlowWriteStore(200);
      const h = await start({ store });
      const first = await h.get('/inc');
      const id = sid(first);
      expect(await store.get(id)).toEqual({ visits: 1 });
      const second = await h.get('/inc', { cookie: `session_id=${id}` });
      expect(((await second.json()) as { visits: number }).visits).toBe(2);
    });

    it('a redirect carries the cookie and its write is stored before the client has the 302', async () => {
      const store = new SlowWriteStore(100);
      const h = await start({ store });
      const response = await h.get('/redirect');
      expect(response.status).toBe(302);
      expect(response.headers.get('location')).toBe('/next');
      const id = sid(response);
      expect(cookieValue(response, 'session_id')).toBe(id);
      expect(await store.get(id)).toEqual({ flag: 1 });
    });

    it.each([
      ['/stream', 'part1,part2', { before: 1, during: 2 }],
      ['/stream-length', 'part1,part2', { during: 3 }],
      ['/web-stream', 'web,stream', { web: true }],
    ])('a streamed body (%s) carries the cookie and keeps writes made before and while it streams', async (path, text, data) => {
      const store = new SlowWriteStore(100);
      const h = await start({ store });
      const response = await h.get(path);
      expect(response.status).toBe(200);
      const id = sid(response);
      expect(cookieValue(response, 'session_id')).toBe(id);
      if (path === '/stream-length') expect(response.headers.get('content-length')).toBe(String(text.length));
      expect(await response.text()).toBe(text);
      // The client has the whole body: the writes are in the store already.
      expect(await store.get(id)).toEqual(data);
      expect(h.errors).toEqual([]);
    });

    it('a store failure at the end of a streamed body cuts the response: the client never takes it for complete', async () => {
      const store = new BrokenStore();
      store.failWrite = true;
      const h = await start({ store });
      // Nothing to store before the body streams; the write made while it streams fails.
      const response = await h.get('/stream-length');
      expect(response.status).toBe(200);
      await expect(response.text()).rejects.toThrow();
    });

    it('a HEAD request for a streamed route gets the headers and stores the write made before it', async () => {
      const h = await start();
      const response = await h.get('/stream', {}, 'HEAD');
      expect(response.status).toBe(200);
      const id = sid(response);
      expect(cookieValue(response, 'session_id')).toBe(id);
      expect(await h.store.get(id)).toEqual({ before: 1 });
    });
  });

  it.each([
    [false, false],
    [true, true],
  ])("secure: 'auto' follows app.proxy (proxy %s): X-Forwarded-Proto: https gives Secure %s", async (proxy, secure) => {
    const h = await start({ proxy, options: { cookie: { secure: 'auto' } } });
    const response = await h.get('/peek', { 'X-Forwarded-Proto': 'https' });
    expect(/;\s*Secure(;|$)/.test(cookieLine(response, 'session_id')!)).toBe(secure);
    const plain = await h.get('/peek');
    expect(cookieLine(plain, 'session_id')).not.toMatch(/Secure/);
  });

  it('mounted twice: one commit, one X-Session-ID, one Set-Cookie', async () => {
    const store = new BrokenStore();
    const h = await start({ store, twice: true });
    const response = await h.get('/set?a=1');
    const id = sid(response);
    expect(response.headers.get('x-session-id')).toBe(id);
    expect(response.headers.getSetCookie()).toEqual([`session_id=${id}; Max-Age=3600; Path=/; HttpOnly; SameSite=Lax`]);
    expect(store.patches).toBe(1);
    expect(await store.get(id)).toEqual({ a: '1' });
    const inc = await h.get('/inc', { 'X-Session-ID': id });
    expect(((await inc.json()) as { visits: number }).visits).toBe(1);
  });

  it('examples/koa.ts prints visits 1 then 2 for one session_id', async () => {
    const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', 'examples/koa.ts'], { timeout: 30_000 });
    const [first, second] = stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { session_id: string; visits: number });
    expect(first).toEqual({ session_id: expect.stringMatching(ISSUED_ID), visits: 1 });
    expect(second).toEqual({ session_id: first!.session_id, visits: 2 });
  });
});
