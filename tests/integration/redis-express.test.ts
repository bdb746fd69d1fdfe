/**
 * Express 5 over a real socket with `SessionMiddleware` on a `RedisStore` (the machine's Redis,
 * `REDIS_URL` overrides), once through ioredis and once through node-redis: the visits flow,
 * concurrent requests writing different keys, destroy seen by a second middleware instance, and
 * the Redis round trips each kind of request costs, counted on the server with MONITOR.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import express, { type Express } from 'express';
import { Redis } from 'ioredis';
import { createClient } from 'redis';
import { RedisStore, SessionMiddleware, type RedisStoreClient } from '../../src/index.js';
import { CookieClient, cookieValue, listenApp, type Running } from '../support/http.js';
import { REDIS_URL, describeWithServer, probeRedis, uniquePrefix } from '../support/redisServers.js';
import { hashedKeyOf } from '../../src/core/storageKey.js';

const SECRET = 'redis-integration-secret-of-32-characters-or-more';
const unavailable = await probeRedis();

type ClientName = 'ioredis' | 'node-redis';

/** Resolves once `count` requests are waiting: they have all loaded the session before any writes. */
function barrier(count: number): () => Promise<void> {
  let waiting: Array<() => void> = [];
  return () =>
    new Promise<void>((resolve) => {
      waiting.push(resolve);
      if (waiting.length === count) {
        for (const release of waiting) release();
        waiting = [];
      }
    });
}

function makeApp(mw: SessionMiddleware): Express {
  const app = express();
  app.use(mw.express());
  const both = barrier(2);
  app.get('/visit', async (req, res) => {
    const visits = await req.session.increment('visits');
    res.json({ id: req.session.id, visits });
  });
  app.get('/read', (req, res) => {
    res.json({ visits: req.session.get('visits') ?? null, data: req.session.toJSON() });
  });
  app.get('/set', (req, res) => {
    for (const [key, value] of Object.entries(req.query)) req.session.set(key, value as string);
    res.json({ ok: true });
  });
  app.get('/together/:key', async (req, res) => {
    await both();
    req.session.set(req.params.key, true);
    res.json({ ok: true });
  });
  app.get('/destroy', async (req, res) => {
    await req.session.destroy();
    res.json({ destroyed: true });
  });
  return app;
}

describeWithServer('Express 5 with RedisStore', unavailable, () => {
  let ioredis: Redis;
  let nodeRedis: ReturnType<typeof createClient>;
  let control: Redis;
  let monitor: Redis;
  /** Commands the server saw from clients (not from inside scripts), in order. */
  const seen: string[][] = [];
  let marks = 0;

  beforeAll(async () => {
    ioredis = new Redis(REDIS_URL);
    nodeRedis = createClient({ url: REDIS_URL });
    await nodeRedis.connect();
    control = new Redis(REDIS_URL);
    monitor = await control.monitor();
    monitor.on('monitor', (_time: string, args: string[], source: string) => {
      if (source !== 'lua') seen.push(args);
    });
  });

  afterAll(async () => {
    monitor.disconnect();
    await control.quit();
    await ioredis.quit();
    await nodeRedis.close();
  });

  /** Waits until MONITOR has shown everything the server ran so far (an ECHO from another connection comes after it). */
  async function settled(): Promise<void> {
    const mark = `round-trip-mark-${++marks}`;
    await control.echo(mark);
    const deadline = Date.now() + 2_000;
    while (!seen.some((args) => args[0]?.toLowerCase() === 'echo' && args[1] === mark)) {
      if (Date.now() > deadline) throw new Error('MONITOR did not show the mark');
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }

  /** The commands on keys under `prefix` that `action` caused, by name (`evalsha`, ...). */
  async function commandsOf(prefix: string, action: () => Promise<unknown>): Promise<string[]> {
    await settled();
    const from = seen.length;
    await action();
    await settled();
    return seen
      .slice(from)
      .filter((args) => args.some((arg) => arg.startsWith(prefix)))
      .map((args) => args[0]!.toLowerCase());
  }

  describe.each<ClientName>(['ioredis', 'node-redis'])('through %s', (name) => {
    let prefix: string;
    let store: RedisStore;
    let mw: SessionMiddleware;
    let server: Running;
    const client = (which: ClientName): RedisStoreClient => (which === 'ioredis' ? ioredis : nodeRedis);
    const other: ClientName = name === 'ioredis' ? 'node-redis' : 'ioredis';

    beforeEach(async () => {
      prefix = uniquePrefix(`express-${name}`);
      store = new RedisStore({ client: client(name), prefix });
      // A long touchAfter keeps the throttled cookie/TTL refresh out of the round-trip counts.
      mw = new SessionMiddleware({ secret: SECRET, sessionStorage: store, maxAge: 3600, touchAfter: 1800 });
      server = await listenApp(makeApp(mw));
    });

    afterEach(async () => {
      await server.close();
      await store.clear();
    });

    it('counts visits through req.session.increment, stored in Redis with the maxAge TTL', async () => {
      const browser = new CookieClient(server.url);
      const answers: Array<{ id: string; visits: number }> = [];
      for (let i = 0; i < 3; i++) answers.push((await (await browser.fetch('/visit')).json()) as { id: string; visits: number });
      expect(answers.map((a) => a.visits)).toEqual([1, 2, 3]);
      expect(new Set(answers.map((a) => a.id)).size).toBe(1);
      const id = answers[0]!.id;
      await expect(store.get(id)).resolves.toEqual({ visits: 3 });
      const pttl = await ioredis.pttl(prefix + hashedKeyOf(id)); // ids are filed under their hash
      expect(pttl).toBeGreaterThan(3_590_000);
      expect(pttl).toBeLessThanOrEqual(3_600_000);
      await expect(store.length()).resolves.toBe(1);
    });

    it('two concurrent requests setting different keys both survive', async () => {
      const browser = new CookieClient(server.url);
      await browser.fetch('/set?base=1');
      const [a, b] = await Promise.all([browser.fetch('/together/left'), browser.fetch('/together/right')]);
      expect([a.status, b.status]).toEqual([200, 200]);
      const { data } = (await (await browser.fetch('/read')).json()) as { data: Record<string, unknown> };
      expect(data).toEqual({ base: '1', left: true, right: true });
    });

    it(`destroy leaves the id refused by a second middleware instance sharing the store (through ${other})`, async () => {
      const secondStore = new RedisStore({ client: client(other), prefix });
      const second = new SessionMiddleware({ secret: SECRET, sessionStorage: secondStore, maxAge: 3600, touchAfter: 1800 });
      const secondServer = await listenApp(makeApp(second));
      try {
        const browser = new CookieClient(server.url);
        await browser.fetch('/visit');
        const id = browser.cookies.get('session_id')!;
        expect(id).toBeDefined();
        // The other instance serves the same session while it lives.
        const before = (await (await fetch(`${secondServer.url}/read`, { headers: { cookie: `session_id=${id}` } })).json()) as { visits: number };
        expect(before.visits).toBe(1);

        const destroyed = await browser.fetch('/destroy');
        expect(cookieValue(destroyed, 'session_id')).toBe('');
        await expect(store.load(id)).resolves.toEqual({ state: 'destroyed' });

        // Presenting the destroyed id to the other instance: refused, a new id, no data.
        const after = await fetch(`${secondServer.url}/visit`, { headers: { cookie: `session_id=${id}` } });
        const body = (await after.json()) as { id: string; visits: number };
        expect(body.id).not.toBe(id);
        expect(body.visits).toBe(1);
        expect(cookieValue(after, 'session_id')).toBe(body.id);
        await expect(secondStore.load(id)).resolves.toEqual({ state: 'destroyed' });
        await expect(store.length()).resolves.toBe(1);
      } finally {
        await secondServer.close();
      }
    });

    it('round trips: one per read-only returning request, two per changing one, none for a new client that stores nothing', async () => {
      const browser = new CookieClient(server.url);
      // Warm up: the first request stores the session; the scripts get loaded on the server.
      await browser.fetch('/visit');
      await browser.fetch('/set?x=0');
      await browser.fetch('/read');

      const counts: Record<string, string[]> = {
        'returning, read-only': await commandsOf(prefix, () => browser.fetch('/read')),
        'returning, set a key': await commandsOf(prefix, () => browser.fetch('/set?x=1')),
        'returning, increment': await commandsOf(prefix, () => browser.fetch('/visit')),
        'new client, read-only': await commandsOf(prefix, () => fetch(`${server.url}/read`)),
        'new client, set a key': await commandsOf(prefix, () => fetch(`${server.url}/set?y=1`)),
        'new client, increment': await commandsOf(prefix, () => fetch(`${server.url}/visit`)),
        'returning, destroy': await commandsOf(prefix, () => browser.fetch('/destroy')),
      };
      console.log(`Redis round trips per request (${name}): ${JSON.stringify(Object.fromEntries(Object.entries(counts).map(([k, v]) => [k, v.length])))}`);
      expect(counts).toEqual({
        'returning, read-only': ['evalsha'],
        'returning, set a key': ['evalsha', 'evalsha'],
        'returning, increment': ['evalsha', 'evalsha'],
        'new client, read-only': [],
        'new client, set a key': ['evalsha'],
        'new client, increment': expect.any(Array),
        'returning, destroy': ['evalsha', 'evalsha'],
      });
      expect(counts['new client, increment']!.length).toBeGreaterThanOrEqual(1);
      expect(counts['new client, increment']!.length).toBeLessThanOrEqual(2);
    });

    it('round trips: a read-only request whose refresh is due (touchAfter) costs load, patch and a confirming load', async () => {
      const quick = new SessionMiddleware({ secret: SECRET, sessionStorage: store, maxAge: 4, touchAfter: 1 });
      const quickServer = await listenApp(makeApp(quick));
      try {
        const browser = new CookieClient(quickServer.url);
        await browser.fetch('/set?x=1');
        const notDue = await commandsOf(prefix, () => browser.fetch('/read'));
        await new Promise((resolve) => setTimeout(resolve, 1_100));
        let refreshed: Response | undefined;
        const due = await commandsOf(prefix, async () => {
          refreshed = await browser.fetch('/read');
        });
        expect(notDue).toEqual(['evalsha']);
        expect(due).toEqual(['evalsha', 'evalsha', 'evalsha']);
        expect(cookieValue(refreshed!, 'session_id')).toBe(browser.cookies.get('session_id'));
        const pttl = await ioredis.pttl(prefix + hashedKeyOf(browser.cookies.get('session_id')!));
        expect(pttl).toBeGreaterThan(3_500);
      } finally {
        await quickServer.close();
      }
    });
  });
});
