import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { SessionEngine, type RequestView } from '../../../src/engine/SessionEngine.js';
import { createSession } from '../../../src/concrete/Session.js';
import { resolveOptions } from '../../../src/engine/options.js';
import {
  MemoryStore,
  Session,
  SessionError,
  SessionMiddleware,
  type SessionChanges,
  type SessionData,
  type SessionMiddlewareOptions,
} from '../../../src/index.js';
import { caught } from '../../support/errors.js';

const SECRET = 'test-secret-of-at-least-32-characters!!';
const T0 = Date.UTC(2030, 0, 1, 12, 0, 0);

type Call = { op: 'set' | 'patch' | 'touch' | 'destroy' | 'increment'; id: string; arg?: unknown; ttl?: number };

/** A real MemoryStore that records every write, so tests see exactly what reached the store. */
class RecordingStore extends MemoryStore {
  calls: Call[] = [];
  override async set(id: string, data: SessionData, ttlSeconds?: number): Promise<void> {
    this.calls.push({ op: 'set', id, arg: structuredClone(data), ttl: ttlSeconds });
    return super.set(id, data, ttlSeconds);
  }
  override async patch(id: string, changes: SessionChanges, ttlSeconds: number): Promise<void> {
    this.calls.push({ op: 'patch', id, arg: structuredClone(changes), ttl: ttlSeconds });
    return super.patch(id, changes, ttlSeconds);
  }
  override async touch(id: string, ttlSeconds: number): Promise<void> {
    this.calls.push({ op: 'touch', id, ttl: ttlSeconds });
    return super.touch(id, ttlSeconds);
  }
  override async destroy(id: string): Promise<void> {
    this.calls.push({ op: 'destroy', id });
    return super.destroy(id);
  }
  override async increment(id: string, key: string, by: number, ttlSeconds: number): Promise<number> {
    this.calls.push({ op: 'increment', id, arg: { key, by }, ttl: ttlSeconds });
    return super.increment(id, key, by, ttlSeconds);
  }
}

function view(id?: string): RequestView {
  return { header: (name) => (name === 'x-session-id' ? id : undefined), encrypted: false };
}


describe('Session', () => {
  let store: RecordingStore;

  function engine(options: SessionMiddlewareOptions = {}): SessionEngine<Session> {
    const resolved = resolveOptions({ secret: SECRET, ...options });
    store.defaultTtlSeconds = resolved.maxAge;
    return new SessionEngine(resolved, store, createSession);
  }

  /** Opens a session for `id` (or a new one): one request's worth. */
  async function open(e: SessionEngine<Session>, id?: string): Promise<Session> {
    const session = await e.open(view(id));
    if (!session) throw new Error('no session');
    return session;
  }

  /** A stored session holding `data`; the write calls are forgotten. */
  async function stored(e: SessionEngine<Session>, data: SessionData): Promise<string> {
    const session = await open(e);
    for (const [key, value] of Object.entries(data)) session.set(key, value);
    await e.commit(session);
    store.calls = [];
    return session.id;
  }

  beforeEach(() => {
    store = new RecordingStore({ sweepIntervalSeconds: 0 });
  });

  afterEach(() => {
    jest.useRealTimers();
    store.close();
  });

  describe('data access', () => {
    it('get/set/delete/has/clear/toJSON', async () => {
      const s = await open(engine());
      expect(s.get('a')).toBeUndefined();
      expect(s.has('a')).toBe(false);
      expect(s.set('a', 1)).toBe(s);
      s.set('b', { nested: [1, 'two', null] }).set('c', 'text');
      expect(s.get('a')).toBe(1);
      expect(s.has('a')).toBe(true);
      expect(s.get('b')).toEqual({ nested: [1, 'two', null] });
      expect(s.toJSON()).toEqual({ a: 1, b: { nested: [1, 'two', null] }, c: 'text' });
      expect(JSON.parse(JSON.stringify(s))).toEqual({ a: 1, b: { nested: [1, 'two', null] }, c: 'text' });
      expect(s.delete('a')).toBe(true);
      expect(s.delete('a')).toBe(false);
      expect(s.has('a')).toBe(false);
      s.clear();
      expect(s.toJSON()).toEqual({});
      expect(s.has('b')).toBe(false);
    });

    it('stores false, 0, "" and null as values', async () => {
      const e = engine();
      const s = await open(e);
      s.set('f', false).set('z', 0).set('e', '').set('n', null);
      expect(s.has('n')).toBe(true);
      await e.commit(s);
      expect(await store.get(s.id)).toEqual({ f: false, z: 0, e: '', n: null });
    });

    it('set(key, undefined) deletes the key, also in the store', async () => {
      const e = engine();
      const id = await stored(e, { a: 1, b: 2 });
      const s = await open(e, id);
      s.set('a', undefined);
      expect(s.has('a')).toBe(false);
      expect(s.toJSON()).toEqual({ b: 2 });
      await e.commit(s);
      expect(await store.get(id)).toEqual({ b: 2 });
    });

    it('delete of a stored key is written', async () => {
      const e = engine();
      const id = await stored(e, { a: 1, b: 2 });
      const s = await open(e, id);
      s.delete('b');
      await e.commit(s);
      expect(await store.get(id)).toEqual({ a: 1 });
      expect(store.calls.map((c) => c.op)).toEqual(['patch']);
    });

    it('throws invalid-value for a BigInt (and a cycle), leaving the session unchanged', async () => {
      const s = await open(engine());
      const big = caught(() => s.set('n', 10n));
      expect(SessionError.is(big)).toBe(true);
      expect((big as SessionError).kind).toBe('invalid-value');
      const cycle: Record<string, unknown> = {};
      cycle.self = cycle;
      expect((caught(() => s.set('c', cycle)) as SessionError).kind).toBe('invalid-value');
      expect(s.has('n')).toBe(false);
      expect(s.has('c')).toBe(false);
    });

    it("throws invalid-key for '__proto__' and the empty key", async () => {
      const s = await open(engine());
      const proto = caught(() => s.set('__proto__', { admin: true }));
      expect(proto).toBeInstanceOf(SessionError);
      expect((proto as SessionError).kind).toBe('invalid-key');
      expect((caught(() => s.set('', 1)) as SessionError).kind).toBe('invalid-key');
      expect(s.toJSON()).toEqual({});
      await expect(s.increment('__proto__')).rejects.toMatchObject({ kind: 'invalid-key' });
    });

    it('reads stored data on a later request', async () => {
      const e = engine();
      const id = await stored(e, { user: 'ann', cart: [1, 2] });
      const s = await open(e, id);
      expect(s.id).toBe(id);
      expect(s.isNew).toBe(false);
      expect(s.toJSON()).toEqual({ user: 'ann', cart: [1, 2] });
    });
  });

  describe('writes', () => {
    it('writes nothing for a new session that sets nothing', async () => {
      const e = engine();
      const s = await open(e);
      s.get('a');
      await e.commit(s);
      expect(store.calls).toEqual([]);
      expect(await store.length()).toBe(0);
    });

    it('writes a new session with one patch of its fields and maxAge as TTL', async () => {
      const e = engine({ maxAge: 120 });
      const s = await open(e);
      s.set('a', 1).set('b', 'x');
      await e.commit(s);
      // With the fields goes when the new cookie runs out, so later requests know when to refresh it.
      expect(store.calls).toEqual([{ op: 'patch', id: s.id, arg: { a: 1, b: 'x', '__session.cookieExpiresAt': expect.any(Number) }, ttl: 120 }]);
    });

    it('save() writes only the changed fields', async () => {
      const e = engine();
      const id = await stored(e, { a: 1, b: 2, c: { deep: true } });
      const s = await open(e, id);
      s.get('c');
      s.set('b', 20);
      await s.save();
      expect(store.calls).toEqual([{ op: 'patch', id, arg: { b: 20 }, ttl: 3600 }]);
      expect(await store.get(id)).toEqual({ a: 1, b: 20, c: { deep: true } });
      // Saved changes are not written again at commit.
      await e.commit(s);
      expect(store.calls.filter((c) => c.op !== 'touch')).toHaveLength(1);
    });

    it('keeps a concurrent write of another field (field-level writes)', async () => {
      const e = engine();
      const id = await stored(e, { a: 1, b: 2 });
      const first = await open(e, id);
      const second = await open(e, id);
      first.set('a', 10);
      second.set('b', 20);
      await e.commit(first);
      await e.commit(second);
      expect(await store.get(id)).toEqual({ a: 10, b: 20 });
    });

    it('does no write at commit for a loaded session that changed nothing', async () => {
      const e = engine();
      const id = await stored(e, { a: 1, obj: { x: 1 }, list: [1, 2] });
      const s = await open(e, id);
      expect(s.get('a')).toBe(1);
      expect(s.get('obj')).toEqual({ x: 1 });
      s.toJSON();
      await e.commit(s);
      expect(store.calls).toEqual([]);
    });

    it('detects in-place mutation of an object read with get', async () => {
      const e = engine();
      const id = await stored(e, { prefs: { theme: 'light' }, list: [1], other: 'same' });
      const s = await open(e, id);
      (s.get('prefs') as { theme: string }).theme = 'dark';
      (s.get('list') as number[]).push(2);
      await e.commit(s);
      expect(store.calls).toEqual([{ op: 'patch', id, arg: { prefs: { theme: 'dark' }, list: [1, 2] }, ttl: 3600 }]);
      expect(await store.get(id)).toEqual({ prefs: { theme: 'dark' }, list: [1, 2], other: 'same' });
    });

    it('detects in-place mutation of an object reached through toJSON', async () => {
      const e = engine();
      const id = await stored(e, { prefs: { theme: 'light' } });
      const s = await open(e, id);
      (s.toJSON().prefs as { theme: string }).theme = 'dark';
      await e.commit(s);
      expect(await store.get(id)).toEqual({ prefs: { theme: 'dark' } });
    });

    it('detects a mutation made after save() and writes it at commit', async () => {
      const e = engine();
      const id = await stored(e, { prefs: { theme: 'light' } });
      const s = await open(e, id);
      const prefs = s.get('prefs') as { theme: string; size?: number };
      prefs.theme = 'dark';
      await s.save();
      prefs.size = 12;
      await e.commit(s);
      expect(store.calls.map((c) => c.arg)).toEqual([{ prefs: { theme: 'dark' } }, { prefs: { theme: 'dark', size: 12 } }]);
      expect(await store.get(id)).toEqual({ prefs: { theme: 'dark', size: 12 } });
    });

    it('detects mutation, after an early write, of an object read with get while its key was pending', async () => {
      // e.g. set a cart, read it back, increment a counter (which writes pending changes first),
      // then add to the cart: the addition must reach the store like any other in-place mutation.
      const e = engine();
      const s = await open(e);
      s.set('cart', { items: [] as string[] });
      const cart = s.get('cart') as { items: string[] };
      await s.increment('visits');
      cart.items.push('apple');
      expect(s.get('cart')).toEqual({ items: ['apple'] });
      await e.commit(s);
      expect(await store.get(s.id)).toEqual({ cart: { items: ['apple'] }, visits: 1 });
    });

    it('clear() deletes the fields it knew, field by field (a key set meanwhile elsewhere survives)', async () => {
      const e = engine();
      const id = await stored(e, { a: 1, b: 2 });
      const s = await open(e, id);
      await store.patch(id, { other: 'request' }, 3600);
      store.calls = [];
      s.clear();
      s.set('c', 3);
      await e.commit(s);
      expect(store.calls).toEqual([{ op: 'patch', id, arg: { a: undefined, b: undefined, c: 3 }, ttl: 3600 }]);
      expect(await store.get(id)).toEqual({ other: 'request', c: 3 });
    });

    it('increment returns the stored value and is visible through get', async () => {
      const e = engine();
      const s = await open(e);
      expect(await s.increment('visits')).toBe(1);
      expect(await s.increment('visits')).toBe(2);
      expect(await s.increment('visits', 5)).toBe(7);
      expect(await s.increment('visits', -3)).toBe(4);
      expect(s.get('visits')).toBe(4);
      expect(await store.get(s.id)).toEqual({ visits: 4 });
      // The next request sees it.
      const later = await open(e, s.id);
      expect(later.get('visits')).toBe(4);
      expect(await later.increment('visits')).toBe(5);
    });

    it('increment writes pending changes first and does not write the counter twice at commit', async () => {
      const e = engine();
      const s = await open(e);
      s.set('user', 'ann');
      await s.increment('n');
      await e.commit(s);
      expect(store.calls.map((c) => c.op)).toEqual(['patch', 'increment']);
      expect(await store.get(s.id)).toEqual({ user: 'ann', n: 1 });
    });

    it('increment of a non-number rejects with not-a-number', async () => {
      const e = engine();
      const id = await stored(e, { name: 'ann' });
      const s = await open(e, id);
      await expect(s.increment('name')).rejects.toMatchObject({ name: 'SessionError', kind: 'not-a-number' });
      expect(await store.get(id)).toEqual({ name: 'ann' });
    });
  });

  describe('regenerate and destroy', () => {
    it('regenerate() keeps the data under a new id and tombstones the old one', async () => {
      const e = engine();
      const oldId = await stored(e, { user: 'ann' });
      const s = await open(e, oldId);
      await s.regenerate();
      expect(s.id).not.toBe(oldId);
      expect(s.isNew).toBe(true);
      expect(s.get('user')).toBe('ann');
      expect(await store.get(s.id)).toEqual({ user: 'ann' });
      expect(await store.load(oldId)).toEqual({ state: 'destroyed' });
      expect(await store.get(oldId)).toBeUndefined();
      // The session start (and so the absolute timeout) is kept.
      expect(s.id.split('.')[1]).toBe(oldId.split('.')[1]);
      // The old id is refused on a later request; the new one is loaded.
      expect((await open(e, oldId)).id).not.toBe(oldId);
      expect((await open(e, s.id)).get('user')).toBe('ann');
    });

    it('regenerate() includes unsaved changes in the new record', async () => {
      const e = engine();
      const oldId = await stored(e, { user: 'ann' });
      const s = await open(e, oldId);
      s.set('role', 'admin');
      await s.regenerate();
      await e.commit(s);
      expect(await store.get(s.id)).toEqual({ user: 'ann', role: 'admin' });
    });

    it('regenerate({ keepData: false }) starts empty and stores nothing until data is set', async () => {
      const e = engine();
      const oldId = await stored(e, { user: 'ann' });
      const s = await open(e, oldId);
      await s.regenerate({ keepData: false });
      expect(s.id).not.toBe(oldId);
      expect(s.toJSON()).toEqual({});
      expect(s.get('user')).toBeUndefined();
      expect(await store.load(oldId)).toEqual({ state: 'destroyed' });
      await e.commit(s);
      expect(await store.get(s.id)).toBeUndefined();
      expect(await store.length()).toBe(0);
      // The new id is ours and recognised even though nothing is stored.
      expect((await open(e, s.id)).id).toBe(s.id);
    });

    it('regenerate() after destroy() starts a fresh session with its own clock', async () => {
      jest.useFakeTimers({ now: T0, doNotFake: ['nextTick', 'queueMicrotask', 'setImmediate'] });
      const e = engine({ maxAge: 600 });
      const oldId = await stored(e, { user: 'ann' });
      jest.setSystemTime(T0 + 500_000);
      const s = await open(e, oldId);
      await s.destroy();
      await s.regenerate();
      expect(s.isDestroyed).toBe(false);
      expect(s.toJSON()).toEqual({});
      await e.commit(s);
      expect(await store.get(s.id)).toBeUndefined();
      // Nothing stored, yet still recognised after the old session's maxAge ran out: the clock restarted.
      jest.setSystemTime(T0 + 700_000);
      const next = await open(e, s.id);
      expect(next.id).toBe(s.id);
      next.set('flash', 'bye');
      await e.commit(next);
      expect(await store.get(s.id)).toEqual({ flash: 'bye' });
      expect((await open(e, oldId)).id).not.toBe(oldId);
    });

    it('destroy() marks the session destroyed, empties it and tombstones the id', async () => {
      const e = engine();
      const id = await stored(e, { user: 'ann' });
      const s = await open(e, id);
      s.set('pending', 1);
      await s.destroy();
      expect(s.isDestroyed).toBe(true);
      expect(s.toJSON()).toEqual({});
      expect(s.cookieMaxAge(Date.now())).toBe(0);
      expect(await store.load(id)).toEqual({ state: 'destroyed' });
      expect(await store.length()).toBe(0);
      await e.commit(s);
      expect(await store.load(id)).toEqual({ state: 'destroyed' });
      expect(store.calls.map((c) => c.op)).toEqual(['destroy']);
      expect((await open(e, id)).id).not.toBe(id);
    });

    it('destroy() of a session that stored nothing still refuses its id afterwards', async () => {
      const e = engine();
      const first = await open(e);
      e.responseHeaders(first, view()); // the id goes out to the client
      await e.commit(first);
      const s = await open(e, first.id);
      await s.destroy();
      expect(await store.load(s.id)).toEqual({ state: 'destroyed' });
      expect((await open(e, s.id)).id).not.toBe(s.id);
    });

    it('destroy() of an id made in this request and never sent writes nothing (a logout flood stores nothing)', async () => {
      const e = engine();
      for (let i = 0; i < 20; i++) {
        const s = await open(e);
        await s.destroy();
        expect(e.responseHeaders(s, view()).sessionId).toBeUndefined();
        await e.commit(s);
      }
      expect(store.calls).toEqual([]);
      expect(await store.length()).toBe(0);
    });
  });

  describe('with a fake clock', () => {
    beforeEach(() => {
      jest.useFakeTimers({ now: T0, doNotFake: ['nextTick', 'queueMicrotask', 'setImmediate'] });
    });

    async function request(e: SessionEngine<Session>, id: string, change?: (s: Session) => void): Promise<Session> {
      const s = await open(e, id);
      change?.(s);
      await e.commit(s);
      return s;
    }

    it('throttles TTL refreshes of an unchanged session to one per touchAfter (a touch without the cookie transport)', async () => {
      const e = engine({ maxAge: 100, touchAfter: 10, sessionCookie: false });
      const id = await stored(e, { a: 1 });
      const touches = (): number => store.calls.filter((c) => c.op === 'touch').length;

      for (const at of [1_000, 5_000, 9_999]) {
        jest.setSystemTime(T0 + at);
        await request(e, id);
      }
      expect(store.calls).toEqual([]);

      jest.setSystemTime(T0 + 10_000);
      await request(e, id);
      expect(store.calls).toEqual([{ op: 'touch', id, ttl: 100 }]);

      jest.setSystemTime(T0 + 15_000);
      await request(e, id);
      expect(touches()).toBe(1);

      jest.setSystemTime(T0 + 20_000);
      await request(e, id);
      expect(touches()).toBe(2);
      expect(store.calls.every((c) => c.op === 'touch')).toBe(true);

      // The refresh really moved the store expiry: alive past the original T0 + 100 s.
      const loaded = await store.load(id);
      expect(loaded).toMatchObject({ state: 'active', expiresAt: T0 + 120_000 });
      jest.setSystemTime(T0 + 110_000);
      expect(await store.get(id)).toEqual({ a: 1 });
    });

    it('with the cookie transport, the throttled refresh also records the refreshed cookie, in one patch', async () => {
      const e = engine({ maxAge: 100, touchAfter: 10 });
      const id = await stored(e, { a: 1 });
      for (const at of [1_000, 5_000, 9_999]) {
        jest.setSystemTime(T0 + at);
        expect((await request(e, id)).cookieDue).toBe(false);
      }
      expect(store.calls).toEqual([]);

      jest.setSystemTime(T0 + 10_000);
      expect((await request(e, id)).cookieDue).toBe(true);
      expect(store.calls).toEqual([{ op: 'patch', id, arg: { '__session.cookieExpiresAt': T0 + 110_000 }, ttl: 100 }]);

      jest.setSystemTime(T0 + 15_000);
      expect((await request(e, id)).cookieDue).toBe(false);
      expect(store.calls).toHaveLength(1);
      // The application never sees the middleware's field.
      expect(await store.get(id)).toEqual({ a: 1 });
      expect((await open(e, id)).toJSON()).toEqual({ a: 1 });
    });

    it('lets an untouched stored session expire after maxAge (idle timeout)', async () => {
      const e = engine({ maxAge: 100, touchAfter: 10 });
      const id = await stored(e, { a: 1 });
      jest.setSystemTime(T0 + 99_999);
      expect(await store.get(id)).toEqual({ a: 1 });
      jest.setSystemTime(T0 + 100_000);
      expect(await store.get(id)).toBeUndefined();
      const s = await open(e, id);
      expect(s.id).not.toBe(id);
      expect(s.toJSON()).toEqual({});
    });

    it('a write counts as a refresh: no touch right after a changed request', async () => {
      const e = engine({ maxAge: 100, touchAfter: 10 });
      const id = await stored(e, { n: 0 });
      jest.setSystemTime(T0 + 50_000);
      await request(e, id, (s) => s.set('n', 1));
      jest.setSystemTime(T0 + 55_000);
      await request(e, id);
      expect(store.calls.map((c) => c.op)).toEqual(['patch']);
      jest.setSystemTime(T0 + 140_000);
      expect(await store.get(id)).toEqual({ n: 1 });
    });

    it('touch() refreshes at once and does nothing for a session never stored', async () => {
      const e = engine({ maxAge: 100, touchAfter: 10 });
      const fresh = await open(e);
      await fresh.touch();
      expect(store.calls).toEqual([]);
      const id = await stored(e, { a: 1 });
      jest.setSystemTime(T0 + 1_000);
      const s = await open(e, id);
      await s.touch();
      expect(store.calls).toEqual([{ op: 'touch', id, ttl: 100 }]);
      expect(await store.load(id)).toMatchObject({ expiresAt: T0 + 101_000 });
    });

    it('ends a session at absoluteTimeout however active it is', async () => {
      const e = engine({ maxAge: 10, touchAfter: 1, absoluteTimeout: 30 });
      const id = await stored(e, { n: 0 });
      let n = 0;
      for (let at = 3_000; at < 30_000; at += 3_000) {
        jest.setSystemTime(T0 + at);
        const s = await request(e, id, (session) => session.set('n', ++n));
        expect(s.id).toBe(id);
        expect(s.get('n')).toBe(n);
      }
      // The store TTL never outlives the absolute timeout.
      const loaded = await store.load(id);
      expect(loaded?.state).toBe('active');
      expect((loaded as { expiresAt: number }).expiresAt).toBeLessThanOrEqual(T0 + 30_000);

      jest.setSystemTime(T0 + 30_000);
      const after = await open(e, id);
      expect(after.id).not.toBe(id);
      expect(after.isNew).toBe(true);
      expect(after.toJSON()).toEqual({});
    });

    it('keeps the absolute timeout across regenerate()', async () => {
      const e = engine({ maxAge: 100, absoluteTimeout: 30 });
      const id = await stored(e, { n: 0 });
      jest.setSystemTime(T0 + 20_000);
      const s = await open(e, id);
      await s.regenerate();
      await e.commit(s);
      jest.setSystemTime(T0 + 30_000);
      expect((await open(e, s.id)).id).not.toBe(s.id);
    });

    it('reports expiresAt and cookieMaxAge for unstored, stored and loaded sessions', async () => {
      const e = engine({ maxAge: 100, touchAfter: 10 });
      const s = await open(e);
      expect(s.expiresAt.getTime()).toBe(T0 + 100_000);
      expect(s.cookieMaxAge(Date.now())).toBe(100);

      // Unstored: the window runs from the id's start.
      jest.setSystemTime(T0 + 40_000);
      expect(s.expiresAt.getTime()).toBe(T0 + 100_000);
      expect(s.cookieMaxAge(Date.now())).toBe(60);

      // Stored: the idle timeout runs from the write.
      s.set('a', 1);
      await e.commit(s);
      expect(s.expiresAt.getTime()).toBe(T0 + 140_000);
      expect(s.cookieMaxAge(Date.now())).toBe(100);

      // Loaded: the store's expiry.
      jest.setSystemTime(T0 + 45_000);
      const loaded = await open(e, s.id);
      expect(loaded.expiresAt.getTime()).toBe(T0 + 140_000);
      expect(loaded.cookieMaxAge(Date.now())).toBe(95);
    });

    it('caps expiresAt by the absolute timeout', async () => {
      const e = engine({ maxAge: 100, absoluteTimeout: 30 });
      const s = await open(e);
      jest.setSystemTime(T0 + 20_000);
      s.set('a', 1);
      await e.commit(s);
      expect(s.expiresAt.getTime()).toBe(T0 + 30_000);
      expect(s.cookieMaxAge(Date.now())).toBe(10);
    });
  });

  describe('through SessionMiddleware', () => {
    it('sessionOf gives the Session of a dispatched request', async () => {
      const mw = new SessionMiddleware({ secret: SECRET, sessionStorage: store });
      const request = new Request('http://localhost/');
      let inside: Session | undefined;
      const response = await mw.dispatch(request, (req) => {
        inside = mw.sessionOf(req);
        inside?.set('seen', true);
        return new Response('ok');
      });
      expect(inside).toBeInstanceOf(Session);
      expect(mw.sessionOf(request)).toBe(inside);
      expect(response.headers.get('x-session-id')).toBe(inside?.id);
      expect(await store.get(inside!.id)).toEqual({ seen: true });
    });
  });
});
