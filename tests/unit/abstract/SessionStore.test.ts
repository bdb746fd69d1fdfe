/**
 * The shared behaviour of the abstract `SessionStore`: the public methods, which check their
 * arguments once and call the protected primitives of a subclass; `get` built on `load`; the
 * `defaultTtlSeconds` property. Exercised through a minimal subclass written here that checks
 * nothing itself (the full store contract runs in tests/unit/stores and tests/contract against
 * real stores).
 */
import { describe, expect, it } from '@jest/globals';
import { SessionError, SessionStore, type SessionData, type StoredSession } from '../../../src/index.js';
import { caught } from '../../support/errors.js';

/** One call of a primitive, with its arguments. */
type PrimitiveCall = [name: string, ...args: unknown[]];

/**
 * The smallest useful store: a Map of what `load` reports, plus the TTL each write was given.
 * Its primitives check nothing: the base does. Every primitive call is recorded.
 */
class MinimalStore extends SessionStore {
  readonly entries = new Map<string, StoredSession>();
  /** The TTL (seconds) the last write of each id was given. */
  readonly ttls = new Map<string, number>();
  /** Ids `loadSession` was called with, in order. */
  readonly loads: string[] = [];
  /** Every primitive call, in order. */
  readonly primitives: PrimitiveCall[] = [];

  protected async loadSession(id: string): Promise<StoredSession | undefined> {
    this.primitives.push(['loadSession', id]);
    this.loads.push(id);
    const entry = this.entries.get(id);
    return entry?.state === 'active' ? { ...entry, data: structuredClone(entry.data) } : entry;
  }

  protected async writeSession(id: string, json: string, ttlSeconds: number): Promise<void> {
    this.primitives.push(['writeSession', id, json, ttlSeconds]);
    this.entries.set(id, { state: 'active', data: JSON.parse(json) as SessionData, expiresAt: Date.now() + ttlSeconds * 1000 });
    this.ttls.set(id, ttlSeconds);
  }

  protected async destroySession(id: string): Promise<void> {
    this.primitives.push(['destroySession', id]);
    this.entries.set(id, { state: 'destroyed' });
  }

  protected async touchSession(id: string, ttlSeconds: number): Promise<void> {
    this.primitives.push(['touchSession', id, ttlSeconds]);
    const entry = this.entries.get(id);
    if (entry?.state === 'active') {
      this.entries.set(id, { ...entry, expiresAt: Date.now() + ttlSeconds * 1000 });
      this.ttls.set(id, ttlSeconds);
    }
  }

  protected async patchSession(id: string, changes: ReadonlyArray<readonly [key: string, json: string | undefined]>, ttlSeconds: number): Promise<void> {
    this.primitives.push(['patchSession', id, changes.map(([key, json]) => [key, json]), ttlSeconds]);
    const entry = this.entries.get(id);
    if (entry?.state === 'destroyed') return;
    const data: SessionData = entry ? { ...entry.data } : {};
    for (const [key, json] of changes) {
      if (json === undefined) delete data[key];
      else data[key] = JSON.parse(json);
    }
    this.entries.set(id, { state: 'active', data, expiresAt: Date.now() + ttlSeconds * 1000 });
    this.ttls.set(id, ttlSeconds);
  }

  protected async incrementField(id: string, key: string, by: number, ttlSeconds: number): Promise<number> {
    this.primitives.push(['incrementField', id, key, by, ttlSeconds]);
    const entry = this.entries.get(id);
    const data: SessionData = entry?.state === 'active' ? { ...entry.data } : {};
    const next = ((data[key] as number | undefined) ?? 0) + by;
    if (entry?.state === 'destroyed') return next;
    data[key] = next;
    this.entries.set(id, { state: 'active', data, expiresAt: Date.now() + ttlSeconds * 1000 });
    this.ttls.set(id, ttlSeconds);
    return next;
  }

  protected async clearSessions(): Promise<void> {
    this.primitives.push(['clearSessions']);
    this.entries.clear();
    this.ttls.clear();
  }

  protected async countSessions(): Promise<number> {
    this.primitives.push(['countSessions']);
    return [...this.entries.values()].filter((entry) => entry.state === 'active').length;
  }

  protected async *sessionIds(): AsyncIterable<string> {
    this.primitives.push(['sessionIds']);
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

  describe('TTLs (ttlOrDefault, through set, patch, touch, increment)', () => {
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
      expectSessionError(await rejectionOf(store.touch('a', ttl as number)), 'invalid-value');
      expect(store.primitives).toEqual([]);
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

  describe('ids (checkId, through every id-taking method)', () => {
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
      // Nothing was written, in particular no session called "undefined": no primitive ran.
      expect(store.entries.size).toBe(0);
      expect(store.primitives).toEqual([]);
    });

    it('gives the invalid-id error status 500 and a message without the bad value', async () => {
      const store = new MinimalStore();
      const error = expectSessionError(await rejectionOf(store.get(undefined as unknown as string)), 'invalid-id');
      expect(error.status).toBe(500);
      expect(error.message).toBe('Session ids must be non-empty strings');
    });
  });

  describe('the public methods check once, then call the primitives', () => {
    it('pass each primitive checked arguments: JSON text, [key, json] pairs, the resolved TTL', async () => {
      const store = new MinimalStore();
      store.defaultTtlSeconds = 90;
      await store.set('a', { when: new Date('2024-01-02T03:04:05.000Z'), skipped: undefined, n: 1 });
      await store.patch('a', { n: 2, gone: undefined, list: [undefined, 1] }, 30);
      await expect(store.increment('a', 'n', 0.5, 40)).resolves.toBe(2.5);
      await store.touch('a', 50);
      await expect(store.load('a')).resolves.toMatchObject({ state: 'active', data: { when: '2024-01-02T03:04:05.000Z', n: 2.5, list: [null, 1] } });
      await expect(store.length()).resolves.toBe(1);
      const ids: string[] = [];
      for await (const id of store.ids()) ids.push(id);
      expect(ids).toEqual(['a']);
      await store.destroy('a');
      await store.clear();
      expect(store.primitives).toEqual([
        ['writeSession', 'a', '{"when":"2024-01-02T03:04:05.000Z","n":1}', 90],
        ['patchSession', 'a', [['n', '2'], ['gone', undefined], ['list', '[null,1]']], 30],
        ['incrementField', 'a', 'n', 0.5, 40],
        ['touchSession', 'a', 50],
        ['loadSession', 'a'],
        ['countSessions'],
        ['sessionIds'],
        ['destroySession', 'a'],
        ['clearSessions'],
      ]);
    });

    it('get strips the middleware fields of what loadSession gives; the store itself accepts them as keys', async () => {
      const store = new MinimalStore();
      await store.patch('a', { '__session.cookieExpiresAt': 123, user: 'ada' }, 30);
      await expect(store.get('a')).resolves.toEqual({ user: 'ada' });
      await expect(store.load('a')).resolves.toMatchObject({ data: { '__session.cookieExpiresAt': 123, user: 'ada' } });
    });

    it.each([
      ['set, __proto__', (store: MinimalStore) => store.set('a', JSON.parse('{"__proto__": 1}') as SessionData)],
      ["set, ''", (store: MinimalStore) => store.set('a', { ok: 1, '': 2 })],
      ['patch, __proto__', (store: MinimalStore) => store.patch('a', JSON.parse('{"__proto__": 1}') as SessionData, 30)],
      ["patch, ''", (store: MinimalStore) => store.patch('a', { ok: 1, '': 2 }, 30)],
      ['increment, __proto__', (store: MinimalStore) => store.increment('a', '__proto__', 1, 30)],
      ["increment, ''", (store: MinimalStore) => store.increment('a', '', 1, 30)],
      ['increment, a number', (store: MinimalStore) => store.increment('a', 42 as unknown as string, 1, 30)],
    ])('%s: a bad key rejects with invalid-key and never reaches a primitive', async (_method, call) => {
      const store = new MinimalStore();
      const error = expectSessionError(await rejectionOf(call(store)), 'invalid-key');
      expect(error.message).toBe('Session keys must be non-empty strings other than "__proto__"');
      expect(store.primitives).toEqual([]);
    });

    class Point {
      constructor(readonly x: number) {}
    }
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;

    it.each([
      ['a Map', { m: new Map() }, 'Value of "m" is a Map'],
      ['a nested BigInt', { deep: { list: [1, 2n] } }, 'Value of "deep" at list[1] is a BigInt'],
      ['NaN', { score: Number.NaN }, 'Value of "score" is NaN (JSON would store null)'],
      ['a function', { onDone: () => 1 }, 'Value of "onDone" is a function'],
      ['a class instance', { at: new Point(1) }, 'Value of "at" is a Point'],
      ['a cycle', { cyclic }, 'Value of "cyclic" at self is a circular reference'],
    ])('set and patch: %s is refused with invalid-value, naming where, and never reaches a primitive', async (_label, data, message) => {
      const store = new MinimalStore();
      expect(expectSessionError(await rejectionOf(store.set('a', data as SessionData, 30)), 'invalid-value').message).toBe(message);
      expect(expectSessionError(await rejectionOf(store.patch('a', data as SessionData, 30)), 'invalid-value').message).toBe(message);
      expect(store.primitives).toEqual([]);
    });

    it.each([
      ['an array', [1, 2]],
      ['null', null],
      ['a string', 'text'],
      ['a Date', new Date(0)],
      ['an object with toJSON', { toJSON: () => ({ a: 1 }) }],
    ])('set: session data that is %s is refused with invalid-value (a plain record only)', async (_label, data) => {
      const store = new MinimalStore();
      const error = expectSessionError(await rejectionOf(store.set('a', data as unknown as SessionData, 30)), 'invalid-value');
      expect(error.message).toBe('Session data must be a plain object');
      expect(store.primitives).toEqual([]);
    });

    it('patch: changes that are not an object are refused with invalid-value', async () => {
      const store = new MinimalStore();
      for (const changes of [null, 'text', [1]]) {
        expectSessionError(await rejectionOf(store.patch('a', changes as unknown as SessionData, 30)), 'invalid-value');
      }
      expect(store.primitives).toEqual([]);
    });

    it.each([
      ['NaN', Number.NaN],
      ['Infinity', Number.POSITIVE_INFINITY],
      ["the string '1'", '1'],
      ['undefined', undefined],
    ])('increment: an amount of %s is refused with invalid-value and never reaches a primitive', async (_label, by) => {
      const store = new MinimalStore();
      const error = expectSessionError(await rejectionOf(store.increment('a', 'n', by as number, 30)), 'invalid-value');
      expect(error.message).toBe('increment needs a finite number');
      expect(store.primitives).toEqual([]);
    });

    it('checks in a fixed order: the id first; set checks the record before the TTL, patch the TTL before the fields', async () => {
      const store = new MinimalStore();
      const map = { m: new Map() } as SessionData;
      expectSessionError(await rejectionOf(store.set(undefined as unknown as string, map, 0)), 'invalid-id');
      expectSessionError(await rejectionOf(store.set('a', map, 0)), 'invalid-value');
      expect((await rejectionOf(store.set('a', { '': 1 }, 0)) as SessionError).kind).toBe('invalid-key');
      const ttlFirst = expectSessionError(await rejectionOf(store.patch('a', { '': 1 }, 0)), 'invalid-value');
      expect(ttlFirst.message).toContain('TTL');
      // Fields in order: the first bad one is reported.
      expectSessionError(await rejectionOf(store.patch('a', { a: 1n, '': 1 }, 30)), 'invalid-value');
      expectSessionError(await rejectionOf(store.patch('a', { '': 1, a: 1n }, 30)), 'invalid-key');
      expectSessionError(await rejectionOf(store.increment('a', '', Number.NaN, 0)), 'invalid-key');
      expectSessionError(await rejectionOf(store.increment('a', 'n', Number.NaN, 0)), 'invalid-value');
      expect(store.primitives).toEqual([]);
    });

    it('every failure is a rejected promise, never a synchronous throw, primitives that throw synchronously included', async () => {
      class SyncThrowing extends MinimalStore {
        protected override loadSession(): Promise<StoredSession | undefined> {
          throw new Error('thrown, not rejected');
        }
        protected override sessionIds(): AsyncIterable<string> {
          throw new Error('no iterator');
        }
      }
      const store = new SyncThrowing();
      const calls: Array<() => Promise<unknown>> = [
        () => store.load(''),
        () => store.set('a', { m: new Map() } as SessionData),
        () => store.patch('a', { '': 1 }, 30),
        () => store.increment('a', 'n', Number.NaN, 30),
        () => store.touch('a', -1),
        () => store.destroy(null as unknown as string),
      ];
      for (const call of calls) {
        let promise: Promise<unknown> | undefined;
        expect(() => {
          promise = call();
        }).not.toThrow();
        expect(SessionError.is(await rejectionOf(promise!))).toBe(true);
      }
      expect(((await rejectionOf(store.load('a'))) as Error).message).toBe('thrown, not rejected');
      expect(((await rejectionOf(store.get('a'))) as Error).message).toBe('thrown, not rejected');
      let iterable: AsyncIterable<string> | undefined;
      expect(() => {
        iterable = store.ids();
      }).not.toThrow();
      expect(((await rejectionOf(iterable![Symbol.asyncIterator]().next())) as Error).message).toBe('no iterator');
    });

    it("a primitive's own error (such as not-a-number) comes through unchanged", async () => {
      class NotANumber extends MinimalStore {
        protected override async incrementField(): Promise<number> {
          throw new SessionError('not-a-number', 'Cannot increment "n": it holds a string');
        }
      }
      const error = expectSessionError(await rejectionOf(new NotANumber().increment('a', 'n', 1, 30)), 'not-a-number');
      expect(error.message).toBe('Cannot increment "n": it holds a string');
    });
  });
});
