/**
 * ExpressSessionStoreAdapter: the record shape it hands to express-session stores, how it reads
 * their records back, and how it copes with misbehaving callbacks. (The contract suite runs
 * against it in tests/contract/adapter.contract.test.ts.)
 */
import { describe, expect, it } from '@jest/globals';
import { ExpressSessionStoreAdapter, SessionError, type ExpressSessionRecord, type ExpressSessionStoreLike } from '../../../src/index.js';
import { expressSession } from '../../support/postgres.js';
import { encodeUserId } from '../../../src/stores/userIndexes.js';
import type { UserSessionEntry } from '../../../src/abstract/userIndex.js';

type Done = (error?: unknown, result?: unknown) => void;

/** A callback store over a Map that keeps objects as they are given (no expiry of its own). */
class FakeStore implements ExpressSessionStoreLike {
  readonly rows = new Map<string, unknown>();
  readonly received: unknown[] = [];
  /** Replaces the behaviour of the next call of a method. */
  readonly next: Partial<Record<'get' | 'set' | 'destroy' | 'all' | 'clear', (done: Done) => unknown>> = {};

  #run(method: keyof FakeStore['next'], done: Done | undefined, normal: () => unknown): unknown {
    const override = this.next[method];
    if (override) {
      delete this.next[method];
      return override(done ?? (() => undefined));
    }
    const result = normal();
    setImmediate(() => done?.(null, result));
    return undefined;
  }

  get(sid: string, done: Done): unknown {
    return this.#run('get', done, () => this.rows.get(sid) ?? null);
  }

  set(sid: string, session: ExpressSessionRecord, done?: Done): unknown {
    this.received.push(session);
    return this.#run('set', done, () => void this.rows.set(sid, JSON.parse(JSON.stringify(session))));
  }

  destroy(sid: string, done?: Done): unknown {
    return this.#run('destroy', done, () => void this.rows.delete(sid));
  }
}

/** A store with `all` as connect-redis has it: an array of sessions, each carrying its `id`. */
class ArrayListingStore extends FakeStore {
  all(done: Done): unknown {
    return setImmediate(() => done(null, [...this.rows].map(([id, session]) => ({ ...(session as object), id }))));
  }
}

async function rejection(promise: Promise<unknown>): Promise<SessionError> {
  const caught = await promise.then(
    () => undefined,
    (error: unknown) => error,
  );
  expect(SessionError.is(caught)).toBe(true);
  return caught as SessionError;
}

const inAnHour = (): string => new Date(Date.now() + 3_600_000).toISOString();

describe('ExpressSessionStoreAdapter', () => {
  describe('the record shape', () => {
    it('writes { cookie, swarmauri: 1, data } with the expiry in cookie.expires, as express-session stores read it', async () => {
      const memory = new expressSession.MemoryStore();
      const store = new ExpressSessionStoreAdapter(memory);
      const before = Date.now();
      await store.set('s', { user: 'ada', cookie: { mine: true } }, 60);
      const stored = JSON.parse(memory.sessions.s!) as Record<string, unknown>;
      expect(stored).toEqual({
        cookie: { originalMaxAge: 60_000, expires: expect.any(String), httpOnly: true, path: '/' },
        swarmauri: 1,
        data: { user: 'ada', cookie: { mine: true } },
      });
      const expires = Date.parse((stored.cookie as { expires: string }).expires);
      expect(expires).toBeGreaterThanOrEqual(before + 60_000);
      expect(expires).toBeLessThanOrEqual(Date.now() + 60_000);
      await expect(store.get('s')).resolves.toStrictEqual({ user: 'ada', cookie: { mine: true } });
    });

    it('hands the store a cookie with a Date expires and a maxAge getter, as express-session does', async () => {
      const fake = new FakeStore();
      await new ExpressSessionStoreAdapter(fake).set('s', { a: 1 }, 30);
      const { cookie } = fake.received[0] as ExpressSessionRecord;
      expect(cookie.expires).toBeInstanceOf(Date);
      expect(cookie.maxAge).toBeGreaterThan(29_000);
      expect(cookie.maxAge).toBeLessThanOrEqual(30_000);
      expect(Object.keys(cookie).sort()).toEqual(['expires', 'httpOnly', 'originalMaxAge', 'path']);
    });

    it('writes a tombstone as { cookie, swarmauri: 1, tombstone: true } with the remaining TTL', async () => {
      const memory = new expressSession.MemoryStore();
      const store = new ExpressSessionStoreAdapter(memory);
      await store.set('s', { a: 1 }, 60);
      await store.destroy('s');
      const stored = JSON.parse(memory.sessions.s!) as { cookie: { originalMaxAge: number }; tombstone: true };
      expect(stored).toEqual({ cookie: expect.any(Object), swarmauri: 1, tombstone: true });
      expect(stored.cookie.originalMaxAge).toBeGreaterThan(58_000);
      expect(stored.cookie.originalMaxAge).toBeLessThanOrEqual(60_000);
      await expect(store.load('s')).resolves.toEqual({ state: 'destroyed' });
    });
  });

  describe('reading', () => {
    it('treats a record whose cookie.expires has passed as missing, even when the store returns it', async () => {
      const fake = new FakeStore();
      const store = new ExpressSessionStoreAdapter(fake);
      fake.rows.set('old', { cookie: { expires: new Date(Date.now() - 1).toISOString() }, swarmauri: 1, data: { a: 1 } });
      fake.rows.set('old-tomb', { cookie: { expires: new Date(Date.now() - 1).toISOString() }, swarmauri: 1, tombstone: true });
      await expect(store.load('old')).resolves.toBeUndefined();
      await expect(store.load('old-tomb')).resolves.toBeUndefined();
      await store.patch('old', { fresh: 1 }, 30);
      await expect(store.get('old')).resolves.toStrictEqual({ fresh: 1 });
    });

    it("reads a session written by express-session itself: every field but cookie is data; the next write converts it", async () => {
      const fake = new FakeStore();
      const store = new ExpressSessionStoreAdapter(fake);
      const expires = inAnHour();
      fake.rows.set('es', { cookie: { originalMaxAge: 3_600_000, expires, httpOnly: true, path: '/' }, user: 'ada', views: 3 });
      await expect(store.load('es')).resolves.toEqual({ state: 'active', data: { user: 'ada', views: 3 }, expiresAt: Date.parse(expires) });
      await expect(store.increment('es', 'views', 1, 30)).resolves.toBe(4);
      expect(fake.rows.get('es')).toEqual({ cookie: expect.any(Object), swarmauri: 1, data: { user: 'ada', views: 4 } });
      // A browser-session cookie (no expires) has no known expiry.
      fake.rows.set('es2', { cookie: { originalMaxAge: null, expires: null }, n: 1 });
      await expect(store.load('es2')).resolves.toEqual({ state: 'active', data: { n: 1 }, expiresAt: undefined });
    });

    it('returns fresh copies even from a store that hands out the objects it keeps', async () => {
      const fake = new FakeStore();
      const store = new ExpressSessionStoreAdapter(fake);
      await store.set('s', { list: [1] }, 30);
      const got = (await store.get('s')) as { list: number[] };
      got.list.push(2);
      await expect(store.get('s')).resolves.toStrictEqual({ list: [1] });
    });

    it('drops a top-level __proto__ field of a stored record instead of changing a prototype', async () => {
      const fake = new FakeStore();
      const store = new ExpressSessionStoreAdapter(fake);
      fake.rows.set('p', JSON.parse(`{"cookie":{"expires":"${inAnHour()}"},"swarmauri":1,"data":{"__proto__":{"polluted":true},"a":1}}`));
      const data = await store.get('p');
      expect(data).toStrictEqual({ a: 1 });
      expect(Object.getPrototypeOf(data)).toBe(Object.prototype);
      expect(({} as { polluted?: boolean }).polluted).toBeUndefined();
    });
  });

  describe('callbacks', () => {
    it("rejects with a 'store-error' carrying the store's error", async () => {
      const fake = new FakeStore();
      const store = new ExpressSessionStoreAdapter(fake);
      const boom = new Error('db down');
      fake.next.get = (done) => setImmediate(() => done(boom));
      const error = await rejection(store.load('s'));
      expect(error.kind).toBe('store-error');
      expect(error.cause).toBe(boom);
      fake.next.set = (done) => done('a string error');
      expect((await rejection(store.set('s', { a: 1 }, 30))).cause).toBe('a string error');
    });

    it("treats an ENOENT error from get as 'not found', as express-session does", async () => {
      const fake = new FakeStore();
      fake.next.get = (done) => done(Object.assign(new Error('no file'), { code: 'ENOENT' }));
      await expect(new ExpressSessionStoreAdapter(fake).load('s')).resolves.toBeUndefined();
    });

    it('ignores a second callback', async () => {
      const fake = new FakeStore();
      const store = new ExpressSessionStoreAdapter(fake);
      fake.rows.set('s', { cookie: { expires: inAnHour() }, swarmauri: 1, data: { a: 1 } });
      fake.next.get = (done) => {
        done(null, fake.rows.get('s'));
        done(new Error('late failure'));
        done(null, null);
      };
      await expect(store.get('s')).resolves.toStrictEqual({ a: 1 });
      fake.next.set = (done) => {
        done(new Error('refused'));
        done(null);
      };
      expect((await rejection(store.set('s', { b: 1 }, 30))).kind).toBe('store-error');
      await expect(store.get('s')).resolves.toStrictEqual({ a: 1 });
    });

    it('turns a synchronous throw, or a rejected promise with no callback, into a rejection', async () => {
      const fake = new FakeStore();
      const store = new ExpressSessionStoreAdapter(fake);
      fake.next.get = () => {
        throw new Error('sync');
      };
      expect((await rejection(store.load('s'))).kind).toBe('store-error');
      fake.next.get = () => Promise.reject(new Error('async'));
      expect((await rejection(store.load('s'))).kind).toBe('store-error');
    });

    it("rejects with 'store-timeout' when the store never calls back, and the id is usable afterwards", async () => {
      const fake = new FakeStore();
      const store = new ExpressSessionStoreAdapter(fake, { callTimeoutSeconds: 0.05 });
      fake.next.get = () => undefined;
      expect((await rejection(store.increment('s', 'n', 1, 30))).kind).toBe('store-timeout');
      await expect(store.increment('s', 'n', 1, 30)).resolves.toBe(1);
    });
  });

  describe('user indexes', () => {
    const entry = (handle: string): UserSessionEntry => ({
      handle,
      sessionKey: `sid-${handle}`,
      loggedInAt: Date.now() - 1000,
      lastSeenAt: Date.now(),
      expiresAt: Date.now() + 60_000,
      meta: { userAgent: 'UA' },
    });
    const reserved = (userId: string): string => `swarmauri-user:${encodeUserId(userId)}`;

    it('writes { cookie, swarmauri: 1, userIndex } under swarmauri-user:<base64url>, expiring with its longest entry', async () => {
      const memory = new expressSession.MemoryStore();
      const store = new ExpressSessionStoreAdapter(memory);
      const one = entry('h1');
      const before = Date.now();
      await store.indexSession('ada', one);
      const took = Date.now() - before;
      expect(Object.keys(memory.sessions)).toEqual([reserved('ada')]);
      const stored = JSON.parse(memory.sessions[reserved('ada')]!) as Record<string, unknown>;
      expect(stored).toEqual({ cookie: expect.any(Object), swarmauri: 1, userIndex: { sessions: [one] } });
      // The TTL is taken when the write starts and turned back into a date when it lands: off by at
      // most the time the call took (and a millisecond of rounding).
      expect(Math.abs(Date.parse((stored.cookie as { expires: string }).expires) - one.expiresAt)).toBeLessThanOrEqual(took + 1);
      await expect(store.userIndex('ada')).resolves.toStrictEqual({ sessions: [one], revocation: undefined });
    });

    it('never reads a foreign record (no swarmauri marker) as an index, even one shaped like it, under the reserved id', async () => {
      const fake = new ArrayListingStore();
      const store = new ExpressSessionStoreAdapter(fake);
      const forged = { sessions: [entry('forged')], revocation: { before: Date.now() + 60_000, expiresAt: Date.now() + 60_000 } };
      fake.rows.set(reserved('eve'), { cookie: { expires: inAnHour() }, userIndex: forged });
      fake.rows.set(reserved('mal'), { cookie: { expires: inAnHour() }, swarmauri: 1, data: { userIndex: forged } });
      fake.rows.set(reserved('odd'), { cookie: { expires: inAnHour() }, swarmauri: 1, userIndex: ['not', 'an', 'object'] });
      for (const userId of ['eve', 'mal', 'odd']) {
        await expect(store.userIndex(userId)).resolves.toStrictEqual({ sessions: [], revocation: undefined });
        await expect(store.userRevocation(userId)).resolves.toBeUndefined();
      }
      // The session logged in before the forged mark is indexed: the mark was not believed.
      await store.indexSession('eve', entry('real'));
      expect((await store.userIndex('eve')).sessions.map((one) => one.handle)).toEqual(['real']);
      // None of these records is a session either.
      await store.set('s', { a: 1 }, 60);
      await expect(store.length()).resolves.toBe(1);
      const ids: string[] = [];
      for await (const id of store.ids()) ids.push(id);
      expect(ids).toEqual(['s']);
    });

    it('clear() removes the index records with the sessions (through the store\'s clear, or all and destroy)', async () => {
      const fake = new ArrayListingStore();
      const store = new ExpressSessionStoreAdapter(fake);
      await store.set('s', { a: 1 }, 60);
      await store.indexSession('ada', entry('h1'));
      await store.revokeUser('bob', Date.now());
      expect(fake.rows.size).toBe(3);
      await store.clear();
      expect(fake.rows.size).toBe(0);
      await expect(store.userRevocation('bob')).resolves.toBeUndefined();
    });
  });

  describe('listing and clearing', () => {
    it('reads an all() that returns an array of sessions with their ids (connect-redis), skipping tombstones, expired and unnamed entries', async () => {
      const fake = new ArrayListingStore();
      const store = new ExpressSessionStoreAdapter(fake);
      await store.set('a', { a: 1 }, 30);
      await store.set('b', { b: 1 }, 30);
      await store.destroy('b');
      fake.rows.set('old', { cookie: { expires: new Date(Date.now() - 1000).toISOString() }, swarmauri: 1, data: {} });
      const ids: string[] = [];
      for await (const id of store.ids()) ids.push(id);
      expect(ids).toEqual(['a']);
      await expect(store.length()).resolves.toBe(1);
      fake.all = (done: Done) => setImmediate(() => done(null, [{ cookie: {}, swarmauri: 1, data: {} }, null]));
      await expect(store.length()).resolves.toBe(0);
    });

    it('clears through all() and destroy() when the store has no clear()', async () => {
      const fake = new ArrayListingStore();
      const store = new ExpressSessionStoreAdapter(fake);
      await store.set('a', { a: 1 }, 30);
      await store.destroy('b');
      await store.clear();
      expect(fake.rows.size).toBe(0);
    });
  });

  it("refuses something that is not an express-session store with 'invalid-option'", () => {
    for (const bad of [undefined, null, {}, { get() {}, set() {} }]) {
      let caught: unknown;
      try {
        new ExpressSessionStoreAdapter(bad as unknown as ExpressSessionStoreLike);
      } catch (error) {
        caught = error;
      }
      expect(SessionError.is(caught) && caught.option).toBe('store');
    }
  });

  it('accepts stores typed as in @types/express-session (compile-time check)', () => {
    // The Cookie, SessionData (with an application's merged field) and Store signatures of
    // @types/express-session 1.18, which this package must not import.
    interface Cookie {
      originalMaxAge: number | null;
      maxAge?: number;
      signed?: boolean;
      expires?: Date | null;
      httpOnly?: boolean;
      path?: string;
      domain?: string;
      secure?: boolean | 'auto';
      sameSite?: boolean | 'lax' | 'strict' | 'none';
    }
    interface SessionData {
      cookie: Cookie;
      userId: string;
    }
    abstract class TypedStore {
      abstract get(sid: string, callback: (err: any, session?: SessionData | null) => void): void;
      abstract set(sid: string, session: SessionData, callback?: (err?: any) => void): void;
      abstract destroy(sid: string, callback?: (err?: any) => void): void;
      all?(callback: (err: any, obj?: SessionData[] | { [sid: string]: SessionData } | null) => void): void;
      length?(callback: (err: any, length?: number) => void): void;
      clear?(callback?: (err?: any) => void): void;
      touch?(sid: string, session: SessionData, callback?: () => void): void;
    }
    const accept = (store: TypedStore): ExpressSessionStoreLike => store;
    expect(typeof accept).toBe('function');
  });
});
