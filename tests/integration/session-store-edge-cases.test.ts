/**
 * Edge cases of Session, ChangeTracker, SessionStore, MemoryStore and the DI module found by an
 * adversarial review; each test failed before its fix.
 */
import { afterEach, describe, expect, it } from '@jest/globals';
import { Container } from 'inversify';
import {
  MemoryStore,
  Session,
  SessionError,
  SessionMiddleware,
  TYPES,
  sessionModule,
  type SessionChanges,
  type SessionData,
  type SessionMiddlewareOptions,
  type SessionStore,
  type StoredSession,
} from '../../src/index.js';

const SECRET = 'test-secret-of-at-least-32-characters!!';

const opened: MemoryStore[] = [];
function track<T extends MemoryStore>(store: T): T {
  opened.push(store);
  return store;
}
afterEach(() => {
  for (const store of opened.splice(0)) store.close();
});

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** A MemoryStore whose next `failPatches` patches reject (a store that blips). */
class FlakyStore extends MemoryStore {
  failPatches = 0;
  override async patch(id: string, changes: SessionChanges, ttlSeconds: number): Promise<void> {
    if (this.failPatches > 0) {
      this.failPatches--;
      throw new Error('store blip');
    }
    return super.patch(id, changes, ttlSeconds);
  }
}

/** A MemoryStore whose patches take `delayMs` (a remote store). */
class SlowStore extends MemoryStore {
  delayMs = 50;
  override async patch(id: string, changes: SessionChanges, ttlSeconds: number): Promise<void> {
    await sleep(this.delayMs);
    return super.patch(id, changes, ttlSeconds);
  }
}

/** A MemoryStore that counts TTL refreshes. */
class TouchCountingStore extends MemoryStore {
  touches = 0;
  override async touch(id: string, ttlSeconds: number): Promise<void> {
    this.touches++;
    return super.touch(id, ttlSeconds);
  }
}

function middleware(store: SessionStore, options: SessionMiddlewareOptions = {}): SessionMiddleware {
  return new SessionMiddleware({ secret: SECRET, sessionStorage: store, ...options });
}

/** One Web request through `mw`, presenting `id` (if any); resolves the response. */
async function request(mw: SessionMiddleware, id: string | undefined, handler: (session: Session) => unknown): Promise<Response> {
  const headers: Record<string, string> = id === undefined ? {} : { 'X-Session-ID': id };
  return mw.dispatch(new Request('http://localhost/', { headers }), async (req) => {
    await handler(mw.sessionOf(req)!);
    return new Response('ok');
  });
}

/** A stored session holding `data`; resolves its id. */
async function seed(mw: SessionMiddleware, data: SessionData): Promise<string> {
  const response = await request(mw, undefined, (session) => {
    for (const [key, value] of Object.entries(data)) session.set(key, value);
  });
  const id = response.headers.get('X-Session-ID');
  if (!id) throw new Error('no id');
  return id;
}

function caught(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  return undefined;
}

function gate(): { wait: Promise<void>; open: () => void } {
  let open!: () => void;
  const wait = new Promise<void>((resolve) => (open = resolve));
  return { wait, open };
}

describe('lost and resurrected writes', () => {
  it('a failed save() does not lose an in-place change to an object read with get()', async () => {
    const store = track(new FlakyStore({ sweepIntervalSeconds: 0 }));
    const mw = middleware(store);
    const id = await seed(mw, { cart: ['apple'] });
    let saveError: unknown;
    await request(mw, id, async (session) => {
      (session.get('cart') as string[]).push('pear');
      store.failPatches = 1;
      saveError = await session.save().then(
        () => undefined,
        (error: unknown) => error,
      );
      // The handler goes on; the commit at the end of the request must write the cart.
    });
    expect(SessionError.is(saveError) && saveError.kind).toBe('store-error');
    expect(await store.get(id)).toEqual({ cart: ['apple', 'pear'] });
  });

  it('a set() made while an increment of the same key is in flight is not dropped', async () => {
    const store = track(new MemoryStore({ sweepIntervalSeconds: 0 }));
    const mw = middleware(store);
    let shown: unknown;
    const response = await request(mw, undefined, async (session) => {
      const pending = session.increment('n');
      session.set('n', 100); // issued after the increment: the later write wins
      await pending;
      shown = session.get('n');
    });
    const id = response.headers.get('X-Session-ID')!;
    expect(shown).toBe(100);
    expect(await store.get(id)).toEqual({ n: 100 });
  });

  it('clear() in a request racing a destroy() does not bring the destroyed session back', async () => {
    const store = track(new MemoryStore({ sweepIntervalSeconds: 0 }));
    const mw = middleware(store);
    const id = await seed(mw, { user: 'ann' });
    const started = gate();
    const slow = gate();
    // Request A loaded the session, then works for a while before it resets the cart.
    const a = request(mw, id, async (session) => {
      started.open();
      await slow.wait;
      session.clear();
      session.set('cart', []);
    });
    await started.wait;
    // Request B logs out meanwhile.
    await request(mw, id, (session) => session.destroy());
    expect(await store.load(id)).toEqual({ state: 'destroyed' });
    slow.open();
    await a;
    // B2: a destroyed id stays refused until it would have expired.
    expect(await store.load(id)).toEqual({ state: 'destroyed' });
    const later = await request(mw, id, () => undefined);
    expect(later.headers.get('X-Session-ID')).not.toBe(id);
  });

  it('clear() in one request does not wipe a key another request set concurrently (B3 field-level writes)', async () => {
    const store = track(new MemoryStore({ sweepIntervalSeconds: 0 }));
    const mw = middleware(store);
    const id = await seed(mw, { user: 'ann' });
    const started = gate();
    const slow = gate();
    const a = request(mw, id, async (session) => {
      started.open();
      await slow.wait;
      session.clear();
      session.set('cart', []);
    });
    await started.wait;
    await request(mw, id, (session) => session.set('theme', 'dark'));
    slow.open();
    await a;
    expect(await store.get(id)).toEqual({ cart: [], theme: 'dark' });
  });

  it('a save() still in flight when the handler returns is in the store before the response (B5)', async () => {
    const store = track(new SlowStore({ sweepIntervalSeconds: 0 }));
    const mw = middleware(store);
    const response = await request(mw, undefined, (session) => {
      session.set('flash', 'saved');
      void session.save(); // e.g. express-session habits: save(), then redirect
    });
    const id = response.headers.get('X-Session-ID')!;
    try {
      expect(await store.get(id)).toEqual({ flash: 'saved' });
    } finally {
      await sleep(store.delayMs * 2); // let the late write land before the store is closed
    }
  });
});

describe('JSON semantics and prototype safety', () => {
  it('set() of a function or a symbol throws invalid-value, as documented, instead of storing null', async () => {
    const store = track(new MemoryStore({ sweepIntervalSeconds: 0 }));
    const mw = middleware(store);
    const errors: unknown[] = [];
    const response = await request(mw, undefined, (session) => {
      errors.push(caught(() => session.set('fn', () => 1)));
      errors.push(caught(() => session.set('sym', Symbol('x'))));
    });
    expect(errors.map((error) => SessionError.is(error) && error.kind)).toEqual(['invalid-value', 'invalid-value']);
    expect(await store.get(response.headers.get('X-Session-ID')!)).toBeUndefined();
  });

  it('MemoryStore: patch and set store the same thing for a field JSON cannot hold', async () => {
    const store = track(new MemoryStore({ sweepIntervalSeconds: 0 }));
    const data = { fn: () => 1, kept: 1 } as SessionData;
    const viaSet: unknown = await store.set('via-set', data).then(
      () => store.get('via-set'),
      (error: unknown) => (SessionError.is(error) ? error.kind : error),
    );
    const viaPatch: unknown = await store.patch('via-patch', data, 60).then(
      () => store.get('via-patch'),
      (error: unknown) => (SessionError.is(error) ? error.kind : error),
    );
    // Same observable semantics whichever write path was used (it was { kept: 1 } vs { fn: null, kept: 1 }).
    expect(viaPatch).toEqual(viaSet);
  });

  it('MemoryStore: set() never stores a record whose JSON is not an object, nor one that bricks later patches', async () => {
    const store = track(new MemoryStore({ sweepIntervalSeconds: 0 }));
    const odd: Array<[string, unknown]> = [
      ['to-string', { toJSON: () => 'x' }],
      ['a-date', new Date(0)],
      ['to-null', { toJSON: () => null }],
      ['smuggled-proto', { toJSON: () => JSON.parse('{"__proto__":{"admin":true},"user":"ann"}') as unknown }],
    ];
    for (const [id, data] of odd) {
      await store.set(id, data as SessionData).catch(() => undefined);
      const got = await store.get(id);
      // Either refused, or stored as a plain record.
      expect([id, got === undefined || (typeof got === 'object' && got !== null && !Array.isArray(got))]).toEqual([id, true]);
      // And the session stays writable field by field.
      await expect(store.patch(id, { a: 1 }, 60)).resolves.toBeUndefined();
    }
  });

  it('a stored record with a "__proto__" field (valid JSON, e.g. written by another client of a shared store) does not change the prototype of toJSON()', async () => {
    /** A store whose records come from JSON text, as from Redis or a database. */
    class JsonTextStore extends MemoryStore {
      override async load(id: string): Promise<StoredSession | undefined> {
        const found = await super.load(id);
        if (found?.state !== 'active') return found;
        return { state: 'active', expiresAt: found.expiresAt, data: JSON.parse('{"__proto__":{"admin":true},"user":"ann"}') as SessionData };
      }
    }
    const store = track(new JsonTextStore({ sweepIntervalSeconds: 0 }));
    const mw = middleware(store);
    const id = await seed(mw, { user: 'ann' });
    let json: Record<string, unknown> | undefined;
    await request(mw, id, (session) => {
      json = session.toJSON();
    });
    expect(json).toBeDefined();
    expect(Object.getPrototypeOf(json)).toBe(Object.prototype);
    expect(json!.admin).toBeUndefined();
    expect(json!.user).toBe('ann');
  });
});

describe('expiry', () => {
  it('a session that stored nothing reports expiresAt and cookie Max-Age capped by absoluteTimeout', async () => {
    const store = track(new MemoryStore({ sweepIntervalSeconds: 0 }));
    const mw = middleware(store, { maxAge: 3600, absoluteTimeout: 60 });
    let expiresAt: Date | undefined;
    const before = Date.now();
    const response = await request(mw, undefined, (session) => {
      expiresAt = session.expiresAt;
    });
    // The id is refused 60 s after its start (SessionEngine.open), so the session ends then.
    expect(expiresAt!.getTime()).toBeLessThanOrEqual(before + 60_000 + 1_000);
    // Capped, not cut to nothing: a Max-Age of 0 would clear the cookie at once.
    expect(expiresAt!.getTime()).toBeGreaterThanOrEqual(before + 59_000);
    const maxAge = Number(/Max-Age=(\d+)/.exec(response.headers.get('set-cookie') ?? '')?.[1]);
    expect(maxAge).toBeLessThanOrEqual(60);
    expect(maxAge).toBeGreaterThanOrEqual(59);
  });

  it('with absoluteTimeout, an unchanged session is still refreshed at most once per touchAfter', async () => {
    const store = track(new TouchCountingStore({ sweepIntervalSeconds: 0 }));
    const mw = middleware(store, { maxAge: 3600, absoluteTimeout: 1800, touchAfter: 60 });
    const id = await seed(mw, { user: 'ann' });
    for (let i = 0; i < 5; i++) await request(mw, id, () => undefined);
    // The write that created it is seconds old: no refresh is due (it was one per request).
    expect(store.touches).toBe(0);
  });
});

describe('storage growth', () => {
  it('a flood of requests without an id to a logout handler does not evict live sessions', async () => {
    const store = track(new MemoryStore({ sweepIntervalSeconds: 0, maxEntries: 5 }));
    const mw = middleware(store);
    const id = await seed(mw, { user: 'ann' });
    for (let i = 0; i < 5; i++) await request(mw, undefined, (session) => session.destroy());
    expect(await store.get(id)).toEqual({ user: 'ann' });
  });

  it('regenerate() of a new session that holds no data stores nothing (B3: nothing stored until data is set)', async () => {
    const store = track(new MemoryStore({ sweepIntervalSeconds: 0 }));
    const mw = middleware(store);
    const response = await request(mw, undefined, (session) => session.regenerate());
    expect(await store.get(response.headers.get('X-Session-ID')!)).toBeUndefined();
    expect(await store.length()).toBe(0);
  });
});

describe('dependency injection', () => {
  it('the MemoryStore bound by sessionModule({ maxAge }) expires direct writes after maxAge even when resolved before the middleware', async () => {
    const container = new Container();
    container.load(sessionModule({ secret: SECRET, maxAge: 120 }));
    // e.g. a service injected with TYPES.SessionStore, resolved before anything asked for the middleware
    const store = container.get<MemoryStore>(TYPES.SessionStore);
    track(store);
    const before = Date.now();
    await store.set('written-directly', { visits: 1 }); // the Python-style direct write
    const found = await store.load('written-directly');
    expect(found?.state).toBe('active');
    const ttlMs = (found as { expiresAt: number }).expiresAt - before;
    expect(ttlMs).toBeGreaterThanOrEqual(120_000);
    expect(ttlMs).toBeLessThan(121_000); // it was 3600 s: the middleware had not set it yet
    expect(container.get(SessionMiddleware).sessionStorage).toBe(store);
  });
});
