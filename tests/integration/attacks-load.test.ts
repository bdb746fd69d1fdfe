/**
 * The attack battery, part 3: load. A 100,000-request flood of made-up ids against Express with
 * MemoryStore (the store stays empty, the heap flat); 200 clients × 10 requests in parallel, each
 * keeping its own count, on every framework with MemoryStore and on Express with RedisStore;
 * many parallel requests on one session; `regenerate()` and `login()` racing writes on the old id,
 * in one instance and across two sharing the store (the old id stays dead, no write revives it).
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { SessionStore } from '../../src/index.js';
import { ISSUED_ID, cookieValue } from '../support/http.js';
import { describeWithServer, probeRedis } from '../support/redisServers.js';
import {
  FRAMEWORKS,
  KeepAliveClient,
  cookie,
  floodServer,
  json,
  rawCookie,
  sid,
  type AttackApp,
  type FloodServerRun,
  type Framework,
  type StoreKind,
} from '../support/attackHarness.js';
import { attackApps } from '../support/attackApps.js';

const unavailable = await probeRedis();

const CLIENTS = 200;
const REQUESTS = 10;
const FLOOD = 100_000;
/** Heap growth allowed across the flood, after a full GC before and after. */
const HEAP_BOUND = 20 * 1024 * 1024;

interface WhoAmI {
  id: string;
  isNew: boolean;
  userId: string | null;
  data: Record<string, unknown>;
}

/**
 * The flood runs in processes of its own (server with --expose-gc, and client), started before
 * the other tests of this file and checked after them: it takes a core of its own meanwhile.
 */
let flooding: FloodServerRun | undefined;
beforeAll(() => {
  flooding = floodServer(FLOOD);
});
// A run that skipped the flood test (jest -t) does not leave the flood running.
afterAll(() => flooding?.stop());

/** `count` clients in parallel, each making `requests` sequential /count requests with its own cookie. */
async function clients(app: AttackApp, count: number, requests: number): Promise<Array<{ id: string; counts: number[] }>> {
  return Promise.all(
    Array.from({ length: count }, async () => {
      const client = new KeepAliveClient(app.port);
      try {
        const first = await client.request('/count');
        const id = rawCookie(first)!;
        const counts = [(JSON.parse(first.body) as { count: number }).count];
        for (let i = 1; i < requests; i++) {
          const response = await client.request('/count', cookie(id));
          const body = JSON.parse(response.body) as { id: string; count: number };
          expect([response.status, body.id]).toEqual([200, id]);
          counts.push(body.count);
        }
        return { id, counts };
      } finally {
        client.close();
      }
    }),
  );
}

function concurrencyCases(framework: Framework, kind: StoreKind): void {
  const apps = attackApps(framework, kind);
  const start = (store?: SessionStore): Promise<AttackApp> => apps.start({}, store);

  it(`${CLIENTS} clients × ${REQUESTS} requests in parallel: each client counts exactly 1..${REQUESTS} on its own session`, async () => {
    const app = await start();
    const results = await clients(app, CLIENTS, REQUESTS);
    expect(new Set(results.map((r) => r.id)).size).toBe(CLIENTS);
    const expected = Array.from({ length: REQUESTS }, (_, i) => i + 1);
    for (const { id, counts } of results) {
      expect(id).toMatch(ISSUED_ID);
      expect(counts).toEqual(expected);
      expect(await app.store.get(id)).toEqual({ count: REQUESTS });
    }
    expect(await app.store.length()).toBe(CLIENTS);
  }, 60_000);
}

function raceCases(framework: Framework, kind: StoreKind): void {
  const apps = attackApps(framework, kind);
  const start = (store?: SessionStore): Promise<AttackApp> => apps.start({}, store);

  /** The old id is dead for good: tombstoned in the store, refused by `apps`, and no response handed it back. */
  const expectDead = async (old: string, responses: Response[], ...on: AttackApp[]): Promise<void> => {
    for (const response of responses) {
      expect(response.status).toBe(200);
      expect(cookieValue(response, 'session_id') ?? '').not.toBe(old);
      expect(response.headers.get('x-session-id')).not.toBe(old);
    }
    expect((await on[0]!.store.load(old))?.state).toBe('destroyed');
    for (const app of on) {
      const body = await json<WhoAmI>(await app.get('/whoami', cookie(old)));
      expect(body.id).not.toBe(old);
      expect(body.data).toEqual({});
    }
  };

  it('100 parallel increments on one session all count', async () => {
    const app = await start();
    const id = sid(await app.get('/count'));
    const counts = await Promise.all(Array.from({ length: 100 }, async () => (await json<{ count: number }>(await app.get('/count', cookie(id)))).count));
    expect(counts.sort((a, b) => a - b)).toEqual(Array.from({ length: 100 }, (_, i) => i + 2));
    expect(await app.store.get(id)).toEqual({ count: 101 });
  });

  it('regenerate while 20 requests that loaded the old id wait to write (increment, set): the writes land on a tombstone, nothing revives the old id', async () => {
    const app = await start();
    const old = sid(await app.get('/count'));
    const gate = app.gate('writers');
    const writers = [
      ...Array.from({ length: 10 }, () => app.get('/count?hold=writers', cookie(old))),
      ...Array.from({ length: 10 }, (_, i) => app.get(`/set?hold=writers&late${i}=1`, cookie(old))),
    ];
    await gate.until(20);
    const regenerated = await app.get('/regenerate', cookie(old));
    const fresh = cookieValue(regenerated, 'session_id')!;
    expect(fresh).toMatch(ISSUED_ID);
    expect(fresh).not.toBe(old);
    gate.release();
    const responses = await Promise.all(writers);
    await expectDead(old, responses, app);
    // The new id kept what the session held when it was regenerated, and nothing written late.
    expect(await json<WhoAmI>(await app.get('/whoami', cookie(fresh)))).toMatchObject({ id: fresh, data: { count: 1 } });
    expect(await app.store.length()).toBe(1);
  });

  it('login racing 30 increments on the old id (no gate): the old id ends, the new one holds the user and at most every count', async () => {
    const app = await start();
    const old = sid(await app.get('/count'));
    const requests = Array.from({ length: 31 }, (_, i) => (i === 15 ? app.get(`/login?user=racer-${framework}`, cookie(old)) : app.get('/count', cookie(old))));
    const responses = await Promise.all(requests);
    const login = responses[15]!;
    const fresh = cookieValue(login, 'session_id')!;
    expect(fresh).toMatch(ISSUED_ID);
    await expectDead(
      old,
      responses.filter((r) => r !== login),
      app,
    );
    const after = await json<WhoAmI>(await app.get('/whoami', cookie(fresh)));
    expect(after).toMatchObject({ id: fresh, userId: `racer-${framework}` });
    expect(after.data.count).toBeGreaterThanOrEqual(1);
    expect(after.data.count).toBeLessThanOrEqual(31);
  });

  it('revokeAll while 10 requests of the logged-in session wait to write: their writes revive neither the session nor its place in the list', async () => {
    const app = await start();
    const user = `held-${framework}-${kind}`;
    const id = sid(await app.get(`/login?user=${user}`));
    const gate = app.gate('revoked');
    const writers = Array.from({ length: 10 }, (_, i) => (i % 2 ? app.get('/count?hold=revoked', cookie(id)) : app.get(`/set?hold=revoked&late${i}=1`, cookie(id))));
    await gate.until(10);
    await app.mw.revokeAll(user);
    gate.release();
    const responses = await Promise.all(writers);
    await expectDead(id, responses, app);
    expect(await app.mw.sessionsOf(user)).toEqual([]);
  });

  it('regenerate on one instance while a second instance, sharing the store, holds 10 writes on the old id: the store tombstone refuses them', async () => {
    const app = await start();
    const twin = await start(app.store);
    const old = sid(await app.get('/count'));
    const gate = twin.gate('twin');
    const writers = Array.from({ length: 10 }, (_, i) => (i % 2 ? twin.get('/count?hold=twin', cookie(old)) : twin.get(`/set?hold=twin&late${i}=1`, cookie(old))));
    await gate.until(10);
    const fresh = cookieValue(await app.get('/regenerate', cookie(old)), 'session_id')!;
    gate.release();
    const responses = await Promise.all(writers);
    await expectDead(old, responses, app, twin);
    expect(await json<WhoAmI>(await twin.get('/whoami', cookie(fresh)))).toMatchObject({ id: fresh, data: { count: 1 } });
  });
}

describe.each(FRAMEWORKS)('load on %s with MemoryStore', (framework) => {
  concurrencyCases(framework, 'memory');
  raceCases(framework, 'memory');
});

describeWithServer('load with RedisStore (ioredis)', unavailable, () => {
  describe('on express', () => concurrencyCases('express', 'redis'));
  describe.each(FRAMEWORKS)('races on %s', (framework) => raceCases(framework, 'redis'));
});

describe('flood', () => {
  it(`${FLOOD.toLocaleString('en')} requests with made-up well-formed ids (reads and logouts) on Express + MemoryStore: each a fresh id, the store stays empty (no tombstone either), the heap flat`, async () => {
    const { warm, report, length, bytes, destroys, growth, errors } = await flooding!.result;
    expect(warm.failures).toEqual([]);
    expect(report.failures).toEqual([]);
    // A third of them are logouts, answered with a clearing cookie and no id.
    const logouts = Math.floor(FLOOD / 3);
    expect(report).toMatchObject({ requests: FLOOD, ok: FLOOD, distinct: FLOOD - logouts, logouts });
    expect(length).toBe(0);
    expect(bytes).toBe(0);
    expect(destroys).toBe(0);
    expect(growth).toBeLessThan(HEAP_BOUND);
    expect(errors).toEqual([]);
  }, 120_000);
});
