/**
 * RedisStore's user indexes on the machine's Redis (`REDIS_URL` overrides): the key layout, the
 * key's TTL, one round trip per call, and what the scripts do with keys and fields they did not
 * write. The behaviour every store shares is checked by tests/contract/userIndexContract.ts (run
 * against RedisStore with both clients, standalone and cluster, in tests/contract/).
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Redis } from 'ioredis';
import { RedisStore, SessionError } from '../../../src/index.js';
import { MAX_USER_SESSIONS, REVOCATION_TTL_SECONDS, type UserSessionEntry } from '../../../src/abstract/userIndex.js';
import { USER_REVOCATION } from '../../../src/stores/redis/scripts.js';
import { REDIS_URL, describeWithServer, probeRedis, uniquePrefix } from '../../support/redisServers.js';

const unavailable = await probeRedis();

const entry = (handle: string, expiresAt = Date.now() + 60_000, loggedInAt = Date.now() - 1000): UserSessionEntry => ({
  handle,
  sessionKey: `sid-${handle}`,
  loggedInAt,
  lastSeenAt: loggedInAt,
  expiresAt,
  meta: { userAgent: 'UA' },
});

async function rejection(promise: Promise<unknown>): Promise<SessionError> {
  const caught = await promise.then(
    () => undefined,
    (error: unknown) => error,
  );
  expect(SessionError.is(caught)).toBe(true);
  return caught as SessionError;
}

describeWithServer('RedisStore user indexes', unavailable, () => {
  let redis: Redis;
  const stores: RedisStore[] = [];

  beforeAll(() => {
    redis = new Redis(REDIS_URL);
  });

  afterAll(async () => {
    for (const store of stores) await store.clear();
    await redis.quit();
  });

  /** A store on a fresh prefix, through a client that counts the commands it sends. */
  function counted(): { store: RedisStore; sent: string[][] } {
    const sent: string[][] = [];
    const client = {
      isCluster: false,
      call: (command: string, ...args: Array<string | number>) => {
        sent.push([command, ...args.map(String)]);
        return redis.call(command, ...args);
      },
    };
    const store = new RedisStore({ client, prefix: uniquePrefix('user-index') });
    stores.push(store);
    return { store, sent };
  }

  const keyOf = (store: RedisStore, userId: string): string => `${store.prefix}user:${Buffer.from(userId).toString('base64url')}`;

  it('keeps one hash per user: a field per handle with the entry JSON, the empty field with the mark; the TTL follows the longest entry, then the mark', async () => {
    const { store } = counted();
    const key = keyOf(store, 'ada@example.com');
    const one = entry('h1', Date.now() + 30_000);
    await store.indexSession('ada@example.com', one);
    expect(await redis.type(key)).toBe('hash');
    expect(await redis.hkeys(key)).toEqual(['h1']);
    const json = (await redis.hget(key, 'h1'))!;
    expect(json.startsWith(`{"expiresAt":${one.expiresAt},`)).toBe(true);
    expect(JSON.parse(json)).toEqual(one);
    const pttl = await redis.pttl(key);
    expect(pttl).toBeGreaterThan(28_000);
    expect(pttl).toBeLessThanOrEqual(30_000);

    await store.indexSession('ada@example.com', entry('h2', Date.now() + 90_000));
    expect(await redis.pttl(key)).toBeGreaterThan(88_000);
    await store.unindexSession('ada@example.com', 'h2');
    expect(await redis.pttl(key)).toBeLessThanOrEqual(30_000);

    const before = Date.now();
    await store.revokeUser('ada@example.com', before, 'h1');
    expect(JSON.parse((await redis.hget(key, ''))!)).toEqual({ before, spared: 'h1', expiresAt: expect.any(Number) });
    expect(await redis.pttl(key)).toBeGreaterThan(REVOCATION_TTL_SECONDS * 1000 - 5000);
    expect(await redis.pttl(key)).toBeLessThanOrEqual(REVOCATION_TTL_SECONDS * 1000);

    // The last entry off and no mark: the key goes.
    await store.indexSession('bob', entry('b1'));
    await store.unindexSession('bob', 'b1');
    expect(await redis.exists(keyOf(store, 'bob'))).toBe(0);
  });

  it('costs one round trip per call (once the server has the scripts); userRevocation is one HGET', async () => {
    const { store, sent } = counted();
    const calls: Array<[string, () => Promise<unknown>]> = [
      ['indexSession', () => store.indexSession('ada', entry('h1'))],
      ['userIndex', () => store.userIndex('ada')],
      ['userRevocation', () => store.userRevocation('ada')],
      ['unindexSession', () => store.unindexSession('ada', 'h1')],
      ['revokeUser', () => store.revokeUser('ada', Date.now())],
    ];
    for (const [, call] of calls) await call(); // the server loads each script once
    for (const [name, call] of calls) {
      sent.length = 0;
      await call();
      expect([name, sent.length]).toEqual([name, 1]);
      expect(sent[0]![0]).toBe('EVALSHA');
    }
    sent.length = 0;
    await store.userRevocation('ada');
    expect(sent).toEqual([['EVALSHA', USER_REVOCATION.sha, '1', keyOf(store, 'ada')]]);
    expect(USER_REVOCATION.source).toBe(`return redis.call('HGET', KEYS[1], '')`);
  });

  it('every write drops expired entries, an expired mark and fields it cannot read, and bounds the hash', async () => {
    const { store } = counted();
    const key = keyOf(store, 'cy');
    await redis.hset(
      key,
      'old',
      JSON.stringify({ expiresAt: Date.now() - 1, handle: 'old' }),
      'junk',
      'not json',
      '',
      JSON.stringify({ before: Date.now() + 60_000, expiresAt: Date.now() - 1 }),
    );
    await redis.pexpire(key, 60_000);
    await expect(store.userIndex('cy')).resolves.toStrictEqual({ sessions: [], revocation: undefined });
    // The expired mark does not refuse a login from before its `before`.
    await store.indexSession('cy', entry('h1'));
    expect(await redis.hkeys(key)).toEqual(['h1']);
    for (let i = 0; i < MAX_USER_SESSIONS + 2; i++) await store.indexSession('cy', entry(`n${i}`, Date.now() + 120_000 + i));
    expect(await redis.hlen(key)).toBe(MAX_USER_SESSIONS);
    expect(await redis.hexists(key, 'h1')).toBe(0);
  });

  it("refuses session ids in the user-index namespace ('invalid-id'), and a key of another type under a user's name ('store-error')", async () => {
    const { store } = counted();
    for (const call of [() => store.load('user:x'), () => store.set('user:x', {}), () => store.patch('user:', { a: 1 }, 30), () => store.destroy('user:x')]) {
      expect((await rejection(call())).kind).toBe('invalid-id');
    }
    await expect(store.set('users', { a: 1 }, 30)).resolves.toBeUndefined();
    const key = keyOf(store, 'dee');
    await redis.set(key, 'something else', 'EX', 60);
    for (const call of [() => store.indexSession('dee', entry('h1')), () => store.userIndex('dee'), () => store.revokeUser('dee', Date.now()), () => store.unindexSession('dee', 'h1')]) {
      const error = await rejection(call());
      expect(error.kind).toBe('store-error');
      expect(error.message).toContain('WRONGTYPE');
    }
    expect(await redis.get(key)).toBe('something else');
    // clear() removes everything under the prefix, user indexes included; ids() lists sessions only.
    await store.indexSession('eve', entry('h1'));
    const ids: string[] = [];
    for await (const id of store.ids()) ids.push(id);
    expect(ids).toEqual(['users']);
    await store.clear();
    expect(await redis.exists(key, keyOf(store, 'eve'))).toBe(0);
  });

  describe('a revocation mark and a login racing', () => {
    it('the index write of a session logged in before the mark is refused atomically, in any order of many concurrent calls', async () => {
      const { store } = counted();
      const at = Date.now();
      const logins = Array.from({ length: 30 }, (_, i) => store.indexSession('fay', entry(`old${i}`, Date.now() + 60_000, at - 1)));
      const revoked = store.revokeUser('fay', at, 'old0');
      await Promise.all(logins);
      const removed = await revoked;
      const listed = (await store.userIndex('fay')).sessions.map((one) => one.handle);
      // Every old login either was taken off by the revocation or came after it and was refused.
      expect(listed.filter((handle) => handle !== 'old0')).toEqual([]);
      expect(removed.every((one) => one.handle !== 'old0')).toBe(true);
    });
  });
});
