import { afterEach, describe, expect, it } from '@jest/globals';
import {
  MemoryStore,
  Session,
  SessionError,
  SessionMiddleware,
  type SessionChanges,
  type SessionMiddlewareOptions,
  type SessionState,
  type StoredSession,
} from '../../src/index.js';

const SECRET = 'test-secret-of-at-least-32-characters!!';
const TOKEN_SHAPE = /^[A-Za-z0-9_-]{22}\.[0-9a-z]{1,10}\.[A-Za-z0-9_-]{24}$/;
const URL_ = 'http://localhost/greet';

class ThrowingStore extends MemoryStore {
  override async load(): Promise<StoredSession | undefined> {
    throw new Error('ECONNREFUSED');
  }
  override async patch(): Promise<void> {
    throw new Error('ECONNREFUSED');
  }
}

/** A store whose writes fail while reads work. */
class ReadOnlyStore extends MemoryStore {
  override async patch(): Promise<void> {
    throw new Error('READONLY');
  }
}

class StallingStore extends MemoryStore {
  override load(): Promise<StoredSession | undefined> {
    return new Promise(() => {});
  }
}

/** A real store whose writes land only after a delay (a remote store). */
class SlowStore extends MemoryStore {
  override async patch(id: string, changes: SessionChanges, ttlSeconds: number): Promise<void> {
    await new Promise((resolve) => setTimeout(resolve, 150));
    return super.patch(id, changes, ttlSeconds);
  }
  override async increment(id: string, key: string, by: number, ttlSeconds: number): Promise<number> {
    await new Promise((resolve) => setTimeout(resolve, 150));
    return super.increment(id, key, by, ttlSeconds);
  }
}

function stateOf(request: Request): SessionState | undefined {
  return (request as Request & { state?: SessionState }).state;
}

describe('Web Request/Response dispatch', () => {
  const stores: MemoryStore[] = [];

  function middleware(options: SessionMiddlewareOptions = {}, store: MemoryStore = new MemoryStore()): SessionMiddleware {
    stores.push(store);
    return new SessionMiddleware({ secret: SECRET, sessionStorage: store, ...options });
  }

  afterEach(() => {
    stores.splice(0).forEach((store) => store.close());
  });

  /** The greet handler of the spec, through the Web dispatch and `sessionOf`. */
  function greet(mw: SessionMiddleware) {
    return async (request: Request): Promise<Response> => {
      const session = mw.sessionOf(request) as Session;
      const visits = await session.increment('visits');
      return Response.json({ session_id: stateOf(request)?.sessionId, visits });
    };
  }

  it('gives a first request an X-Session-ID and a hardened Set-Cookie', async () => {
    const mw = middleware();
    const response = await mw.dispatch(new Request(URL_), () => new Response('hi'));
    const id = response.headers.get('x-session-id');
    expect(id).toMatch(TOKEN_SHAPE);
    expect(response.headers.getSetCookie()).toEqual([`session_id=${id}; Max-Age=3600; Path=/; HttpOnly; SameSite=Lax`]);
    expect(await response.text()).toBe('hi');
    // Nothing was set, so nothing was stored (lazy storage).
    expect(await mw.sessionStorage.length()).toBe(0);
  });

  it('runs the Python example: visits 1 then visits 2 for the same id', async () => {
    const mw = middleware();
    const first = await mw.dispatch(new Request(URL_), greet(mw));
    const body1 = (await first.json()) as { session_id: string; visits: number };
    const id = first.headers.get('x-session-id') as string;
    expect(body1).toEqual({ session_id: id, visits: 1 });

    const second = await mw.dispatch(new Request(URL_, { headers: { 'X-Session-ID': id } }), greet(mw));
    expect(await second.json()).toEqual({ session_id: id, visits: 2 });
    expect(second.headers.get('x-session-id')).toBe(id);
    expect(await mw.sessionStorage.get(id)).toEqual({ visits: 2 });
  });

  it('lets a second request with the header see the stored data via sessionOf and request.state', async () => {
    const mw = middleware();
    const first = await mw.dispatch(new Request(URL_), (request) => {
      mw.sessionOf(request)?.set('user', 'ann');
      return new Response('ok');
    });
    const id = first.headers.get('x-session-id') as string;
    expect(await mw.sessionStorage.get(id)).toEqual({ user: 'ann' });

    const request = new Request(URL_, { headers: { 'x-session-id': id } });
    let seen: unknown;
    const second = await mw.dispatch(request, (req) => {
      seen = { user: mw.sessionOf(req)?.get('user'), isNew: mw.sessionOf(req)?.isNew, sessionId: stateOf(req)?.sessionId };
      return new Response('ok');
    });
    expect(seen).toEqual({ user: 'ann', isNew: false, sessionId: id });
    expect(stateOf(request)?.sessionId).toBe(id);
    expect(mw.sessionOf(request)?.get('user')).toBe('ann');
    expect(second.headers.get('x-session-id')).toBe(id);
  });

  it('reads the session back from the cookie alone (browsers)', async () => {
    const mw = middleware();
    const first = await mw.dispatch(new Request(URL_), greet(mw));
    const cookie = (first.headers.getSetCookie()[0] as string).split(';')[0] as string;
    const second = await mw.dispatch(new Request(URL_, { headers: { cookie: `theme=dark; ${cookie}` } }), greet(mw));
    expect(((await second.json()) as { visits: number }).visits).toBe(2);
  });

  it('does not adopt a made-up id, and stores nothing for it', async () => {
    const mw = middleware();
    const forged = 'attacker-chosen-session-id';
    const response = await mw.dispatch(new Request(URL_, { headers: { 'x-session-id': forged } }), () => new Response('ok'));
    expect(response.headers.get('x-session-id')).not.toBe(forged);
    expect(response.headers.get('x-session-id')).toMatch(TOKEN_SHAPE);
    expect(await mw.sessionStorage.length()).toBe(0);
    expect(await mw.sessionStorage.load(forged)).toBeUndefined();
  });

  it('adds the headers to a Response.redirect() (immutable headers), keeping status and location', async () => {
    const mw = middleware();
    const response = await mw.dispatch(new Request(URL_), (request) => {
      mw.sessionOf(request)?.set('flash', 'saved');
      return Response.redirect('http://localhost/done', 303);
    });
    expect(response.status).toBe(303);
    expect(response.headers.get('location')).toBe('http://localhost/done');
    const id = response.headers.get('x-session-id');
    expect(id).toMatch(TOKEN_SHAPE);
    expect(response.headers.getSetCookie()).toHaveLength(1);
    expect(response.headers.getSetCookie()[0]).toContain(`session_id=${id};`);
    expect(await mw.sessionStorage.get(id as string)).toEqual({ flash: 'saved' });
  });

  it("keeps the application's own Set-Cookie headers", async () => {
    const mw = middleware();
    const response = await mw.dispatch(new Request(URL_), () => {
      const headers = new Headers();
      headers.append('set-cookie', 'theme=dark; Path=/');
      headers.append('set-cookie', 'lang=en; Path=/');
      return new Response('ok', { headers });
    });
    const cookies = response.headers.getSetCookie();
    expect(cookies).toHaveLength(3);
    expect(cookies[0]).toBe('theme=dark; Path=/');
    expect(cookies[1]).toBe('lang=en; Path=/');
    expect(cookies[2]).toMatch(/^session_id=[^;]+; Max-Age=3600; Path=\/; HttpOnly; SameSite=Lax$/);
    // No stray header named after the cookie (a flaw of the Python package).
    expect(response.headers.get('session_id')).toBeNull();
  });

  it("sets Secure for an https:// request with secure 'auto', and not for http://", async () => {
    const mw = middleware();
    const secure = await mw.dispatch(new Request('https://example.com/'), () => new Response('ok'));
    expect(secure.headers.getSetCookie()[0]).toMatch(/; Secure(;|$)/);
    const plain = await mw.dispatch(new Request('http://example.com/'), () => new Response('ok'));
    expect(plain.headers.getSetCookie()[0]).not.toContain('Secure');
  });

  it('rejects with a store-error SessionError when the store throws, without calling the handler', async () => {
    const mw = middleware({}, new ThrowingStore());
    const first = await middleware().dispatch(new Request(URL_), () => new Response('ok'));
    const id = first.headers.get('x-session-id') as string;
    let called = false;
    const error = await mw
      .dispatch(new Request(URL_, { headers: { 'x-session-id': id } }), () => {
        called = true;
        return new Response('ok');
      })
      .catch((err: unknown) => err);
    expect(SessionError.is(error)).toBe(true);
    expect((error as SessionError).kind).toBe('store-error');
    expect((error as SessionError).status).toBe(503);
    expect((error as SessionError).cause).toBeInstanceOf(Error);
    expect(called).toBe(false);
  });

  it('rejects with a store-error SessionError when the write at commit fails', async () => {
    const mw = middleware({}, new ReadOnlyStore());
    const error = await mw
      .dispatch(new Request(URL_), (request) => {
        mw.sessionOf(request)?.set('a', 1);
        return new Response('ok');
      })
      .catch((err: unknown) => err);
    expect(SessionError.is(error)).toBe(true);
    expect((error as SessionError).kind).toBe('store-error');
  });

  it('rejects with store-timeout within a bounded time when the store stalls', async () => {
    const mw = middleware({ storeTimeout: 0.2 }, new StallingStore());
    const id = (await middleware().dispatch(new Request(URL_), () => new Response('ok'))).headers.get('x-session-id') as string;
    const started = Date.now();
    const error = await mw
      .dispatch(new Request(URL_, { headers: { 'x-session-id': id } }), () => new Response('ok'))
      .catch((err: unknown) => err);
    const elapsed = Date.now() - started;
    expect(SessionError.is(error)).toBe(true);
    expect((error as SessionError).kind).toBe('store-timeout');
    expect((error as SessionError).status).toBe(503);
    expect(elapsed).toBeLessThan(1500);
  });

  it("serves the handler's response without session headers with onStoreError 'continue'", async () => {
    const mw = middleware({ onStoreError: 'continue' }, new ThrowingStore());
    const id = (await middleware().dispatch(new Request(URL_), () => new Response('ok'))).headers.get('x-session-id') as string;
    const request = new Request(URL_, { headers: { 'x-session-id': id } });
    let sessionInHandler: Session | undefined | null = null;
    const response = await mw.dispatch(request, (req) => {
      sessionInHandler = mw.sessionOf(req);
      return new Response('served', { status: 200 });
    });
    expect(response.status).toBe(200);
    expect(await response.text()).toBe('served');
    expect(response.headers.get('x-session-id')).toBeNull();
    expect(response.headers.getSetCookie()).toEqual([]);
    expect(sessionInHandler).toBeUndefined();
  });

  it('clears the cookie and sends no X-Session-ID after destroy; the next request starts over', async () => {
    const mw = middleware();
    const first = await mw.dispatch(new Request(URL_), greet(mw));
    const id = first.headers.get('x-session-id') as string;

    const logout = await mw.dispatch(new Request(URL_, { headers: { 'x-session-id': id } }), async (request) => {
      await mw.sessionOf(request)?.destroy();
      return new Response('bye');
    });
    expect(logout.headers.get('x-session-id')).toBeNull();
    expect(logout.headers.getSetCookie()).toEqual([
      'session_id=; Max-Age=0; Path=/; Expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly; SameSite=Lax',
    ]);
    expect(await mw.sessionStorage.get(id)).toBeUndefined();
    expect(await mw.sessionStorage.length()).toBe(0);

    const again = await mw.dispatch(new Request(URL_, { headers: { 'x-session-id': id } }), greet(mw));
    const body = (await again.json()) as { session_id: string; visits: number };
    expect(body.session_id).not.toBe(id);
    expect(body.visits).toBe(1);
    expect(again.headers.get('x-session-id')).toBe(body.session_id);
  });

  it('counts 50 concurrent increments on one session exactly', async () => {
    const mw = middleware();
    const first = await mw.dispatch(new Request(URL_), () => new Response('ok'));
    const id = first.headers.get('x-session-id') as string;
    const responses = await Promise.all(
      Array.from({ length: 50 }, () =>
        mw.dispatch(new Request(URL_, { headers: { 'x-session-id': id } }), async (request) => {
          const visits = await (mw.sessionOf(request) as Session).increment('visits');
          return Response.json({ visits });
        }),
      ),
    );
    const counts = await Promise.all(responses.map(async (r) => ((await r.json()) as { visits: number }).visits));
    expect(counts.sort((a, b) => a - b)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    expect(responses.every((r) => r.headers.get('x-session-id') === id)).toBe(true);
    expect(await mw.sessionStorage.get(id)).toEqual({ visits: 50 });
  });

  it('keeps concurrent writes of different keys (field-level)', async () => {
    const mw = middleware();
    const first = await mw.dispatch(new Request(URL_), (request) => {
      mw.sessionOf(request)?.set('seed', 0);
      return new Response('ok');
    });
    const id = first.headers.get('x-session-id') as string;
    await Promise.all(
      ['a', 'b', 'c', 'd'].map((key) =>
        mw.dispatch(new Request(URL_, { headers: { 'x-session-id': id } }), (request) => {
          mw.sessionOf(request)?.set(key, key.toUpperCase());
          return new Response('ok');
        }),
      ),
    );
    expect(await mw.sessionStorage.get(id)).toEqual({ seed: 0, a: 'A', b: 'B', c: 'C', d: 'D' });
  });

  it('has the write in the store once dispatch resolved (durability, slow store)', async () => {
    const store = new SlowStore();
    const mw = middleware({}, store);
    const response = await mw.dispatch(new Request(URL_), (request) => {
      mw.sessionOf(request)?.set('cart', ['apple']);
      return new Response('ok');
    });
    const id = response.headers.get('x-session-id') as string;
    // Read immediately: no waiting beyond the dispatch itself.
    expect(await store.get(id)).toEqual({ cart: ['apple'] });
  });

  it('has an in-place mutation in the store once dispatch resolved (slow store)', async () => {
    const store = new SlowStore();
    const mw = middleware({}, store);
    const first = await mw.dispatch(new Request(URL_), (request) => {
      mw.sessionOf(request)?.set('cart', ['apple']);
      return new Response('ok');
    });
    const id = first.headers.get('x-session-id') as string;
    await mw.dispatch(new Request(URL_, { headers: { 'x-session-id': id } }), (request) => {
      (mw.sessionOf(request)?.get('cart') as string[]).push('pear');
      return new Response('ok');
    });
    expect(await store.get(id)).toEqual({ cart: ['apple', 'pear'] });
  });

  it('propagates an error thrown by the handler and writes nothing', async () => {
    const mw = middleware();
    const request = new Request(URL_);
    await expect(
      mw.dispatch(request, () => {
        // `!`: a missing session must fail the test, not skip the write it is about.
        mw.sessionOf(request)!.set('a', 1);
        throw new Error('handler failed');
      }),
    ).rejects.toThrow('handler failed');
    expect(await mw.sessionStorage.length()).toBe(0);
  });

  it('respects turned-off transports and custom names', async () => {
    const mw = middleware({ sessionHeader: 'X-Sid', sessionCookie: false });
    const response = await mw.dispatch(new Request(URL_), () => new Response('ok'));
    expect(response.headers.get('x-sid')).toMatch(TOKEN_SHAPE);
    expect(response.headers.get('x-session-id')).toBeNull();
    expect(response.headers.getSetCookie()).toEqual([]);

    const cookieOnly = middleware({ sessionHeader: false, sessionCookie: 'sid' });
    const r2 = await cookieOnly.dispatch(new Request(URL_), () => new Response('ok'));
    expect(r2.headers.get('x-session-id')).toBeNull();
    expect(r2.headers.getSetCookie()[0]).toMatch(/^sid=/);
  });
});
