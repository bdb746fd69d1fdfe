/**
 * "Log out all my devices": logins, the user's list, revoke and revokeAll, through real Express 5
 * apps on real sockets, with two browsers' cookie jars for one user; on a MemoryStore and across
 * two middleware instances sharing one Redis.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import express from 'express';
import { Redis } from 'ioredis';
import { MemoryStore, RedisStore, SessionError, SessionMiddleware, SessionStore, type StoredSession } from '../../src/index.js';
import { CookieClient, listenApp, sleep, type Running } from '../support/http.js';
import { REDIS_URL, describeWithServer, probeRedis, uniquePrefix } from '../support/redisServers.js';

const SECRET = 'users-and-devices-secret-of-32-characters';
const unavailable = await probeRedis();
const running: Running[] = [];

afterEach(async () => {
  for (const server of running.splice(0)) await server.close();
});

async function serve(mw: SessionMiddleware): Promise<string> {
  const app = express();
  app.use(mw.express());
  app.post('/login/:user', async (req, res) => {
    await req.session.login(req.params.user);
    req.session.set('cart', ['book']);
    res.json({ handle: req.session.handle });
  });
  app.get('/me', (req, res) => res.json({ user: req.session.userId ?? null, cart: req.session.get('cart') ?? null, handle: req.session.handle }));
  app.get('/devices', async (req, res) => res.json(await mw.sessionsOf(req.session.userId!)));
  app.post('/revoke/:handle', async (req, res) => {
    await mw.revoke(req.session.userId!, req.params.handle);
    res.status(204).end();
  });
  app.post('/revoke-others', async (req, res) => {
    await mw.revokeAll(req.session.userId!, { except: req.session.handle });
    res.status(204).end();
  });
  app.post('/logout', async (req, res) => {
    await req.session.destroy();
    res.status(204).end();
  });
  app.get('/slow-write', async (req, res) => {
    await sleep(200);
    req.session.set('late', true);
    res.json({ ok: true });
  });
  app.use((error: unknown, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
    res.status(SessionError.is(error) ? error.status : 500).json({ kind: SessionError.is(error) ? error.kind : 'other' });
  });
  const server = await listenApp(app);
  running.push(server);
  return server.url;
}

interface Device {
  handle: string;
  loggedInAt: number;
  lastSeenAt: number;
  expiresAt: number;
  meta: { userAgent?: string };
}

/** The scenarios, for a pair of instances sharing one store (the same instance twice for memory). */
function scenarios(setup: () => Promise<{ a: SessionMiddleware; b: SessionMiddleware; store: SessionStore }>): void {
  it('lists both browsers, newest login first, with their user agents; revoking the other logs it out at once, on the other instance too', async () => {
    const { a, b } = await setup();
    const [urlA, urlB] = [await serve(a), await serve(b)];
    const laptop = new CookieClient(urlA);
    const phone = new CookieClient(urlB);
    await laptop.fetch('/login/alice', { method: 'POST', headers: { 'user-agent': 'Laptop/1' } });
    await sleep(5);
    const phoneLogin = (await (await phone.fetch('/login/alice', { method: 'POST', headers: { 'user-agent': 'Phone/2' } })).json()) as { handle: string };
    const listed = (await (await laptop.fetch('/devices')).json()) as Device[];
    expect(listed.map((device) => device.meta.userAgent)).toEqual(['Phone/2', 'Laptop/1']);
    expect(listed[0]!.handle).toBe(phoneLogin.handle);
    expect(JSON.stringify(listed)).not.toContain(phone.cookies.get('session_id')!.split('.')[0]!);
    for (const device of listed) expect(device.expiresAt).toBeGreaterThan(device.lastSeenAt);

    expect((await laptop.fetch(`/revoke/${phoneLogin.handle}`, { method: 'POST' })).status).toBe(204);
    // The phone, on the other instance, is a new anonymous session: no user, none of the data.
    const phoneAfter = (await (await phone.fetch('/me')).json()) as { user: string | null; cart: unknown };
    expect(phoneAfter).toMatchObject({ user: null, cart: null });
    const remaining = (await (await laptop.fetch('/devices')).json()) as Device[];
    expect(remaining.map((device) => device.meta.userAgent)).toEqual(['Laptop/1']);
  });

  it('revokeAll except the current one; sessions the index missed end too; logging in again right after works', async () => {
    const { a, b, store } = await setup();
    const [urlA, urlB] = [await serve(a), await serve(b)];
    const laptop = new CookieClient(urlA);
    const phone = new CookieClient(urlB);
    const tablet = new CookieClient(urlB);
    await laptop.fetch('/login/bob', { method: 'POST' });
    await phone.fetch('/login/bob', { method: 'POST' });
    await tablet.fetch('/login/bob', { method: 'POST' });
    // The tablet's entry is lost from the index (as after a lost index write).
    const tabletHandle = ((await (await tablet.fetch('/me')).json()) as { handle: string }).handle;
    await store.unindexSession('bob', tabletHandle);

    expect((await laptop.fetch('/revoke-others', { method: 'POST' })).status).toBe(204);
    expect(await (await phone.fetch('/me')).json()).toMatchObject({ user: null, cart: null });
    expect(await (await tablet.fetch('/me')).json()).toMatchObject({ user: null, cart: null });
    expect(await (await laptop.fetch('/me')).json()).toMatchObject({ user: 'bob', cart: ['book'] });

    // The phone logs in again at once: a new session, listed, and it works.
    await phone.fetch('/login/bob', { method: 'POST' });
    expect(await (await phone.fetch('/me')).json()).toMatchObject({ user: 'bob', cart: ['book'] });
    expect(((await (await laptop.fetch('/devices')).json()) as Device[]).length).toBe(2);
  });

  it('an in-flight request that writes after the revocation brings the session back neither to requests nor to the list', async () => {
    const { a, b } = await setup();
    const [urlA, urlB] = [await serve(a), await serve(b)];
    const laptop = new CookieClient(urlA);
    const phone = new CookieClient(urlB);
    await laptop.fetch('/login/carol', { method: 'POST' });
    await phone.fetch('/login/carol', { method: 'POST' });
    const phoneCookie = phone.cookies.get('session_id')!;
    const inFlight = phone.fetch('/slow-write');
    await sleep(50);
    await laptop.fetch('/revoke-others', { method: 'POST' });
    await inFlight;
    phone.cookies.set('session_id', phoneCookie);
    expect(await (await phone.fetch('/me')).json()).toMatchObject({ user: null, cart: null });
    expect(((await (await laptop.fetch('/devices')).json()) as Device[]).length).toBe(1);
  });

  it('destroy() takes a logged-in session off the list', async () => {
    const { a } = await setup();
    const url = await serve(a);
    const one = new CookieClient(url);
    const two = new CookieClient(url);
    await one.fetch('/login/dave', { method: 'POST' });
    await two.fetch('/login/dave', { method: 'POST' });
    await two.fetch('/logout', { method: 'POST' });
    expect(((await (await one.fetch('/devices')).json()) as Device[]).length).toBe(1);
  });
}

describe('users and devices on a MemoryStore', () => {
  const stores: MemoryStore[] = [];
  afterEach(() => {
    for (const store of stores.splice(0)) store.close();
  });
  scenarios(async () => {
    const store = new MemoryStore({ sweepIntervalSeconds: 0 });
    stores.push(store);
    const a = new SessionMiddleware({ secret: SECRET, sessionStorage: store, sessionHeader: false });
    const b = new SessionMiddleware({ secret: SECRET, sessionStorage: store, sessionHeader: false });
    return { a, b, store };
  });

  it('a store without a user index: login still works; the list and revocation reject with unsupported', async () => {
    class Plain extends SessionStore {
      readonly #inner = new MemoryStore({ sweepIntervalSeconds: 0 });
      protected loadSession(id: string): Promise<StoredSession | undefined> {
        return this.#inner.load(id);
      }
      protected writeSession(id: string, json: string, ttl: number): Promise<void> {
        return this.#inner.set(id, JSON.parse(json) as Record<string, never>, ttl);
      }
      protected destroySession(id: string): Promise<void> {
        return this.#inner.destroy(id);
      }
      protected touchSession(id: string, ttl: number): Promise<void> {
        return this.#inner.touch(id, ttl);
      }
      protected patchSession(id: string, changes: ReadonlyArray<readonly [string, string | undefined]>, ttl: number): Promise<void> {
        return this.#inner.patch(id, Object.fromEntries(changes.map(([key, json]) => [key, json === undefined ? undefined : JSON.parse(json)])), ttl);
      }
      protected incrementField(id: string, key: string, by: number, ttl: number): Promise<number> {
        return this.#inner.increment(id, key, by, ttl);
      }
      protected clearSessions(): Promise<void> {
        return this.#inner.clear();
      }
      protected countSessions(): Promise<number> {
        return this.#inner.length();
      }
      protected sessionIds(): AsyncIterable<string> {
        return this.#inner.ids();
      }
      override close(): void {
        this.#inner.close();
      }
    }
    const store = new Plain();
    const mw = new SessionMiddleware({ secret: SECRET, sessionStorage: store, sessionHeader: false });
    const browser = new CookieClient(await serve(mw));
    await browser.fetch('/login/erin', { method: 'POST' });
    expect(await (await browser.fetch('/me')).json()).toMatchObject({ user: 'erin', cart: ['book'] });
    const listed = await browser.fetch('/devices');
    expect([listed.status, await listed.json()]).toEqual([500, { kind: 'unsupported' }]);
    await expect(mw.revokeAll('erin')).rejects.toMatchObject({ kind: 'unsupported' });
    store.close();
  });
});

describeWithServer('users and devices across two instances sharing one Redis', unavailable, () => {
  let client: Redis;
  const prefixes: string[] = [];
  beforeAll(() => {
    client = new Redis(REDIS_URL, { lazyConnect: false, maxRetriesPerRequest: 1 });
  });
  afterAll(async () => {
    for (const prefix of prefixes) {
      const keys = await client.keys(`${prefix}*`);
      if (keys.length) await client.del(...keys);
    }
    client.disconnect();
  });
  scenarios(async () => {
    const prefix = uniquePrefix('devices');
    prefixes.push(prefix);
    const store = new RedisStore({ client, prefix });
    const a = new SessionMiddleware({ secret: SECRET, sessionStorage: store, sessionHeader: false });
    const b = new SessionMiddleware({ secret: SECRET, sessionStorage: new RedisStore({ client, prefix }), sessionHeader: false });
    return { a, b, store };
  });
});
