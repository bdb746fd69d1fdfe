/**
 * RedisStore beyond the shared contract, on the machine's Redis (`REDIS_URL` overrides): the key
 * layout and TTLs as Redis sees them, number precision, SCAN with a prefix full of glob
 * characters, the EVAL fallback, foreign keys, client failures, option checks, and the rule that
 * the library never imports a Redis client at runtime.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { Redis } from 'ioredis';
import { createClient } from 'redis';
import { RedisStore, SessionError } from '../../src/index.js';
import { REDIS_URL, describeWithServer, probeRedis, uniquePrefix } from '../support/redisServers.js';

const unavailable = await probeRedis();

/** What `promise` rejects with; fails the test when it resolves. */
async function caught(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}

async function collect(iterable: AsyncIterable<string>): Promise<string[]> {
  const out: string[] = [];
  for await (const item of iterable) out.push(item);
  return out;
}

function optionError(make: () => unknown): SessionError {
  let error: unknown;
  try {
    make();
  } catch (thrown) {
    error = thrown;
  }
  if (!SessionError.is(error)) throw new Error(`expected a SessionError, got ${String(error)}`);
  return error;
}

describe('the library never imports a Redis client at runtime', () => {
  it('src/ only has `import type` from ioredis or redis', () => {
    const files: string[] = [];
    const walk = (dir: string): void => {
      for (const name of readdirSync(dir)) {
        const path = join(dir, name);
        if (statSync(path).isDirectory()) walk(path);
        else if (path.endsWith('.ts')) files.push(path);
      }
    };
    walk('src');
    const offending = files.filter((file) =>
      /^\s*(import|export)\s+(?!type\b)[^;]*from\s+['"](ioredis|redis|@redis\/[^'"]+)['"]/m.test(readFileSync(file, 'utf8')) ||
      /(import|require)\(\s*['"](ioredis|redis)['"]\s*\)/.test(readFileSync(file, 'utf8')),
    );
    expect(offending).toEqual([]);
  });

  it('the package loads, and a RedisStore works over any client of the right shape, where ioredis and redis cannot be resolved', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'no-redis-'));
    try {
      const hooks = join(dir, 'hooks.mjs');
      writeFileSync(
        hooks,
        `export async function resolve(specifier, context, next) {
          if (/^(ioredis|redis|@redis\\/)/.test(specifier)) throw new Error('blocked import of ' + specifier);
          return next(specifier, context);
        }`,
      );
      const register = `data:text/javascript,import { register } from 'node:module'; register(${JSON.stringify(pathToFileURL(hooks).href)});`;
      const script = `
        const lib = await import('./src/index.ts');
        const store = new lib.RedisStore({ client: { sendCommand: async () => [0] } });
        let blocked = false;
        try { await import('ioredis'); } catch { blocked = true; }
        console.log(JSON.stringify({ load: (await store.load('x')) ?? null, blocked }));
      `;
      const { stdout } = await promisify(execFile)(process.execPath, ['--import', register, '--import', 'tsx', '--input-type=module', '-e', script], {
        timeout: 30_000,
      });
      expect(JSON.parse(stdout)).toEqual({ load: null, blocked: true });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 30_000);
});

describe('RedisStore options', () => {
  it('refuses a missing or unknown client, naming the option', () => {
    expect(optionError(() => new RedisStore(undefined as never)).option).toBe('client');
    expect(optionError(() => new RedisStore({ client: undefined as never })).option).toBe('client');
    expect(optionError(() => new RedisStore({ client: {} as never })).option).toBe('client');
    expect(optionError(() => new RedisStore({ client: { get: () => 1 } as never })).kind).toBe('invalid-option');
  });

  it('refuses an empty or non-string prefix and a bad scanCount', () => {
    const client = { sendCommand: async () => null };
    expect(optionError(() => new RedisStore({ client, prefix: '' })).option).toBe('prefix');
    expect(optionError(() => new RedisStore({ client, prefix: 5 as never })).option).toBe('prefix');
    expect(optionError(() => new RedisStore({ client, scanCount: 0 })).option).toBe('scanCount');
    expect(optionError(() => new RedisStore({ client, scanCount: 1.5 })).option).toBe('scanCount');
    expect(optionError(() => new RedisStore({ client, defaultTtlSeconds: -1 })).option).toBe('defaultTtlSeconds');
  });

  it("defaults the prefix to 'session:' and takes defaultTtlSeconds", () => {
    const store = new RedisStore({ client: { sendCommand: async () => null }, defaultTtlSeconds: 90 });
    expect(store.prefix).toBe('session:');
    expect(store.defaultTtlSeconds).toBe(90);
  });

  it('refuses an ioredis client with a keyPrefix (SCAN would not see it)', () => {
    const client = new Redis({ lazyConnect: true, keyPrefix: 'app:' });
    try {
      const error = optionError(() => new RedisStore({ client }));
      expect(error.option).toBe('client');
      expect(error.message).toContain('keyPrefix');
    } finally {
      client.disconnect();
    }
  });
});

describe('RedisStore client failures', () => {
  it('an ioredis client that cannot send rejects with a store-error carrying the cause', async () => {
    const client = new Redis({ lazyConnect: true, enableOfflineQueue: false });
    const store = new RedisStore({ client });
    try {
      for (const call of [(): Promise<unknown> => store.load('x'), () => store.patch('x', { a: 1 }, 30), () => store.length(), () => collect(store.ids())]) {
        const error = await caught(call());
        expect(SessionError.is(error)).toBe(true);
        expect((error as SessionError).kind).toBe('store-error');
        expect((error as SessionError).status).toBe(503);
        expect((error as SessionError).cause).toBeInstanceOf(Error);
        expect((error as SessionError).message).not.toContain('x:');
      }
    } finally {
      client.disconnect();
    }
  });

  it('a closed node-redis client rejects with a store-error', async () => {
    const client = createClient({ url: 'redis://127.0.0.1:1' });
    const store = new RedisStore({ client });
    const error = await caught(store.load('x'));
    expect(SessionError.is(error) && error.kind).toBe('store-error');
  });
});

describeWithServer('RedisStore on a real Redis', unavailable, () => {
  let redis: Redis;
  let nodeRedis: ReturnType<typeof createClient>;
  let prefix: string;
  let store: RedisStore;

  beforeAll(async () => {
    redis = new Redis(REDIS_URL);
    nodeRedis = createClient({ url: REDIS_URL });
    await nodeRedis.connect();
  });

  afterAll(async () => {
    await redis.quit();
    await nodeRedis.close();
  });

  beforeEach(() => {
    prefix = uniquePrefix('redis-store');
    store = new RedisStore({ client: redis, prefix });
  });

  afterEach(async () => {
    await store.clear();
  });

  it('keeps one hash per session: a field per key holding its JSON, plus the empty-named marker', async () => {
    await store.set('a', { user: 'ada', cart: { items: [1, 2] }, flag: true });
    await store.patch('a', { flag: undefined, when: new Date('2024-01-02T03:04:05.000Z') }, 30);
    await store.increment('a', 'visits', 2, 30);
    expect(await redis.type(`${prefix}a`)).toBe('hash');
    expect(await redis.hgetall(`${prefix}a`)).toEqual({
      '': '',
      user: '"ada"',
      cart: '{"items":[1,2]}',
      when: '"2024-01-02T03:04:05.000Z"',
      visits: '2',
    });
    const pttl = await redis.pttl(`${prefix}a`);
    expect(pttl).toBeGreaterThan(29_000);
    expect(pttl).toBeLessThanOrEqual(30_000);
  });

  it('takes fractional TTLs in milliseconds, and load reports the expiry from PTTL', async () => {
    const before = Date.now();
    await store.set('f', { a: 1 }, 1.5);
    const pttl = await redis.pttl(`${prefix}f`);
    expect(pttl).toBeGreaterThan(1_000);
    expect(pttl).toBeLessThanOrEqual(1_500);
    const found = await store.load('f');
    if (found?.state !== 'active') throw new Error('expected a live session');
    expect(found.expiresAt).toBeGreaterThanOrEqual(before + 1_000);
    expect(found.expiresAt).toBeLessThanOrEqual(Date.now() + 1_500);
  });

  it('a tombstone is a string that keeps the remaining TTL, or the default TTL for an id that stored nothing', async () => {
    store.defaultTtlSeconds = 120;
    await store.set('live', { a: 1 }, 10);
    await store.destroy('live');
    await store.destroy('never-stored');
    expect(await redis.type(`${prefix}live`)).toBe('string');
    expect(await redis.pttl(`${prefix}live`)).toBeLessThanOrEqual(10_000);
    expect(await redis.pttl(`${prefix}live`)).toBeGreaterThan(9_000);
    expect(await redis.pttl(`${prefix}never-stored`)).toBeGreaterThan(119_000);
    // touch and a second destroy leave the tombstone's TTL alone
    await store.touch('live', 600);
    await store.destroy('live');
    expect(await redis.pttl(`${prefix}live`)).toBeLessThanOrEqual(10_000);
  });

  it('increment adds doubles exactly as JavaScript does, and refuses a non-finite result', async () => {
    await expect(store.increment('n', 'x', 0.1, 30)).resolves.toBe(0.1);
    await expect(store.increment('n', 'x', 0.2, 30)).resolves.toBe(0.1 + 0.2);
    await expect(store.get('n')).resolves.toEqual({ x: 0.1 + 0.2 });
    await store.set('big', { x: Number.MAX_SAFE_INTEGER - 1, y: 1e308 }, 30);
    await expect(store.increment('big', 'x', 1, 30)).resolves.toBe(Number.MAX_SAFE_INTEGER);
    await expect(store.increment('big', 'x', -1e-7, 30)).resolves.toBe(Number.MAX_SAFE_INTEGER - 1e-7);
    const error = await caught(store.increment('big', 'y', 1e308, 30));
    expect(SessionError.is(error) && error.kind).toBe('invalid-value');
    await expect(store.get('big')).resolves.toEqual({ x: Number.MAX_SAFE_INTEGER - 1e-7, y: 1e308 });
  });

  it('not-a-number names what the field holds', async () => {
    await store.set('t', { s: '5', o: {}, l: [], z: null }, 30);
    for (const [key, kind] of [['s', 'string'], ['o', 'object'], ['l', 'array'], ['z', 'null']] as const) {
      const error = await caught(store.increment('t', key, 1, 30));
      expect(SessionError.is(error) && error.kind).toBe('not-a-number');
      expect((error as SessionError).message).toContain(`holds a ${kind}`);
    }
  });

  it('handles records of many fields (chunked HSET/HDEL) and ids with any characters', async () => {
    const many: Record<string, number> = {};
    for (let i = 0; i < 1_500; i++) many[`k${i}`] = i;
    await store.set('wide', many, 30);
    await expect(store.get('wide')).resolves.toEqual(many);
    const changes: Record<string, number | undefined> = {};
    for (let i = 0; i < 1_500; i++) changes[`k${i}`] = i % 2 === 0 ? undefined : -i;
    await store.patch('wide', changes, 30);
    const data = (await store.get('wide'))!;
    expect(Object.keys(data)).toHaveLength(750);
    expect(data.k1).toBe(-1);
    const odd = ['a:b', '{tag}x', 'spa ce', 'ünï', '*?[x]\\'];
    for (const id of odd) await store.set(id, { id }, 30);
    for (const id of odd) await expect(store.get(id)).resolves.toEqual({ id });
    expect((await collect(store.ids())).sort()).toEqual([...odd, 'wide'].sort());
  });

  it('SCAN matches only this prefix, even one full of glob characters, and clear leaves other prefixes alone', async () => {
    const globby = new RedisStore({ client: nodeRedis, prefix: `${prefix}[g]*?\\:`, scanCount: 10 });
    const sibling = new RedisStore({ client: redis, prefix: `${prefix}g` });
    try {
      for (let i = 0; i < 60; i++) await globby.set(`s${i}`, { i }, 30);
      await sibling.set('other', { x: 1 }, 30);
      await globby.destroy('s0');
      await expect(globby.length()).resolves.toBe(59);
      expect(new Set(await collect(globby.ids())).size).toBe(59);
      await expect(sibling.length()).resolves.toBe(1);
      await globby.clear();
      await expect(globby.length()).resolves.toBe(0);
      await expect(globby.load('s0')).resolves.toBeUndefined();
      await expect(sibling.get('other')).resolves.toEqual({ x: 1 });
    } finally {
      await globby.clear();
      await sibling.clear();
    }
  });

  it('falls back to EVAL when the server does not have a script (SCRIPT FLUSH), with either client', async () => {
    const viaNodeRedis = new RedisStore({ client: nodeRedis, prefix });
    await store.set('s', { a: 1 }, 30);
    await redis.script('FLUSH');
    await expect(store.get('s')).resolves.toEqual({ a: 1 });
    await redis.script('FLUSH');
    await expect(viaNodeRedis.increment('s', 'n', 1, 30)).resolves.toBe(1);
    await expect(viaNodeRedis.get('s')).resolves.toEqual({ a: 1, n: 1 });
  });

  it('refuses a key of a foreign type under its prefix with a store-error, leaving it untouched', async () => {
    await redis.rpush(`${prefix}list`, 'x');
    for (const call of [
      () => store.load('list'),
      () => store.patch('list', { a: 1 }, 30),
      () => store.increment('list', 'n', 1, 30),
      () => store.destroy('list'),
      () => store.set('list', { a: 1 }, 30),
    ]) {
      const error = await caught(call());
      expect(SessionError.is(error) && error.kind).toBe('store-error');
      expect((error as SessionError).message).toContain('WRONGTYPE');
    }
    expect(await redis.lrange(`${prefix}list`, 0, -1)).toEqual(['x']);
    await expect(store.length()).resolves.toBe(0);
  });

  it('two stores on the same prefix (two processes) see each other: a destroy on one is a tombstone for the other', async () => {
    const other = new RedisStore({ client: nodeRedis, prefix });
    await store.patch('shared', { a: 1 }, 30);
    await other.patch('shared', { b: 2 }, 30);
    await expect(store.get('shared')).resolves.toEqual({ a: 1, b: 2 });
    await other.destroy('shared');
    await expect(store.load('shared')).resolves.toEqual({ state: 'destroyed' });
    await store.patch('shared', { late: true }, 30);
    await expect(other.load('shared')).resolves.toEqual({ state: 'destroyed' });
  });
});
