import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import fc from 'fast-check';
import { MemoryStore, SessionError, SessionStore, type SessionChanges, type SessionData, type StoredSession } from '../../../src/index.js';
import { syncOpsOf } from '../../../src/abstract/syncStore.js';
import { REVOCATION_TTL_SECONDS, type UserRevocation, type UserSessionEntry } from '../../../src/abstract/userIndex.js';
import { runFailureContract } from '../../contract/failureContract.js';
import { runStoreContract } from '../../contract/storeContract.js';
import { runUserIndexContract } from '../../contract/userIndexContract.js';

const memoryStore = async () => {
  const store = new MemoryStore();
  return { store, cleanup: async () => store.close() };
};
runStoreContract('MemoryStore', memoryStore, { strictJson: true });
runFailureContract('MemoryStore', memoryStore);
runUserIndexContract('MemoryStore', memoryStore);

async function collect(iterable: AsyncIterable<string>): Promise<string[]> {
  const out: string[] = [];
  for await (const item of iterable) out.push(item);
  return out;
}

function optionError(make: () => unknown): SessionError {
  let caught: unknown;
  try {
    make();
  } catch (error) {
    caught = error;
  }
  expect(SessionError.is(caught)).toBe(true);
  return caught as SessionError;
}

const NOW = new Date('2030-01-01T00:00:00.000Z').getTime();

describe('MemoryStore', () => {
  const stores: MemoryStore[] = [];
  const track = (store: MemoryStore): MemoryStore => {
    stores.push(store);
    return store;
  };

  afterEach(() => {
    for (const store of stores.splice(0)) store.close();
    jest.useRealTimers();
  });

  it('is a SessionStore', () => {
    expect(track(new MemoryStore())).toBeInstanceOf(SessionStore);
  });

  describe('maxEntries (least-recently-used eviction)', () => {
    it('keeps at most maxEntries sessions, evicting the least recently written', async () => {
      const store = track(new MemoryStore({ maxEntries: 3 }));
      for (const id of ['a', 'b', 'c', 'd', 'e']) await store.set(id, { id });
      await expect(store.length()).resolves.toBe(3);
      expect((await collect(store.ids())).sort()).toEqual(['c', 'd', 'e']);
      await expect(store.get('a')).resolves.toBeUndefined();
      await expect(store.get('b')).resolves.toBeUndefined();
      await expect(store.get('e')).resolves.toEqual({ id: 'e' });
    });

    it('reading an entry keeps it alive', async () => {
      const store = track(new MemoryStore({ maxEntries: 3 }));
      await store.set('a', { n: 1 });
      await store.set('b', { n: 2 });
      await store.set('c', { n: 3 });
      await expect(store.get('a')).resolves.toEqual({ n: 1 }); // a is now the most recently used
      await store.set('d', { n: 4 }); // evicts b, the least recently used
      await expect(store.get('a')).resolves.toEqual({ n: 1 });
      await expect(store.get('b')).resolves.toBeUndefined();
      await expect(store.get('c')).resolves.toEqual({ n: 3 });
      await expect(store.get('d')).resolves.toEqual({ n: 4 });
    });

    it('patch, increment and touch also count as use', async () => {
      const store = track(new MemoryStore({ maxEntries: 4 }));
      for (const id of ['a', 'b', 'c', 'd']) await store.set(id, {});
      await store.patch('a', { x: 1 }, 60);
      await store.increment('b', 'n', 1, 60);
      await store.touch('c', 60);
      await store.set('e', {}); // d is now the least recently used
      await expect(store.get('d')).resolves.toBeUndefined();
      expect((await collect(store.ids())).sort()).toEqual(['a', 'b', 'c', 'e']);
    });

    it('tombstones take a slot but are not counted as sessions', async () => {
      const store = track(new MemoryStore({ maxEntries: 3 }));
      await store.set('a', {});
      await store.set('b', {});
      await store.destroy('b');
      await store.destroy('never-stored');
      await expect(store.length()).resolves.toBe(1);
      await expect(store.load('b')).resolves.toEqual({ state: 'destroyed' });
      await expect(store.load('never-stored')).resolves.toEqual({ state: 'destroyed' });
      // a is the least recently used of three entries: the next write evicts it
      await store.set('c', {});
      await expect(store.get('a')).resolves.toBeUndefined();
      await expect(store.length()).resolves.toBe(1);
      expect(await collect(store.ids())).toEqual(['c']);
    });
  });

  describe('maxBytes (least-recently-used eviction by size of JSON)', () => {
    /** A record whose JSON text is exactly `length` characters long (at least 8). */
    const sized = (length: number): { s: string } => ({ s: 'x'.repeat(length - 8) });

    it('counts the JSON text of stored records in bytes', async () => {
      const store = track(new MemoryStore());
      expect(store.bytes).toBe(0);
      await store.set('a', { user: 'ada' });
      expect(store.bytes).toBe('{"user":"ada"}'.length);
      await store.set('b', sized(100));
      expect(store.bytes).toBe(114);
      await store.set('a', {}); // a replacement counts once
      expect(store.bytes).toBe(102);
      await store.destroy('b'); // a tombstone counts 0
      expect(store.bytes).toBe(2);
      await store.clear();
      expect(store.bytes).toBe(0);
    });

    it('defaults to 64 MiB', async () => {
      const store = track(new MemoryStore({ sweepIntervalSeconds: 0 }));
      await store.set('big', sized(64 * 1024 * 1024));
      expect(store.bytes).toBe(64 * 1024 * 1024);
      const error = await store.set('bigger', sized(64 * 1024 * 1024 + 1)).catch((e: unknown) => e);
      expect(SessionError.is(error) && error.kind).toBe('too-large');
      expect(store.bytes).toBe(64 * 1024 * 1024);
    });

    it('evicts the least recently used records until the total fits, counting reads as use', async () => {
      const store = track(new MemoryStore({ maxBytes: 300 }));
      await store.set('a', sized(100));
      await store.set('b', sized(100));
      await store.set('c', sized(100));
      expect(store.bytes).toBe(300);
      await store.get('a'); // b is now the least recently used
      await store.set('d', sized(50));
      await expect(store.get('b')).resolves.toBeUndefined();
      expect((await collect(store.ids())).sort()).toEqual(['a', 'c', 'd']);
      expect(store.bytes).toBe(250);
      await store.set('e', sized(250)); // needs 200 more: c and a (the oldest) go, d stays
      expect((await collect(store.ids())).sort()).toEqual(['d', 'e']);
      expect(store.bytes).toBe(300);
    });

    it('a record that grows evicts others, never itself', async () => {
      const store = track(new MemoryStore({ maxBytes: 300 }));
      await store.set('a', sized(100));
      await store.set('b', sized(100));
      await store.patch('a', { more: 'y'.repeat(150) }, 60); // a is 100 + 163 characters now
      await expect(store.get('b')).resolves.toBeUndefined();
      await expect(store.get('a')).resolves.toMatchObject({ more: 'y'.repeat(150) });
      expect(store.bytes).toBe(JSON.stringify(await store.get('a')).length);
      await store.set('a', sized(300)); // exactly the bound: fits alone
      expect(store.bytes).toBe(300);
      await expect(store.length()).resolves.toBe(1);
    });

    it('refuses a record longer than maxBytes on every write, evicting nothing and keeping the old record', async () => {
      const store = track(new MemoryStore({ maxBytes: 200 }));
      await store.set('a', sized(80));
      await store.set('b', { n: 1 });
      const before = store.bytes;
      expect(before).toBe(80 + '{"n":1}'.length);
      const refusals = [
        () => store.set('c', sized(201)),
        () => store.set('a', sized(201)),
        () => store.patch('a', { big: 'z'.repeat(200) }, 60),
        () => store.patch('new', { big: 'z'.repeat(200) }, 60),
      ];
      for (const refusal of refusals) {
        const error = await refusal().catch((e: unknown) => e);
        expect(SessionError.is(error) && error.kind).toBe('too-large');
        expect((error as SessionError).message).toMatch(/^Session data is 2\d\d characters of JSON, more than the store's maxBytes \(200\)$/);
        expect(store.bytes).toBe(before);
      }
      await expect(store.get('a')).resolves.toEqual(sized(80));
      await expect(store.get('b')).resolves.toEqual({ n: 1 });
      await expect(store.load('new')).resolves.toBeUndefined();
      // An increment that would push a record just past the bound is refused too.
      await store.set('edge', { n: 1, s: 'w'.repeat(186) }); // 200 characters: evicts a and b
      await expect(store.increment('edge', 'n', 9, 60)).rejects.toMatchObject({ kind: 'too-large' });
      await expect(store.get('edge')).resolves.toEqual({ n: 1, s: 'w'.repeat(186) });
      expect(store.bytes).toBe(200);
    });

    it('a refused oversized record leaves every other entry in place', async () => {
      const store = track(new MemoryStore({ maxBytes: 100 }));
      await store.set('a', sized(40));
      await store.set('b', sized(40));
      await expect(store.set('huge', sized(101))).rejects.toMatchObject({ kind: 'too-large' });
      expect((await collect(store.ids())).sort()).toEqual(['a', 'b']);
      expect(store.bytes).toBe(80);
      await expect(store.load('huge')).resolves.toBeUndefined();
    });

    it('tombstones free the bytes of the destroyed record and never evict live sessions for bytes', async () => {
      const store = track(new MemoryStore({ maxBytes: 100, maxEntries: 10 }));
      await store.set('a', sized(50));
      await store.set('b', sized(50));
      for (let i = 0; i < 5; i++) await store.destroy(`gone-${i}`);
      expect((await collect(store.ids())).sort()).toEqual(['a', 'b']);
      await store.destroy('a');
      expect(store.bytes).toBe(50);
      await expect(store.load('a')).resolves.toEqual({ state: 'destroyed' });
    });

    it('an anonymous flood evicts logged-in sessions too (documented; the remedy is a bigger bound or a shared store)', async () => {
      const store = track(new MemoryStore({ maxBytes: 10_000 }));
      await store.set('logged-in', { user: 'ada', roles: ['admin'] });
      for (let i = 0; i < 200; i++) await store.set(`anon-${i}`, { csrf: 'c'.repeat(32), visits: 1 });
      await expect(store.get('logged-in')).resolves.toBeUndefined();
      expect(store.bytes).toBeLessThanOrEqual(10_000);
    });

    it('keeps bytes exact through expiry on read, sweeps and touch (fake clock)', async () => {
      jest.useFakeTimers({ now: NOW });
      const store = track(new MemoryStore({ sweepIntervalSeconds: 0 }));
      await store.set('short', sized(30), 1);
      await store.set('swept', sized(20), 1);
      await store.set('long', sized(10), 100);
      await store.touch('long', 200); // no change in size
      expect(store.bytes).toBe(60);
      jest.setSystemTime(NOW + 1_000);
      expect(store.bytes).toBe(60); // expired entries count until dropped
      await expect(store.load('short')).resolves.toBeUndefined(); // dropped on read
      expect(store.bytes).toBe(30);
      store.sweep();
      expect(store.bytes).toBe(10);
      await expect(store.patch('short', { a: 1 }, 10)).resolves.toBeUndefined(); // expired: a fresh record
      expect(store.bytes).toBe(10 + '{"a":1}'.length);
    });

    it('keeps bytes equal to the sum of the stored JSON after any sequence of operations (model test)', async () => {
      jest.useFakeTimers({ now: NOW });
      const id = fc.constantFrom('a', 'b', 'c', 'd');
      const ttl = fc.integer({ min: 1, max: 5 });
      const text = fc.string({ maxLength: 90 });
      const op = fc.oneof(
        fc.record({ op: fc.constant('set' as const), id, ttl, data: fc.dictionary(fc.constantFrom('p', 'q', 'r'), text) }),
        fc.record({ op: fc.constant('patch' as const), id, ttl, key: fc.constantFrom('p', 'q', 'r'), value: fc.option(text, { nil: undefined }) }),
        fc.record({ op: fc.constant('increment' as const), id, ttl, by: fc.integer({ min: -1e6, max: 1e6 }) }),
        fc.record({ op: fc.constant('destroy' as const), id }),
        fc.record({ op: fc.constant('touch' as const), id, ttl }),
        fc.record({ op: fc.constant('load' as const), id }),
        fc.record({ op: fc.constant('sweep' as const) }),
        fc.record({ op: fc.constant('clear' as const) }),
        fc.record({ op: fc.constant('tick' as const), ms: fc.integer({ min: 0, max: 3_000 }) }),
        fc.record({ op: fc.constant('check' as const) }),
      );
      /** The sum the store's total must equal, read through the public API (sweeps first). */
      const sum = async (store: MemoryStore): Promise<number> => {
        store.sweep();
        let total = 0;
        for await (const live of store.ids()) total += JSON.stringify(await store.get(live)).length;
        return total;
      };
      await fc.assert(
        fc.asyncProperty(fc.array(op, { maxLength: 60 }), fc.integer({ min: 40, max: 300 }), fc.integer({ min: 2, max: 6 }), async (ops, maxBytes, maxEntries) => {
          jest.setSystemTime(NOW);
          const store = new MemoryStore({ maxBytes, maxEntries, sweepIntervalSeconds: 0 });
          try {
            for (const step of ops) {
              const before = store.bytes;
              let error: unknown;
              try {
                switch (step.op) {
                  case 'set': await store.set(step.id, step.data, step.ttl); break;
                  case 'patch': await store.patch(step.id, { [step.key]: step.value }, step.ttl); break;
                  case 'increment': await store.increment(step.id, 'n', step.by, step.ttl); break;
                  case 'destroy': await store.destroy(step.id); break;
                  case 'touch': await store.touch(step.id, step.ttl); break;
                  case 'load': await store.load(step.id); break;
                  case 'sweep': store.sweep(); break;
                  case 'clear': await store.clear(); break;
                  case 'tick': jest.setSystemTime(Date.now() + step.ms); break;
                  case 'check': {
                    const expected = await sum(store);
                    expect(store.bytes).toBe(expected);
                    break;
                  }
                }
              } catch (caught) {
                error = caught;
              }
              if (error !== undefined) {
                // Only an oversized record is refused, and it changes nothing.
                expect(SessionError.is(error) && error.kind).toBe('too-large');
                expect((error as SessionError).message).toContain('maxBytes');
                expect(store.bytes).toBe(before);
              }
              expect(store.bytes).toBeGreaterThanOrEqual(0);
              expect(store.bytes).toBeLessThanOrEqual(maxBytes);
            }
            const expected = await sum(store);
            expect(store.bytes).toBe(expected);
          } finally {
            store.close();
          }
        }),
        { numRuns: 300 },
      );
    });
  });

  describe('expiry (fake clock)', () => {
    beforeEach(() => {
      jest.useFakeTimers({ now: NOW });
    });

    it('enforces expiry on read, exactly at the TTL, and reports the expiry in load', async () => {
      const store = track(new MemoryStore({ sweepIntervalSeconds: 0 }));
      await store.set('s', { a: 1 }, 10);
      await expect(store.load('s')).resolves.toEqual({ state: 'active', data: { a: 1 }, expiresAt: NOW + 10_000 });
      jest.setSystemTime(NOW + 9_999);
      await expect(store.get('s')).resolves.toEqual({ a: 1 });
      jest.setSystemTime(NOW + 10_000);
      await expect(store.get('s')).resolves.toBeUndefined();
      await expect(store.load('s')).resolves.toBeUndefined();
      await expect(store.length()).resolves.toBe(0);
    });

    it('uses defaultTtlSeconds (option or property) for writes without a TTL', async () => {
      const store = track(new MemoryStore({ sweepIntervalSeconds: 0, defaultTtlSeconds: 30 }));
      expect(store.defaultTtlSeconds).toBe(30);
      await store.set('a', {});
      store.defaultTtlSeconds = 5;
      await store.set('b', {});
      jest.setSystemTime(NOW + 5_000);
      await expect(store.get('b')).resolves.toBeUndefined();
      await expect(store.get('a')).resolves.toEqual({});
      jest.setSystemTime(NOW + 30_000);
      await expect(store.get('a')).resolves.toBeUndefined();
    });

    it('the default TTL is 3600 s', async () => {
      const store = track(new MemoryStore({ sweepIntervalSeconds: 0 }));
      expect(store.defaultTtlSeconds).toBe(3600);
      await store.set('a', {});
      jest.setSystemTime(NOW + 3_599_999);
      await expect(store.get('a')).resolves.toEqual({});
      jest.setSystemTime(NOW + 3_600_000);
      await expect(store.get('a')).resolves.toBeUndefined();
    });

    it('touch slides the expiry from now', async () => {
      const store = track(new MemoryStore({ sweepIntervalSeconds: 0 }));
      await store.set('s', {}, 10);
      jest.setSystemTime(NOW + 8_000);
      await store.touch('s', 10);
      await expect(store.load('s')).resolves.toMatchObject({ expiresAt: NOW + 18_000 });
      jest.setSystemTime(NOW + 17_999);
      await expect(store.get('s')).resolves.toEqual({});
      jest.setSystemTime(NOW + 18_000);
      await expect(store.get('s')).resolves.toBeUndefined();
    });

    it('a tombstone keeps the remaining TTL of the session, or the default TTL when there was none', async () => {
      const store = track(new MemoryStore({ sweepIntervalSeconds: 0, defaultTtlSeconds: 100 }));
      await store.set('stored', {}, 10);
      jest.setSystemTime(NOW + 4_000);
      await store.destroy('stored'); // 6 s left
      await store.destroy('never'); // default: 100 s
      jest.setSystemTime(NOW + 9_999);
      await expect(store.load('stored')).resolves.toEqual({ state: 'destroyed' });
      jest.setSystemTime(NOW + 10_000);
      await expect(store.load('stored')).resolves.toBeUndefined();
      await expect(store.load('never')).resolves.toEqual({ state: 'destroyed' });
      jest.setSystemTime(NOW + 104_000);
      await expect(store.load('never')).resolves.toBeUndefined();
      await expect(store.length()).resolves.toBe(0);
    });

    it('sweep() drops expired entries (they no longer take LRU slots)', async () => {
      const store = track(new MemoryStore({ maxEntries: 2, sweepIntervalSeconds: 0 }));
      await store.set('keep', {}, 100);
      await store.set('expires', {}, 1);
      jest.setSystemTime(NOW + 2_000);
      store.sweep();
      await store.set('new', {}, 100); // room left by the swept entry: nothing live is evicted
      await expect(store.get('keep')).resolves.toEqual({});
      await expect(store.get('new')).resolves.toEqual({});
      await expect(store.length()).resolves.toBe(2);
    });

    it('without a sweep an expired entry still holds its slot (control for the sweep tests)', async () => {
      const store = track(new MemoryStore({ maxEntries: 2, sweepIntervalSeconds: 0 }));
      await store.set('keep', {}, 100);
      await store.set('expires', {}, 1);
      jest.setSystemTime(NOW + 2_000);
      await store.set('new', {}, 100); // three entries: the least recently used, keep, goes
      await expect(store.get('keep')).resolves.toBeUndefined();
      await expect(store.get('new')).resolves.toEqual({});
    });

    it('sweeps periodically on its timer', async () => {
      const store = track(new MemoryStore({ maxEntries: 2, sweepIntervalSeconds: 5 }));
      expect(jest.getTimerCount()).toBe(1);
      await store.set('keep', {}, 100);
      await store.set('expires', {}, 1);
      jest.advanceTimersByTime(5_000); // the clock moves and the sweep runs
      await store.set('new', {}, 100);
      await expect(store.get('keep')).resolves.toEqual({});
      await expect(store.get('new')).resolves.toEqual({});
    });

    it('sweeps every 60 s by default', async () => {
      const store = track(new MemoryStore({ maxEntries: 2 }));
      await store.set('keep', {}, 1000);
      await store.set('expires', {}, 1);
      jest.advanceTimersByTime(59_999);
      expect(Date.now()).toBe(NOW + 59_999);
      jest.advanceTimersByTime(1);
      await store.set('new', {}, 1000);
      await expect(store.get('keep')).resolves.toEqual({});
    });

    it('sweeps tombstones too, keeping length() right', async () => {
      const store = track(new MemoryStore({ sweepIntervalSeconds: 5 }));
      await store.set('live', {}, 100);
      await store.set('dead', {}, 2);
      await store.destroy('dead');
      await store.destroy('other');
      await expect(store.length()).resolves.toBe(1);
      jest.advanceTimersByTime(5_000);
      await expect(store.load('dead')).resolves.toBeUndefined();
      await expect(store.load('other')).resolves.toEqual({ state: 'destroyed' }); // default TTL 3600 s
      await expect(store.length()).resolves.toBe(1);
      jest.advanceTimersByTime(3_600_000);
      await expect(store.length()).resolves.toBe(0);
      await store.set('again', {});
      await expect(store.length()).resolves.toBe(1);
    });

    it('close() stops the timer and the store stays usable', async () => {
      const store = track(new MemoryStore({ maxEntries: 2, sweepIntervalSeconds: 5 }));
      expect(jest.getTimerCount()).toBe(1);
      store.close();
      expect(jest.getTimerCount()).toBe(0);
      store.close(); // idempotent
      await store.set('keep', {}, 100);
      await store.set('expires', {}, 1);
      jest.advanceTimersByTime(10_000); // no sweep runs any more
      await store.set('new', {}, 100);
      await expect(store.get('keep')).resolves.toBeUndefined(); // evicted: the expired entry held a slot
      await expect(store.get('new')).resolves.toEqual({});
      await expect(store.get('expires')).resolves.toBeUndefined(); // expiry on read still holds
    });

    it('sweepIntervalSeconds 0 starts no timer', () => {
      track(new MemoryStore({ sweepIntervalSeconds: 0 }));
      expect(jest.getTimerCount()).toBe(0);
    });
  });

  it('its sweep timer does not keep the process alive (unref)', () => {
    const count = (): number => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    const before = count();
    const store = track(new MemoryStore({ sweepIntervalSeconds: 1 }));
    expect(count()).toBe(before);
    // control: a ref'd timer is counted
    const ref = setInterval(() => undefined, 1000);
    expect(count()).toBe(before + 1);
    clearInterval(ref);
    store.close();
  });

  it('tombstones are excluded from length() and ids()', async () => {
    const store = track(new MemoryStore());
    await store.set('a', {});
    await store.set('b', {});
    await store.set('c', {});
    await store.destroy('b');
    await store.destroy('x');
    await store.destroy('b');
    await expect(store.length()).resolves.toBe(2);
    expect((await collect(store.ids())).sort()).toEqual(['a', 'c']);
    await store.set('b', { back: true });
    await expect(store.length()).resolves.toBe(3);
    await store.clear();
    await expect(store.length()).resolves.toBe(0);
    await store.destroy('y');
    await expect(store.length()).resolves.toBe(0);
  });

  describe('synchronous operations (the request path of the middleware)', () => {
    /** What a call did: its result, or the kind and message of what it threw or rejected with. */
    const outcome = async (call: () => unknown): Promise<unknown> => {
      try {
        return { value: await call() };
      } catch (error) {
        return SessionError.is(error) ? { kind: error.kind, message: error.message } : { other: String(error) };
      }
    };
    const protoKeyed = (): SessionData => JSON.parse('{"__proto__": {"polluted": true}}') as SessionData;
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;

    it('refuse the same calls with the same errors (thrown) as the public methods (rejected), storing nothing', async () => {
      const viaSync = track(new MemoryStore({ maxBytes: 64 }));
      const viaAsync = track(new MemoryStore({ maxBytes: 64 }));
      const sync = syncOpsOf(viaSync)!;
      expect(sync).toBeDefined();
      const bad = (value: unknown) => value as never;
      const loads: unknown[][] = [[undefined], [''], [42], [null]];
      const sets: unknown[][] = [
        [undefined, { a: 1 }, 30],
        ['', { a: 1 }, 30],
        ['a', { m: new Map() }, 30],
        ['a', { deep: [1, { n: Number.NaN }] }, 30],
        ['a', { cyclic }, 30],
        ['a', protoKeyed(), 30],
        ['a', { '': 1 }, 30],
        ['a', [1], 30],
        ['a', null, 30],
        ['a', new Date(0), 30],
        ['a', { a: 1 }, 0],
        ['a', { a: 1 }, Number.NaN],
        ['a', { a: 1 }, '5'],
        ['a', { m: new Map() }, 0],
        [undefined, { m: new Map() }, 0],
        ['a', { big: 'x'.repeat(100) }, 30],
      ];
      const patches: unknown[][] = [
        [undefined, { a: 1 }, 30],
        ['a', { '': 1 }, 30],
        ['a', protoKeyed(), 30],
        ['a', { n: 1n }, 30],
        ['a', { ok: 1, fn: () => 1 }, 30],
        ['a', { a: 1 }, -1],
        ['a', { '': 1 }, 0],
        ['a', { a: 1n, '': 1 }, 30],
        ['a', null, 30],
        ['a', { big: 'x'.repeat(100) }, 30],
      ];
      for (const args of loads) {
        const expected = await outcome(() => viaAsync.load(bad(args[0])));
        expect([args, await outcome(() => sync.load(bad(args[0])))]).toEqual([args, expected]);
        expect(expected).toHaveProperty('kind');
      }
      for (const args of sets) {
        const expected = await outcome(() => viaAsync.set(bad(args[0]), bad(args[1]), bad(args[2])));
        expect([args, await outcome(() => sync.set(bad(args[0]), bad(args[1]), bad(args[2])))]).toEqual([args, expected]);
        expect(expected).toHaveProperty('kind');
      }
      for (const args of patches) {
        const expected = await outcome(() => viaAsync.patch(bad(args[0]), bad(args[1]), bad(args[2])));
        expect([args, await outcome(() => sync.patch(bad(args[0]), bad(args[1]), bad(args[2])))]).toEqual([args, expected]);
        expect(expected).toHaveProperty('kind');
      }
      expect(viaSync.bytes).toBe(0);
      await expect(viaSync.length()).resolves.toBe(0);
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    });

    it('store what the public methods store, and read it back the same', async () => {
      const viaSync = track(new MemoryStore());
      const viaAsync = track(new MemoryStore());
      const sync = syncOpsOf(viaSync)!;
      viaSync.defaultTtlSeconds = 120;
      viaAsync.defaultTtlSeconds = 120;
      const when = new Date('2024-01-02T03:04:05.000Z');
      sync.set('a', { when, list: [undefined, 1], skipped: undefined }, undefined as unknown as number);
      await viaAsync.set('a', { when, list: [undefined, 1], skipped: undefined });
      sync.patch('a', { n: 1, list: undefined, '__session.cookieExpiresAt': 5 }, 60);
      await viaAsync.patch('a', { n: 1, list: undefined, '__session.cookieExpiresAt': 5 }, 60);
      const expected = { when: '2024-01-02T03:04:05.000Z', n: 1, '__session.cookieExpiresAt': 5 };
      expect(sync.load('a')).toMatchObject({ state: 'active', data: expected });
      await expect(viaAsync.load('a')).resolves.toMatchObject({ state: 'active', data: expected });
      expect(viaSync.bytes).toBe(viaAsync.bytes);
      await viaSync.destroy('a');
      expect(sync.load('a')).toEqual({ state: 'destroyed' });
      sync.patch('a', { late: 1 }, 60); // a tombstone stays one
      expect(sync.load('a')).toEqual({ state: 'destroyed' });
      expect(sync.load('missing')).toBeUndefined();
    });

    it('are withheld from a subclass that overrides load, set or patch, or one of their primitives', () => {
      class OwnLoad extends MemoryStore {
        override async load(id: string): Promise<StoredSession | undefined> {
          return super.load(id);
        }
      }
      class OwnPatch extends MemoryStore {
        override async patch(id: string, changes: SessionChanges, ttlSeconds: number): Promise<void> {
          return super.patch(id, changes, ttlSeconds);
        }
      }
      class OwnLoadSession extends MemoryStore {
        protected override async loadSession(id: string): Promise<StoredSession | undefined> {
          return super.loadSession(id);
        }
      }
      class OwnWriteSession extends MemoryStore {
        protected override async writeSession(id: string, json: string, ttlSeconds: number): Promise<void> {
          return super.writeSession(id, json, ttlSeconds);
        }
      }
      class OwnIncrement extends MemoryStore {
        protected override async incrementField(id: string, key: string, by: number, ttlSeconds: number): Promise<number> {
          return super.incrementField(id, key, by, ttlSeconds);
        }
      }
      for (const Store of [OwnLoad, OwnPatch, OwnLoadSession, OwnWriteSession]) {
        expect([Store.name, syncOpsOf(track(new Store()))]).toEqual([Store.name, undefined]);
      }
      // increment is never synchronous: overriding it keeps the synchronous reads and writes.
      expect(syncOpsOf(track(new OwnIncrement()))).toBeDefined();
      expect(syncOpsOf(track(new MemoryStore()))).toBeDefined();
    });
  });

  describe('user indexes', () => {
    const entry = (handle: string, expiresAt = Date.now() + 60_000, loggedInAt = Date.now() - 1000): UserSessionEntry => ({
      handle,
      sessionKey: `sid-${handle}`,
      loggedInAt,
      lastSeenAt: loggedInAt,
      expiresAt,
      meta: null,
    });

    it('the synchronous revocation() answers as userRevocation does, and throws what it rejects with', async () => {
      const store = track(new MemoryStore());
      const sync = syncOpsOf(store)!;
      expect(sync.revocation('ada')).toBeUndefined();
      const before = Date.now();
      await store.revokeUser('ada', before, 'h1');
      expect(sync.revocation('ada')).toStrictEqual({ before, spared: 'h1' });
      await expect(store.userRevocation('ada')).resolves.toStrictEqual(sync.revocation('ada'));
      // A fresh object each time: changing one changes nothing stored.
      (sync.revocation('ada') as { before: number }).before = 0;
      expect(sync.revocation('ada')).toStrictEqual({ before, spared: 'h1' });
      for (const bad of ['', 'x'.repeat(257), undefined, 42]) {
        const rejected = await store.userRevocation(bad as string).then(
          () => undefined,
          (error: unknown) => error as SessionError,
        );
        let thrown: SessionError | undefined;
        try {
          sync.revocation(bad as string);
        } catch (error) {
          thrown = error as SessionError;
        }
        expect([bad, thrown?.kind, thrown?.message]).toEqual([bad, rejected?.kind, rejected?.message]);
        expect(thrown?.kind).toBe('invalid-value');
      }
      await store.clear();
      expect(sync.revocation('ada')).toBeUndefined();
    });

    it('the mark runs out after REVOCATION_TTL_SECONDS, and the sweep drops it with the expired entries', async () => {
      jest.useFakeTimers({ now: NOW });
      const store = track(new MemoryStore({ sweepIntervalSeconds: 0 }));
      await store.indexSession('ada', entry('h1', NOW + 10_000));
      await store.revokeUser('ada', NOW, 'h1');
      await store.indexSession('bob', entry('b1', NOW + 10_000));
      jest.setSystemTime(NOW + 20_000);
      store.sweep();
      await expect(store.userIndex('ada')).resolves.toStrictEqual({ sessions: [], revocation: { before: NOW, spared: 'h1' } });
      await expect(store.userIndex('bob')).resolves.toStrictEqual({ sessions: [], revocation: undefined });
      jest.setSystemTime(NOW + REVOCATION_TTL_SECONDS * 1000 - 1);
      expect(syncOpsOf(store)!.revocation('ada')).toStrictEqual({ before: NOW, spared: 'h1' });
      jest.setSystemTime(NOW + REVOCATION_TTL_SECONDS * 1000);
      expect(syncOpsOf(store)!.revocation('ada')).toBeUndefined();
      await expect(store.userRevocation('ada')).resolves.toBeUndefined();
      // A session logged in long before is indexed again once the mark is gone.
      await store.indexSession('ada', entry('h2', Date.now() + 1000, NOW - 1));
      expect((await store.userIndex('ada')).sessions.map((one) => one.handle)).toEqual(['h2']);
    });

    it('keeps at most maxEntries users: the one written least recently goes', async () => {
      const store = track(new MemoryStore({ maxEntries: 2 }));
      await store.indexSession('a', entry('a1'));
      await store.indexSession('b', entry('b1'));
      await store.indexSession('a', entry('a2')); // a is now the most recently written
      await store.revokeUser('c', Date.now());
      await expect(store.userIndex('b')).resolves.toStrictEqual({ sessions: [], revocation: undefined });
      expect((await store.userIndex('a')).sessions).toHaveLength(2);
      await expect(store.userRevocation('c')).resolves.toBeDefined();
      // Sessions are bounded on their own: user indexes take none of their room.
      await store.set('s1', {});
      await store.set('s2', {});
      await expect(store.length()).resolves.toBe(2);
      expect((await store.userIndex('a')).sessions).toHaveLength(2);
    });

    it('refuses an entry whose meta is not JSON, storing nothing', async () => {
      const store = track(new MemoryStore());
      const error = await store.indexSession('ada', { ...entry('h1'), meta: new Map() as never }).then(
        () => undefined,
        (caught: unknown) => caught as SessionError,
      );
      expect(error?.kind).toBe('invalid-value');
      await expect(store.userIndex('ada')).resolves.toStrictEqual({ sessions: [], revocation: undefined });
    });

    it('withholds the synchronous operations from a subclass that overrides userRevocation or loadUserRevocation', () => {
      class OwnRevocation extends MemoryStore {
        override async userRevocation(userId: string): Promise<UserRevocation | undefined> {
          return super.userRevocation(userId);
        }
      }
      class OwnLoadRevocation extends MemoryStore {
        protected override async loadUserRevocation(userId: string): Promise<UserRevocation | undefined> {
          return super.loadUserRevocation(userId);
        }
      }
      expect(syncOpsOf(track(new OwnRevocation()))).toBeUndefined();
      expect(syncOpsOf(track(new OwnLoadRevocation()))).toBeUndefined();
    });
  });

  describe('option validation', () => {
    it.each([
      ['maxEntries', { maxEntries: 0 }],
      ['maxEntries', { maxEntries: -5 }],
      ['maxEntries', { maxEntries: 1.5 }],
      ['maxEntries', { maxEntries: Number.NaN }],
      ['maxBytes', { maxBytes: 0 }],
      ['maxBytes', { maxBytes: -1 }],
      ['maxBytes', { maxBytes: 1.5 }],
      ['maxBytes', { maxBytes: Number.NaN }],
      ['maxBytes', { maxBytes: Number.POSITIVE_INFINITY }],
      ['maxBytes', { maxBytes: '1000' as unknown as number }],
      ['sweepIntervalSeconds', { sweepIntervalSeconds: -1 }],
      ['sweepIntervalSeconds', { sweepIntervalSeconds: Number.POSITIVE_INFINITY }],
      ['defaultTtlSeconds', { defaultTtlSeconds: 0 }],
      ['defaultTtlSeconds', { defaultTtlSeconds: -10 }],
    ])("rejects a bad %s with SessionError 'invalid-option' naming it (%o)", (option, options) => {
      const error = optionError(() => new MemoryStore(options));
      expect(error.kind).toBe('invalid-option');
      expect(error.option).toBe(option);
      expect(error.message).toContain(option);
    });

    it('a rejected construction leaves no timer behind', () => {
      jest.useFakeTimers({ now: NOW });
      optionError(() => new MemoryStore({ defaultTtlSeconds: 0, sweepIntervalSeconds: 5 }));
      expect(jest.getTimerCount()).toBe(0);
    });

    it('accepts maxEntries 1', async () => {
      const store = track(new MemoryStore({ maxEntries: 1 }));
      await store.set('a', {});
      await store.set('b', {});
      await expect(store.get('a')).resolves.toBeUndefined();
      await expect(store.get('b')).resolves.toEqual({});
    });
  });
});
