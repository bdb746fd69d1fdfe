/**
 * Cookie attributes, proxies, absolute timeout and recovery from a stalled store, through a real
 * Express 5 app on a real socket.
 */
import { afterEach, describe, expect, it } from '@jest/globals';
import express from 'express';
import { MemoryStore, SessionError, SessionMiddleware, type SessionMiddlewareOptions, type SessionStore } from '../../src/index.js';
import { cookieLine, listenApp, sleep, type Running } from '../support/http.js';

const SECRET = 'cookie-and-expiry-test-secret-32-chars!!';
const running: Running[] = [];
const stores: MemoryStore[] = [];

afterEach(async () => {
  for (const server of running.splice(0)) await server.close();
  for (const store of stores.splice(0)) store.close();
});

async function start(options: SessionMiddlewareOptions, store: SessionStore = new MemoryStore({ sweepIntervalSeconds: 0 }), trustProxy?: boolean) {
  if (store instanceof MemoryStore) stores.push(store);
  const mw = new SessionMiddleware({ secret: SECRET, sessionStorage: store, ...options });
  const app = express();
  if (trustProxy !== undefined) app.set('trust proxy', trustProxy);
  app.use(mw.express());
  app.get('/', async (req, res) => {
    res.json({ visits: await req.session.increment('visits') });
  });
  app.use((err: unknown, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
    res.status(SessionError.is(err) ? err.status : 500).json({ kind: SessionError.is(err) ? err.kind : null });
  });
  const server = await listenApp(app);
  running.push(server);
  return { server, store };
}

describe('cookie attributes in real responses', () => {
  it('sends Domain, Secure, SameSite=None, Partitioned and Priority as configured', async () => {
    const { server } = await start({
      sessionCookie: '__Secure-sid',
      cookie: { domain: 'example.test', secure: true, sameSite: 'none', partitioned: true, priority: 'high', httpOnly: true },
    });
    const response = await fetch(server.url);
    const id = response.headers.get('x-session-id')!;
    expect(cookieLine(response, '__Secure-sid')).toBe(
      `__Secure-sid=${id}; Max-Age=3600; Path=/; Domain=example.test; HttpOnly; Secure; SameSite=None; Partitioned; Priority=High`,
    );
  });

  it('refuses lower-case __host- / __secure- names without secure: true, as browsers match them case-insensitively', () => {
    for (const sessionCookie of ['__host-sid', '__SECURE-sid']) {
      let error: unknown;
      try {
        new SessionMiddleware({ secret: SECRET, sessionCookie });
      } catch (caught) {
        error = caught;
      }
      expect(SessionError.is(error) && [error.kind, error.option]).toEqual(['invalid-option', 'cookie.secure']);
    }
    expect(() => new SessionMiddleware({ secret: SECRET, sessionCookie: '__host-sid', cookie: { secure: true, path: '/x' } })).toThrow(/cookie\.path/);
  });
});

describe('secure: auto behind a proxy', () => {
  it("under Express, the app's own 'trust proxy' setting decides (req.secure), not the trustProxy option", async () => {
    const trusting = await start({}, undefined, true);
    const behindTls = await fetch(trusting.server.url, { headers: { 'X-Forwarded-Proto': 'https' } });
    expect(cookieLine(behindTls, 'session_id')).toMatch(/; Secure;/);
    const plain = await fetch(trusting.server.url, { headers: { 'X-Forwarded-Proto': 'http' } });
    expect(cookieLine(plain, 'session_id')).not.toMatch(/Secure/);

    const distrusting = await start({});
    const spoofed = await fetch(distrusting.server.url, { headers: { 'X-Forwarded-Proto': 'https' } });
    expect(cookieLine(spoofed, 'session_id')).not.toMatch(/Secure/);
    // trustProxy is for node:http and Web only: it cannot make Express believe a header it does not trust.
    const optionOnly = await start({ trustProxy: true }, undefined, false);
    const ignored = await fetch(optionOnly.server.url, { headers: { 'X-Forwarded-Proto': 'https' } });
    expect(cookieLine(ignored, 'session_id')).not.toMatch(/Secure/);
  });
});

describe('absoluteTimeout over a real socket', () => {
  it('ends an active session after absoluteTimeout, and caps the cookie to what is left', async () => {
    // The id carries its start in whole seconds, so the end can come up to 1 s early: margins below.
    const { server, store } = await start({ maxAge: 60, absoluteTimeout: 3 });
    const first = await fetch(server.url);
    const id = first.headers.get('x-session-id')!;
    expect(await first.json()).toEqual({ visits: 1 });
    expect(Number(/Max-Age=(\d+)/.exec(cookieLine(first, 'session_id')!)![1])).toBeLessThanOrEqual(3);
    await sleep(500);
    const active = await fetch(server.url, { headers: { 'X-Session-ID': id } });
    expect(await active.json()).toEqual({ visits: 2 });
    await sleep(2800);
    const after = await fetch(server.url, { headers: { 'X-Session-ID': id } });
    expect(after.headers.get('x-session-id')).not.toBe(id);
    expect(await after.json()).toEqual({ visits: 1 });
    // The old record also ran out in the store (its TTL was cut to the absolute end).
    expect(await store.get(id)).toBeUndefined();
  });
});

describe('a store that stalls, then answers again', () => {
  it('times out within storeTimeout while stalled and serves normally afterwards, without a restart', async () => {
    class PausableStore extends MemoryStore {
      paused = false;
      override async load(id: string) {
        if (this.paused) await new Promise(() => {});
        return super.load(id);
      }
    }
    const store = new PausableStore({ sweepIntervalSeconds: 0 });
    const { server } = await start({ storeTimeout: 0.3 }, store);
    const first = await fetch(server.url);
    const id = first.headers.get('x-session-id')!;
    store.paused = true;
    const started = Date.now();
    const stalled = await fetch(server.url, { headers: { 'X-Session-ID': id } });
    expect(stalled.status).toBe(503);
    expect(await stalled.json()).toEqual({ kind: 'store-timeout' });
    expect(Date.now() - started).toBeLessThan(2000);
    store.paused = false;
    const back = await fetch(server.url, { headers: { 'X-Session-ID': id } });
    expect(back.status).toBe(200);
    expect(await back.json()).toEqual({ visits: 2 });
  });
});
