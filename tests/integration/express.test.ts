/**
 * The session flow through real Express 5 apps on real sockets, with both mounting styles:
 * `app.use((req, res, next) => mw.dispatch(req, next))` and `app.use(mw.express())`.
 */
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import express, { type Express } from 'express';
import { MemoryStore, SessionMiddleware, type SessionMiddlewareOptions, type SessionStore, type StoredSession } from '../../src/index.js';
import { SlowWriteStore } from '../support/failingStores.js';
import { CookieClient, ISSUED_ID, cookieLine, cookieValue, listenApp, sleep, type Running } from '../support/http.js';

const SECRET = 'test-secret-of-at-least-32-characters!!';
type Mount = 'dispatch' | 'express()';
const MOUNTS: Mount[] = ['dispatch', 'express()'];

/** An Express app with the session middleware mounted in `mount` style and a set of test routes. */
function makeApp(mw: SessionMiddleware, mount: Mount): Express {
  const app = express();
  if (mount === 'dispatch') app.use((req, res, next) => mw.dispatch(req, next));
  else app.use(mw.express());

  app.get('/peek', (req, res) => {
    res.json({ id: req.state.sessionId, data: req.session.toJSON(), isNew: req.session.isNew });
  });
  app.get('/nothing', (_req, res) => {
    res.send('ok');
  });
  app.get('/set', (req, res) => {
    for (const [key, value] of Object.entries(req.query)) req.session.set(key, value as string);
    res.json({ id: req.state.sessionId, data: req.session.toJSON() });
  });
  app.get('/theme', (req, res) => {
    res.cookie('theme', 'dark');
    req.session.set('seen', true);
    res.json({ ok: true });
  });
  app.get('/setk/:i', (req, res) => {
    const i = Number(req.params.i);
    req.session.set(`k${i}`, i);
    res.json({ ok: true });
  });
  app.get('/inc', async (req, res) => {
    const n = await req.session.increment('n');
    res.json({ n });
  });
  app.get('/flag', (req, res) => {
    req.session.set('flag', 1);
    res.redirect('/next');
  });
  app.get('/regenerate', async (req, res) => {
    const before = req.state.sessionId;
    await req.session.regenerate();
    res.json({ before, after: req.state.sessionId, data: req.session.toJSON() });
  });
  app.get('/regenerate-empty', async (req, res) => {
    await req.session.regenerate({ keepData: false });
    res.json({ after: req.state.sessionId, data: req.session.toJSON() });
  });
  app.get('/destroy', async (req, res) => {
    await req.session.destroy();
    res.json({ destroyed: true });
  });
  app.get('/cart-init', (req, res) => {
    req.session.set('cart', ['apple']);
    res.json({ ok: true });
  });
  app.get('/cart-push', (req, res) => {
    (req.session.get('cart') as string[]).push('pear');
    res.json({ ok: true });
  });
  return app;
}

interface Harness {
  store: MemoryStore;
  mw: SessionMiddleware;
  server: Running;
  get(path: string, headers?: Record<string, string>): Promise<Response>;
  peek(headers?: Record<string, string>): Promise<{ response: Response; body: { id: string; data: Record<string, unknown>; isNew: boolean } }>;
}

async function start(mount: Mount, options: SessionMiddlewareOptions = {}, store: MemoryStore = new MemoryStore()): Promise<Harness> {
  const mw = new SessionMiddleware({ secret: SECRET, sessionStorage: store, ...options });
  const server = await listenApp(makeApp(mw, mount));
  const get = (path: string, headers: Record<string, string> = {}): Promise<Response> =>
    fetch(server.url + path, { headers, redirect: 'manual' });
  return {
    store,
    mw,
    server,
    get,
    peek: async (headers = {}) => {
      const response = await get('/peek', headers);
      return { response, body: (await response.json()) as { id: string; data: Record<string, unknown>; isNew: boolean } };
    },
  };
}

/**
 * A MemoryStore whose reads answer after a delay with what the store held when they began, as a
 * networked store does. With the plain MemoryStore every request loads and commits within one
 * turn of the event loop, so "concurrent" requests never overlap and a whole-record write or a
 * non-atomic increment would still pass; with this one, all the requests below have read the
 * session before any of them writes.
 */
class SlowReadStore extends MemoryStore {
  constructor(readonly delayMs = 50) {
    super({ sweepIntervalSeconds: 0 });
  }

  override async load(id: string): Promise<StoredSession | undefined> {
    const found = await super.load(id);
    await sleep(this.delayMs);
    return found;
  }
}

function sid(response: Response): string {
  const id = response.headers.get('x-session-id');
  if (id === null) throw new Error(`no X-Session-ID on ${response.status} response`);
  return id;
}

describe.each(MOUNTS)('Express 5, mounted with %s', (mount) => {
  let h: Harness;
  const extra: Array<{ close(): Promise<void> | void }> = [];

  beforeEach(async () => {
    h = await start(mount);
  });

  afterEach(async () => {
    await h.server.close();
    h.store.close();
    for (const thing of extra.splice(0)) await thing.close();
  });

  describe('first request without an id', () => {
    it('gets an X-Session-ID header and a hardened cookie with the same id, and req.state.sessionId equals it', async () => {
      const { response, body } = await h.peek();
      expect(response.status).toBe(200);
      const id = sid(response);
      expect(id).toMatch(ISSUED_ID);
      expect(body.id).toBe(id);
      expect(body.isNew).toBe(true);
      const line = cookieLine(response, 'session_id');
      // A new session's first cookie lives exactly maxAge, even though nothing was stored.
      expect(line).toMatch(new RegExp(`^session_id=${id.replace(/\./g, '\\.')}; Max-Age=3600; Path=/; HttpOnly; SameSite=Lax$`));
      expect(line).not.toMatch(/Secure/i);
    });

    it('a first request that stores data gets exactly `session_id=<id>; Max-Age=3600; Path=/; HttpOnly; SameSite=Lax`', async () => {
      const response = await h.get('/set?a=1');
      const id = sid(response);
      expect(cookieLine(response, 'session_id')).toBe(`session_id=${id}; Max-Age=3600; Path=/; HttpOnly; SameSite=Lax`);
      expect(await h.store.get(id)).toEqual({ a: '1' });
    });

    it('sets Secure when cookie.secure is true, even over plain http', async () => {
      const secure = await start(mount, { cookie: { secure: true } });
      extra.push(secure.server, secure.store);
      const response = await secure.get('/nothing');
      const id = sid(response);
      expect(cookieLine(response, 'session_id')).toMatch(
        new RegExp(`^session_id=${id.replace(/\./g, '\\.')}; Max-Age=3600; Path=/; HttpOnly; Secure; SameSite=Lax$`),
      );
    });

    it('sends no response header named after the cookie', async () => {
      const response = await h.get('/set?a=1');
      expect(response.headers.get('session_id')).toBeNull();
      expect(response.headers.get('x-session-id')).not.toBeNull();
    });
  });

  describe('returning clients', () => {
    it('a second request with the X-Session-ID header sees the same session and its data', async () => {
      const first = await h.get('/set?user=alice');
      const id = sid(first);
      const { response, body } = await h.peek({ 'X-Session-ID': id });
      expect(sid(response)).toBe(id);
      expect(body.id).toBe(id);
      expect(body.isNew).toBe(false);
      expect(body.data).toEqual({ user: 'alice' });
      // The client's copy of the cookie does not need to change: no Set-Cookie.
      expect(cookieLine(response, 'session_id')).toBeUndefined();
    });

    it('a second request with only the cookie sees the same session (browsers keep their session)', async () => {
      const first = await h.get('/set?user=bob');
      const id = cookieValue(first, 'session_id')!;
      expect(id).toBe(sid(first));
      const { response, body } = await h.peek({ cookie: `other=1; session_id=${id}` });
      expect(body.id).toBe(id);
      expect(body.data).toEqual({ user: 'bob' });
      // A cookie client never gets the HttpOnly id in a header page scripts can read.
      expect(response.headers.get('x-session-id')).toBeNull();
      expect(cookieLine(response, 'session_id')).toBeUndefined();
    });

    it('a cookie-keeping client keeps one session over many requests', async () => {
      const client = new CookieClient(h.server.url);
      const first = await client.fetch('/inc');
      const id = sid(first);
      for (let i = 0; i < 3; i++) {
        // The first response set the cookie (and recorded when it runs out): no other needs to.
        expect(cookieLine(await client.fetch('/inc'), 'session_id')).toBeUndefined();
      }
      const last = await client.fetch('/peek');
      expect(last.headers.get('x-session-id')).toBeNull();
      expect(client.cookies.get('session_id')).toBe(id);
      const body = (await last.json()) as { id: string; data: { n: number } };
      expect(body.id).toBe(id);
      expect(body.data.n).toBe(4);
    });

    it('the header wins over the cookie when both carry valid ids', async () => {
      const a = sid(await h.get('/set?who=A'));
      const b = sid(await h.get('/set?who=B'));
      expect(a).not.toBe(b);
      const { response, body } = await h.peek({ 'X-Session-ID': a, cookie: `session_id=${b}` });
      expect(body.id).toBe(a);
      expect(body.data).toEqual({ who: 'A' });
      // A client holding a session cookie never gets an id in a header: a page script that set
      // the header must not learn what the HttpOnly cookie holds.
      expect(response.headers.get('x-session-id')).toBeNull();
    });

    it('an issued id that stored nothing is recognised on the next request (same id back)', async () => {
      const id = sid(await h.get('/nothing'));
      expect(await h.store.length()).toBe(0);
      const { response, body } = await h.peek({ 'X-Session-ID': id });
      expect(sid(response)).toBe(id);
      expect(body.id).toBe(id);
      const viaCookie = await h.peek({ cookie: `session_id=${id}` });
      expect(viaCookie.body.id).toBe(id);
    });
  });

  it("keeps the application's own Set-Cookie alongside the session cookie", async () => {
    const response = await h.get('/theme');
    const id = sid(response);
    const lines = response.headers.getSetCookie();
    expect(lines.some((line) => /^theme=dark(;|$)/.test(line))).toBe(true);
    expect(lines.filter((line) => line.startsWith('session_id='))).toHaveLength(1);
    expect(cookieValue(response, 'session_id')).toBe(id);
    expect(response.headers.get('session_id')).toBeNull();
  });

  it('lazy storage: a request whose handler sets nothing stores nothing', async () => {
    const first = await h.get('/nothing');
    expect(first.status).toBe(200);
    await h.get('/peek', { 'X-Session-ID': sid(first) });
    await h.get('/nothing');
    expect(await h.store.length()).toBe(0);
    expect(await h.store.get(sid(first))).toBeUndefined();
  });

  describe('field-level writes under concurrency', () => {
    // Overlapping requests (see SlowReadStore): each one read the session before any wrote.
    beforeEach(async () => {
      await h.server.close();
      h.store.close();
      h = await start(mount, {}, new SlowReadStore());
    });

    it('50 concurrent requests setting different keys of one session all survive', async () => {
      const id = sid(await h.get('/nothing'));
      const responses = await Promise.all(Array.from({ length: 50 }, (_, i) => h.get(`/setk/${i}`, { 'X-Session-ID': id })));
      for (const r of responses) expect(sid(r)).toBe(id);
      const stored = (await h.store.get(id))!;
      expect(Object.keys(stored).sort()).toEqual(Array.from({ length: 50 }, (_, i) => `k${i}`).sort());
      for (let i = 0; i < 50; i++) expect(stored[`k${i}`]).toBe(i);
      const { body } = await h.peek({ 'X-Session-ID': id });
      expect(Object.keys(body.data)).toHaveLength(50);
    });

    it('50 concurrent increments on one session count to 50, each seeing a distinct value', async () => {
      const id = sid(await h.get('/nothing'));
      const responses = await Promise.all(Array.from({ length: 50 }, () => h.get('/inc', { 'X-Session-ID': id })));
      const seen = await Promise.all(responses.map(async (r) => ((await r.json()) as { n: number }).n));
      expect(seen.sort((x, y) => x - y)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
      expect((await h.store.get(id))?.n).toBe(50);
    });
  });

  describe('durability (B5)', () => {
    it('a write before res.redirect is in the store as soon as the client has the 302', async () => {
      const response = await h.get('/flag');
      expect(response.status).toBe(302);
      expect(response.headers.get('location')).toBe('/next');
      const id = sid(response);
      expect(await h.store.get(id)).toEqual({ flag: 1 });
    });

    it('with a slow store (200 ms writes) the write is still done before the response reaches the client', async () => {
      const slowStore = new SlowWriteStore(200);
      const slow = await start(mount, {}, slowStore);
      extra.push(slow.server, slowStore);
      const response = await slow.get('/flag');
      expect(response.status).toBe(302);
      const id = sid(response);
      // Read the store straight away: no waiting for a background save.
      expect(await slowStore.get(id)).toEqual({ flag: 1 });
      const again = await slow.get('/flag', { 'X-Session-ID': id });
      expect(sid(again)).toBe(id);
      expect(await slowStore.get(id)).toEqual({ flag: 1 });
    });
  });

  describe('regenerate', () => {
    it('gives a new id in header and cookie, keeps the data, and refuses the old id afterwards', async () => {
      const old = sid(await h.get('/set?user=alice'));
      const response = await h.get('/regenerate', { 'X-Session-ID': old });
      const body = (await response.json()) as { before: string; after: string; data: Record<string, unknown> };
      const fresh = sid(response);
      expect(fresh).not.toBe(old);
      expect(fresh).toMatch(ISSUED_ID);
      expect(body.before).toBe(old);
      expect(body.after).toBe(fresh);
      expect(cookieValue(response, 'session_id')).toBe(fresh);
      expect(body.data).toEqual({ user: 'alice' });
      expect(await h.store.get(fresh)).toEqual({ user: 'alice' });
      expect(await h.store.get(old)).toBeUndefined();

      const replay = await h.peek({ 'X-Session-ID': old });
      expect(sid(replay.response)).not.toBe(old);
      expect(sid(replay.response)).not.toBe(fresh);
      expect(replay.body.data).toEqual({});

      const current = await h.peek({ 'X-Session-ID': fresh });
      expect(sid(current.response)).toBe(fresh);
      expect(current.body.data).toEqual({ user: 'alice' });
    });

    it('regenerate({ keepData: false }) starts empty under a new id and refuses the old one', async () => {
      const old = sid(await h.get('/set?user=alice'));
      const response = await h.get('/regenerate-empty', { 'X-Session-ID': old });
      const body = (await response.json()) as { after: string; data: Record<string, unknown> };
      const fresh = sid(response);
      expect(fresh).not.toBe(old);
      expect(body.after).toBe(fresh);
      expect(body.data).toEqual({});
      const current = await h.peek({ 'X-Session-ID': fresh });
      expect(sid(current.response)).toBe(fresh);
      expect(current.body.data).toEqual({});
      const replay = await h.peek({ 'X-Session-ID': old });
      expect(sid(replay.response)).not.toBe(old);
      expect(replay.body.data).toEqual({});
    });
  });

  it('an in-place mutation of an object read with get() is persisted without set()', async () => {
    const id = sid(await h.get('/cart-init'));
    await h.get('/cart-push', { 'X-Session-ID': id });
    expect(await h.store.get(id)).toEqual({ cart: ['apple', 'pear'] });
    await h.get('/cart-push', { 'X-Session-ID': id });
    const { body } = await h.peek({ 'X-Session-ID': id });
    expect(body.data).toEqual({ cart: ['apple', 'pear', 'pear'] });
  });

  it('destroy(): clearing cookie, no X-Session-ID, and the old id is replaced with an empty session', async () => {
    const id = sid(await h.get('/set?user=alice'));
    const response = await h.get('/destroy', { 'X-Session-ID': id });
    expect(response.status).toBe(200);
    expect(response.headers.get('x-session-id')).toBeNull();
    const line = cookieLine(response, 'session_id');
    expect(line).toMatch(/^session_id=; Max-Age=0; /);
    expect(line).toContain('Path=/');
    expect(await h.store.get(id)).toBeUndefined();
    expect(await h.store.length()).toBe(0);

    const replay = await h.peek({ 'X-Session-ID': id });
    expect(sid(replay.response)).not.toBe(id);
    expect(replay.body.data).toEqual({});
    const viaCookie = await h.peek({ cookie: `session_id=${id}` });
    expect(viaCookie.body.id).not.toBe(id);
    expect(cookieValue(viaCookie.response, 'session_id')).toBe(viaCookie.body.id);
    expect(viaCookie.body.data).toEqual({});
  });
});

describe('expiry (real 1 s maxAge)', () => {
  it.each(MOUNTS)('an expired id is replaced and its data is gone (%s)', async (mount) => {
    const h = await start(mount, { maxAge: 1 });
    try {
      const response = await h.get('/set?user=alice');
      const id = sid(response);
      expect(cookieLine(response, 'session_id')).toMatch(/Max-Age=1;/);
      expect(await h.store.get(id)).toEqual({ user: 'alice' });
      await sleep(2100);
      const replay = await h.peek({ 'X-Session-ID': id });
      expect(sid(replay.response)).not.toBe(id);
      expect(replay.body.data).toEqual({});
      expect(await h.store.get(id)).toBeUndefined();
    } finally {
      await h.server.close();
      h.store.close();
    }
  });
});

describe('a store given as SessionStore', () => {
  it('the middleware writes through the store it was given', async () => {
    const store: SessionStore = new MemoryStore();
    const h = await start('dispatch', {}, store as MemoryStore);
    try {
      expect(h.mw.sessionStorage).toBe(store);
      const id = sid(await h.get('/set?x=1'));
      expect(await store.get(id)).toEqual({ x: '1' });
    } finally {
      await h.server.close();
      h.store.close();
    }
  });
});
