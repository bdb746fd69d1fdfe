/**
 * Flash messages, quiet requests (`ignoreActivity`) and the login fields of a session, through a
 * real Express 5 app on a real socket.
 */
import { afterEach, describe, expect, it } from '@jest/globals';
import express from 'express';
import { MemoryStore, SessionError, SessionMiddleware, type SessionMiddlewareOptions } from '../../src/index.js';
import { CookieClient, listenApp, sleep, type Running } from '../support/http.js';

const SECRET = 'flash-and-activity-secret-of-32-chars!!';
const running: Running[] = [];
const stores: MemoryStore[] = [];

afterEach(async () => {
  for (const server of running.splice(0)) await server.close();
  for (const store of stores.splice(0)) store.close();
});

async function start(options: SessionMiddlewareOptions = {}) {
  const store = new MemoryStore({ sweepIntervalSeconds: 0 });
  stores.push(store);
  const mw = new SessionMiddleware({ secret: SECRET, sessionStorage: store, sessionHeader: false, ...options });
  const app = express();
  app.use(express.json());
  app.use(mw.express());
  app.post('/flash', (req, res) => {
    for (const [type, message] of req.body as Array<[string, unknown]>) req.session.flash(type, message as string);
    res.redirect(303, '/show');
  });
  app.get('/show', (req, res) => res.json(req.session.flashes()));
  app.get('/show/:type', (req, res) => res.json(req.session.flashes(req.params.type)));
  app.get('/slow-flash', async (req, res) => {
    req.session.flash('info', 'from the slow request');
    await sleep(150);
    res.end();
  });
  app.get('/set/:key', (req, res) => {
    req.session.set(req.params.key, true);
    res.json(req.session.toJSON());
  });
  app.get('/api/poll', (req, res) => res.json({ ok: true }));
  app.get('/page', (req, res) => res.json({ ok: true }));
  app.post('/login', async (req, res) => {
    const before = { id: req.session.id, handle: req.session.handle, userId: req.session.userId ?? null };
    await req.session.login('user-7');
    res.json({ before, after: { id: req.session.id, handle: req.session.handle, userId: req.session.userId, loggedInAt: req.session.loggedInAt } });
  });
  app.get('/me', (req, res) => res.json({ userId: req.session.userId ?? null, loggedInAt: req.session.loggedInAt ?? null, handle: req.session.handle, data: req.session.toJSON() }));
  app.get('/bad-login', async (req, res) => {
    const kinds: string[] = [];
    for (const attempt of [() => req.session.login(''), () => req.session.login('u', { big: 'x'.repeat(5000) }), () => req.session.login(42 as unknown as string)]) {
      await attempt().catch((error: unknown) => kinds.push(SessionError.is(error) ? error.kind : 'other'));
    }
    res.json(kinds);
  });
  const server = await listenApp(app);
  running.push(server);
  return { mw, store, url: server.url };
}

describe('flash messages', () => {
  it('survive a redirect, keep their order, come back by type or all at once, and are gone once read', async () => {
    const { url } = await start();
    const browser = new CookieClient(url);
    const posted = await browser.fetch('/flash', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify([['info', 'one'], ['error', { code: 7 }], ['info', 'two']]),
    });
    expect(posted.status).toBe(303);
    expect(await (await browser.fetch('/show/info')).json()).toEqual(['one', 'two']);
    expect(await (await browser.fetch('/show')).json()).toEqual({ error: [{ code: 7 }] });
    expect(await (await browser.fetch('/show')).json()).toEqual({});
  });

  it('keep a message queued by a concurrent request, and the concurrent request keeps the others', async () => {
    const { url } = await start();
    const browser = new CookieClient(url);
    await browser.fetch('/set/seed');
    const slow = browser.fetch('/slow-flash');
    await sleep(30);
    await browser.fetch('/flash', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify([['info', 'from the fast request']]) });
    await slow;
    const shown = (await (await browser.fetch('/show/info')).json()) as string[];
    expect(shown.sort()).toEqual(['from the fast request', 'from the slow request']);
  });

  it('refuses a message that is not JSON and an empty type', async () => {
    const { url } = await start();
    const response = await new CookieClient(url).fetch('/flash', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify([['', 'x']]) });
    expect(response.status).toBe(500);
  });
});

describe('ignoreActivity', () => {
  it('polling neither refreshes the TTL nor the cookie, so the idle session still ends; a page view does refresh', async () => {
    const { url, store } = await start({ maxAge: 3, touchAfter: 0, ignoreActivity: ({ path }) => path.startsWith('/api/poll') });
    const browser = new CookieClient(url);
    await browser.fetch('/set/user');
    const id = browser.cookies.get('session_id')!;
    const expiresAt = async (): Promise<number> => {
      const found = await store.load(id);
      return found?.state === 'active' ? found.expiresAt! : 0;
    };
    const before = await expiresAt();
    await sleep(1100);
    const poll = await browser.fetch('/api/poll?x=1');
    expect(poll.headers.get('set-cookie')).toBeNull();
    expect(await expiresAt()).toBe(before);
    const page = await browser.fetch('/page');
    expect(page.headers.get('set-cookie')).toMatch(/session_id=/);
    expect(await expiresAt()).toBeGreaterThan(before);
  });

  it('still writes and sends a new or changed session on an ignored path', async () => {
    const { url } = await start({ ignoreActivity: () => true });
    const browser = new CookieClient(url);
    const first = await browser.fetch('/set/a');
    expect(first.headers.get('set-cookie')).toMatch(/session_id=/);
    expect(await (await browser.fetch('/set/b')).json()).toEqual({ a: true, b: true });
  });
});

describe('login fields', () => {
  it('login regenerates the id keeping the data, binds the user, records the time and gives a new handle', async () => {
    const { url, store } = await start();
    const browser = new CookieClient(url);
    await browser.fetch('/set/cart');
    const oldId = browser.cookies.get('session_id')!;
    const started = Date.now();
    const login = (await (await browser.fetch('/login', { method: 'POST', headers: { 'user-agent': 'TestBrowser/1.0' } })).json()) as {
      before: { id: string; handle: string; userId: null };
      after: { id: string; handle: string; userId: string; loggedInAt: number };
    };
    expect(login.before.userId).toBeNull();
    expect(login.after.id).not.toBe(login.before.id);
    expect(login.after.handle).not.toBe(login.before.handle);
    expect(login.after.handle).not.toContain(login.after.id.split('.')[0]!);
    expect(login.after.userId).toBe('user-7');
    expect(login.after.loggedInAt).toBeGreaterThanOrEqual(started);
    expect((await store.load(oldId))?.state).toBe('destroyed');
    const me = (await (await browser.fetch('/me')).json()) as { userId: string; handle: string; data: unknown; loggedInAt: number };
    expect(me).toEqual({ userId: 'user-7', loggedInAt: login.after.loggedInAt, handle: login.after.handle, data: { cart: true } });
    // The login fields are the middleware's: the app's data and the store's get() never show them.
    expect(await store.get(browser.cookies.get('session_id')!)).toEqual({ cart: true });
  });

  it('keeps the handle stable across requests for an anonymous session that stores data', async () => {
    const { url } = await start();
    const browser = new CookieClient(url);
    await browser.fetch('/set/x');
    const first = ((await (await browser.fetch('/me')).json()) as { handle: string }).handle;
    await browser.fetch('/set/y');
    const second = ((await (await browser.fetch('/me')).json()) as { handle: string }).handle;
    expect(second).toBe(first);
    expect(first).toMatch(/^[A-Za-z0-9_-]{22}$/);
  });

  it('refuses a bad user id or meta with invalid-value', async () => {
    const { url } = await start();
    expect(await (await new CookieClient(url).fetch('/bad-login')).json()).toEqual(['invalid-value', 'invalid-value', 'invalid-value']);
  });
});
