/**
 * The shared behaviour of the abstract `SessionStore`: `get` built on `load`, the
 * `defaultTtlSeconds` property, and the protected helpers `checkId` and `ttlOrDefault`, exercised
 * through the public methods of a minimal subclass written here (the full store contract runs in
 * tests/unit/stores against real stores).
 */
import { describe, expect, it } from '@jest/globals';
import { SessionError, SessionStore, type SessionChanges, type SessionData, type StoredSession } from '../../../src/index.js';
import { caught } from '../../support/errors.js';

/**
 * The smallest useful store: a Map of what `load` reports, plus the TTL each write resolved to.
 * Every method checks its id with `checkId` and resolves its TTL with `ttlOrDefault`, as a real
 * store does.
 */
class MinimalStore extends SessionStore {
  readonly entries = new Map<string, StoredSession>();
  /** The TTL (seconds) the last write of each id resolved to. */
  readonly ttls = new Map<string, number>();
  /** Ids `load` was called with, in order. */
  readonly loads: string[] = [];

  async load(id: string): Promise<StoredSession | undefined> {
    this.checkId(id);
    this.loads.push(id);
    return this.entries.get(id);
  }

  async set(id: string, data: SessionData, ttlSeconds?: number): Promise<void> {
    this.checkId(id);
    const ttl = this.ttlOrDefault(ttlSeconds);
    this.entries.set(id, { state: 'active', data: structuredClone(data), expiresAt: Date.now() + ttl * 1000 });
    this.ttls.set(id, ttl);
  }

  async destroy(id: string): Promise<void> {
    this.checkId(id);
    this.entries.set(id, { state: 'destroyed' });
  }

  async touch(id: string, ttlSeconds: number): Promise<void> {
    this.checkId(id);
    const ttl = this.ttlOrDefault(ttlSeconds);
    const entry = this.entries.get(id);
    if (entry?.state === 'active') {
      this.entries.set(id, { ...entry, expiresAt: Date.now() + ttl * 1000 });
      this.ttls.set(id, ttl);
    }
  }

  async patch(id: string, changes: SessionChanges, ttlSeconds: number): Promise<void> {
    this.checkId(id);
    const ttl = this.ttlOrDefault(ttlSeconds);
    const entry = this.entries.get(id);
    if (entry?.state === 'destroyed') return;
    const data: SessionData = entry ? { ...entry.data } : {};
    for (const [key, value] of Object.entries(changes)) {
      if (value === undefined) delete data[key];
      else data[key] = value;
    }
    this.entries.set(id, { state: 'active', data, expiresAt: Date.now() + ttl * 1000 });
    this.ttls.set(id, ttl);
  }

  async increment(id: string, key: string, by: number, ttlSeconds: number): Promise<number> {
    this.checkId(id);
    const ttl = this.ttlOrDefault(ttlSeconds);
    const entry = this.entries.get(id);
    const data: SessionData = entry?.state === 'active' ? { ...entry.data } : {};
    const next = ((data[key] as number | undefined) ?? 0) + by;
    if (entry?.state === 'destroyed') return next;
    data[key] = next;
    this.entries.set(id, { state: 'active', data, expiresAt: Date.now() + ttl * 1000 });
    this.ttls.set(id, ttl);
    return next;
  }

  async clear(): Promise<void> {
    this.entries.clear();
    this.ttls.clear();
  }

  async length(): Promise<number> {
    return [...this.entries.values()].filter((entry) => entry.state === 'active').length;
  }

  async *ids(): AsyncIterable<string> {
    for (const [id, entry] of this.entries) if (entry.state === 'active') yield id;
  }
}

/** The rejection of `promise` (fails the test when it resolves). */
async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    (value) => {
      throw new Error(`expected a rejection, got ${JSON.stringify(value)}`);
    },
    (error: unknown) => error,
  );
}


function expectSessionError(error: unknown, kind: SessionError['kind']): SessionError {
  expect(SessionError.is(error)).toBe(true);
  expect(error).toBeInstanceOf(SessionError);
  expect((error as SessionError).kind).toBe(kind);
  return error as SessionError;
}

describe('SessionStore (abstract)', () => {
  describe('get, built on load', () => {
    it('resolves the data of an active session, reading it with one load of that id', async () => {
      const store = new MinimalStore();
      store.entries.set('abc', { state: 'active', data: { visits: 2, user: { name: 'ada' } }, expiresAt: Date.now() + 60_000 });
      await expect(store.get('abc')).resolves.toEqual({ visits: 2, user: { name: 'ada' } });
      expect(store.loads).toEqual(['abc']);
    });

    it('resolves the data of an active session whose expiry the store does not know', async () => {
      const store = new MinimalStore();
      store.entries.set('no-expiry', { state: 'active', data: { a: 1 }, expiresAt: undefined });
      await expect(store.get('no-expiry')).resolves.toEqual({ a: 1 });
    });

    it('resolves undefined for a destroyed session (the tombstone is not data)', async () => {
      const store = new MinimalStore();
      await store.set('gone', { secret: 'x' });
      await store.destroy('gone');
      await expect(store.load('gone')).resolves.toEqual({ state: 'destroyed' });
      await expect(store.get('gone')).resolves.toBeUndefined();
    });

    it('resolves undefined for a missing id, without throwing', async () => {
      const store = new MinimalStore();
      await store.set('other', { a: 1 });
      await expect(store.get('missing')).resolves.toBeUndefined();
      expect(store.loads).toEqual(['missing']);
    });

    it('passes a failure of load on unchanged (it does not turn a broken store into "missing")', async () => {
      class BrokenLoad extends MinimalStore {
        override async load(): Promise<StoredSession | undefined> {
          throw new Error('ECONNREFUSED');
        }
      }
      const error = await rejectionOf(new BrokenLoad().get('abc'));
      expect(error).toBeInstanceOf(Error);
      expect((error as Error).message).toBe('ECONNREFUSED');
    });

    it('uses the subclass load, so an override of load changes what get sees', async () => {
      class Prefixed extends MinimalStore {
        override async load(id: string): Promise<StoredSession | undefined> {
          return super.load(`tenant:${id}`);
        }
      }
      const store = new Prefixed();
      await store.set('tenant:abc', { plan: 'pro' });
      await expect(store.get('abc')).resolves.toEqual({ plan: 'pro' });
      expect(store.loads).toEqual(['tenant:abc']);
    });
  });

  describe('defaultTtlSeconds', () => {
    it('is 3600 by default', () => {
      expect(new MinimalStore().defaultTtlSeconds).toBe(3600);
    });

    it('accepts positive numbers of seconds, fractions included', () => {
      const store = new MinimalStore();
      store.defaultTtlSeconds = 120;
      expect(store.defaultTtlSeconds).toBe(120);
      store.defaultTtlSeconds = 0.5;
      expect(store.defaultTtlSeconds).toBe(0.5);
    });

    it('is per instance', () => {
      const a = new MinimalStore();
      const b = new MinimalStore();
      a.defaultTtlSeconds = 42;
      expect(a.defaultTtlSeconds).toBe(42);
      expect(b.defaultTtlSeconds).toBe(3600);
    });

    it.each([
      ['0', 0],
      ['-1', -1],
      ['NaN', Number.NaN],
      ['Infinity', Number.POSITIVE_INFINITY],
      ["the string '5'", '5'],
      ['undefined', undefined],
      ['null', null],
    ])('rejects %s with an invalid-option SessionError naming defaultTtlSeconds, keeping the old value', (_label, value) => {
      const store = new MinimalStore();
      store.defaultTtlSeconds = 90;
      const error = expectSessionError(
        caught(() => {
          store.defaultTtlSeconds = value as number;
        }),
        'invalid-option',
      );
      expect(error.option).toBe('defaultTtlSeconds');
      expect(error.message).toContain('defaultTtlSeconds');
      expect(store.defaultTtlSeconds).toBe(90);
    });
  });

  describe('ttlOrDefault (through set, patch, touch, increment)', () => {
    it('uses the default TTL for a set without one, following later changes of the default', async () => {
      const store = new MinimalStore();
      await store.set('a', { x: 1 });
      expect(store.ttls.get('a')).toBe(3600);
      store.defaultTtlSeconds = 60;
      await store.set('b', { x: 2 });
      expect(store.ttls.get('b')).toBe(60);
    });

    it('passes a positive TTL through unchanged, fractions included', async () => {
      const store = new MinimalStore();
      await store.set('a', { x: 1 }, 5);
      expect(store.ttls.get('a')).toBe(5);
      await store.patch('a', { y: 2 }, 0.25);
      expect(store.ttls.get('a')).toBe(0.25);
      await store.touch('a', 7);
      expect(store.ttls.get('a')).toBe(7);
      await store.increment('a', 'n', 1, 9);
      expect(store.ttls.get('a')).toBe(9);
    });

    it.each([
      ['0', 0],
      ['-1', -1],
      ['NaN', Number.NaN],
      ['Infinity', Number.POSITIVE_INFINITY],
      ['null', null],
      ["the string '5'", '5'],
    ])('rejects a TTL of %s with invalid-value, writing nothing', async (_label, ttl) => {
      const store = new MinimalStore();
      expectSessionError(await rejectionOf(store.set('a', { x: 1 }, ttl as number)), 'invalid-value');
      expectSessionError(await rejectionOf(store.patch('a', { x: 1 }, ttl as number)), 'invalid-value');
      expectSessionError(await rejectionOf(store.increment('a', 'n', 1, ttl as number)), 'invalid-value');
      await expect(store.length()).resolves.toBe(0);
      await expect(store.get('a')).resolves.toBeUndefined();
    });

    it('rejects a bad TTL on touch, leaving the session and its TTL as they were', async () => {
      const store = new MinimalStore();
      await store.set('a', { x: 1 }, 30);
      expectSessionError(await rejectionOf(store.touch('a', 0)), 'invalid-value');
      expect(store.ttls.get('a')).toBe(30);
      await expect(store.get('a')).resolves.toEqual({ x: 1 });
    });
  });

  describe('checkId (through every id-taking method)', () => {
    it('accepts any non-empty string', async () => {
      const store = new MinimalStore();
      for (const id of ['a', ' ', 'x'.repeat(500), 'ünïcødé', 'undefined']) {
        await store.set(id, { id });
        await expect(store.get(id)).resolves.toEqual({ id });
      }
      await expect(store.length()).resolves.toBe(5);
    });

    it.each([
      ['undefined', undefined],
      ["''", ''],
      ['null', null],
      ['a number', 42],
      ['an object', { id: 'abc' }],
    ])('rejects %s with invalid-id in get, load, set, destroy, touch, patch and increment', async (_label, id) => {
      const store = new MinimalStore();
      const bad = id as unknown as string;
      const calls: Array<[string, () => Promise<unknown>]> = [
        ['get', () => store.get(bad)],
        ['load', () => store.load(bad)],
        ['set', () => store.set(bad, { x: 1 })],
        ['destroy', () => store.destroy(bad)],
        ['touch', () => store.touch(bad, 10)],
        ['patch', () => store.patch(bad, { x: 1 }, 10)],
        ['increment', () => store.increment(bad, 'n', 1, 10)],
      ];
      for (const [method, call] of calls) {
        const error = await rejectionOf(call());
        expect({ method, kind: SessionError.is(error) ? error.kind : String(error) }).toEqual({ method, kind: 'invalid-id' });
      }
      // Nothing was written, in particular no session called "undefined".
      expect(store.entries.size).toBe(0);
      expect(store.loads).toEqual([]);
    });

    it('gives the invalid-id error status 500 and a message without the bad value', async () => {
      const store = new MinimalStore();
      const error = expectSessionError(await rejectionOf(store.get(undefined as unknown as string)), 'invalid-id');
      expect(error.status).toBe(500);
      expect(error.message).toBe('Session ids must be non-empty strings');
    });
  });
});
