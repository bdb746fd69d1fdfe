import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { MemoryStore, SessionError, SessionStore } from '../../../src/index.js';
import { runStoreContract } from '../../contract/storeContract.js';

runStoreContract('MemoryStore', async () => {
  const store = new MemoryStore();
  return { store, cleanup: async () => store.close() };
});

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

  describe('option validation', () => {
    it.each([
      ['maxEntries', { maxEntries: 0 }],
      ['maxEntries', { maxEntries: -5 }],
      ['maxEntries', { maxEntries: 1.5 }],
      ['maxEntries', { maxEntries: Number.NaN }],
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
