/**
 * Ids hashed at rest and secret rotation that re-signs, through real Express 5 apps on real
 * sockets, on a MemoryStore and on the local Redis (a dump of the store must hold no id a client
 * could present; an old-secret id moves to a new-secret one without losing data, even under ten
 * parallel requests).
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import express from 'express';
import { Redis } from 'ioredis';
import { MemoryStore, RedisStore, SessionMiddleware, type SessionMiddlewareOptions, type SessionStore } from '../../src/index.js';
import { CookieClient, cookieValue, listenApp, type Running } from '../support/http.js';
import { REDIS_URL, describeWithServer, probeRedis, uniquePrefix } from '../support/redisServers.js';

const OLD = 'old-secret-of-at-least-thirty-two-characters';
const NEW = 'new-secret-of-at-least-thirty-two-characters';
const unavailable = await probeRedis();
const running: Running[] = [];
afterEach(async () => {
  for (const server of running.splice(0)) await server.close();
});

async function serve(store: SessionStore, options: SessionMiddlewareOptions): Promise<string> {
  const mw = new SessionMiddleware({ sessionStorage: store, sessionHeader: false, ...options });
  const app = express();
  app.use(mw.express());
  app.get('/count', async (req, res) => {
    res.json({ id: req.session.id, visits: await req.session.increment('visits') });
  });
  app.get('/seed', (req, res) => {
    res.json({ id: req.state.sessionId, data: (req.session.toJSON() as Record<string, unknown>) ?? null });
  });
  const server = await listenApp(app);
  running.push(server);
  return server.url;
}

async function allKeysAndValues(store: SessionStore, dump: () => Promise<string>): Promise<string> {
  const keys: string[] = [];
  for await (const key of store.ids()) keys.push(key);
  return keys.join('\n') + '\n' + (await dump());
}

function scenarios(make: () => Promise<{ store: SessionStore; dump: () => Promise<string> }>): void {
  it('files sessions under hashes: no id in ids() or in a dump of the store; get(id) still works', async () => {
    const { store, dump } = await make();
    const url = await serve(store, { secret: NEW });
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const browser = new CookieClient(url);
      await browser.fetch('/count');
      ids.push(browser.cookies.get('session_id')!);
    }
    const everything = await allKeysAndValues(store, dump);
    for (const id of ids) {
      expect(everything).not.toContain(id);
      expect(everything).not.toContain(id.split('.')[0]!);
      expect(await store.get(id)).toEqual({ visits: 1 });
    }
    const keys: string[] = [];
    for await (const key of store.ids()) keys.push(key);
    expect(keys.length).toBe(3);
    for (const key of keys) expect(key).toMatch(/^k\.[A-Za-z0-9_-]{43}$/);
  });

  it('moves an old-secret client to a new-secret id, keeping the data, and ten parallel requests all keep it', async () => {
    const { store } = await make();
    const before = await serve(store, { secret: OLD });
    const browser = new CookieClient(before);
    await browser.fetch('/count');
    const oldId = browser.cookies.get('session_id')!;

    const rotated = await serve(store, { secret: [NEW, OLD] });
    const parallel = await Promise.all(
      Array.from({ length: 10 }, () => fetch(`${rotated}/count`, { headers: { cookie: `session_id=${oldId}` } })),
    );
    const bodies = (await Promise.all(parallel.map((response) => response.json()))) as Array<{ id: string; visits: number }>;
    const newIds = new Set(parallel.map((response) => cookieValue(response, 'session_id')));
    expect(newIds.size).toBe(1);
    const [newId] = [...newIds];
    expect(newId).not.toBe(oldId);
    expect(newId!.split('.')[0]).toBe(oldId.split('.')[0]);
    expect(bodies.map((body) => body.visits).sort((a, b) => a - b)).toEqual([2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);

    // Once OLD is retired, the new id works and the old one is refused.
    const retired = await serve(store, { secret: NEW });
    const next = await fetch(`${retired}/count`, { headers: { cookie: `session_id=${newId}` } });
    expect(await next.json()).toMatchObject({ id: newId, visits: 12 });
    const stale = await fetch(`${retired}/count`, { headers: { cookie: `session_id=${oldId}` } });
    expect(await stale.json()).toMatchObject({ visits: 1 });
  });

  it("migrates a store that holds raw ids with hashIds: 'migrate'", async () => {
    const { store } = await make();
    const raw = await serve(store, { secret: NEW, hashIds: false });
    const browser = new CookieClient(raw);
    await browser.fetch('/count');
    const id = browser.cookies.get('session_id')!;
    const migrating = await serve(store, { secret: NEW, hashIds: 'migrate' });
    const moved = await fetch(`${migrating}/count`, { headers: { cookie: `session_id=${id}` } });
    expect(await moved.json()).toMatchObject({ id, visits: 2 });
    const keys: string[] = [];
    for await (const key of store.ids()) keys.push(key);
    expect(keys).toEqual([expect.stringMatching(/^k\./)]);
  });
}

describe('hashed ids and rotation on a MemoryStore', () => {
  const stores: MemoryStore[] = [];
  afterEach(() => {
    for (const store of stores.splice(0)) store.close();
  });
  scenarios(async () => {
    const store = new MemoryStore({ sweepIntervalSeconds: 0 });
    stores.push(store);
    // MemoryStore's map, as a heap dump would show it: every key and value it holds.
    const dump = async (): Promise<string> => {
      const parts: string[] = [];
      for await (const key of store.ids()) parts.push(key, JSON.stringify((await store.loadKey(key)) ?? null));
      return parts.join('\n');
    };
    return { store, dump };
  });
});

describeWithServer('hashed ids and rotation on Redis', unavailable, () => {
  let client: Redis;
  const prefixes: string[] = [];
  beforeAll(() => {
    client = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
  });
  afterAll(async () => {
    for (const prefix of prefixes) {
      const keys = await client.keys(`${prefix}*`);
      if (keys.length) await client.del(...keys);
    }
    client.disconnect();
  });
  scenarios(async () => {
    const prefix = uniquePrefix('hashed');
    prefixes.push(prefix);
    const store = new RedisStore({ client, prefix });
    // What a replica or a backup holds: every key under the prefix with every field and value.
    const dump = async (): Promise<string> => {
      const parts: string[] = [];
      for (const key of await client.keys(`${prefix}*`)) parts.push(key, JSON.stringify(await client.hgetall(key)));
      return parts.join('\n');
    };
    return { store, dump };
  });
});
