/**
 * Regression tests for reported defects, through real Express 5 apps on real sockets (and the
 * Web-standard dispatch for the streamed-body defect). One `describe` per defect.
 *
 * Options the older code did not know (`maxSessionBytes`, unknown keys) go through
 * {@link construct}, so this file type-checks against both versions and every test fails on
 * behaviour, not on compilation.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { afterEach, describe, expect, it } from '@jest/globals';
import express, { type ErrorRequestHandler, type Express } from 'express';
import { MemoryStore, SessionError, SessionMiddleware, type Session, type SessionMiddlewareOptions } from '../../src/index.js';
import { caught } from '../support/errors.js';
import { cookieLine, cookieValue, flipChar, listenApp, listenHandler, sleep, type Running } from '../support/http.js';

const SECRET = 'a-secret-of-at-least-32-characters-long!';
type Mount = 'dispatch' | 'express()';
const MOUNTS: Mount[] = ['dispatch', 'express()'];

/** Builds the middleware from options the type may not know (unknown keys, newer options). */
function construct(options: Record<string, unknown>): SessionMiddleware {
  return new SessionMiddleware(options as unknown as SessionMiddlewareOptions);
}

/** The error `new SessionMiddleware(options)` throws; fails the test when it does not throw. */
function constructError(options: Record<string, unknown>): SessionError {
  const error = caught(() => construct(options));
  expect(SessionError.is(error)).toBe(true);
  return error as SessionError;
}

/** An id signed with `secret` whose start is `startSeconds` (the documented token format, docs/design.md). */
function signedId(secret: string, startSeconds: number): string {
  const payload = `${randomBytes(16).toString('base64url')}.${startSeconds.toString(36)}`;
  return `${payload}.${createHmac('sha256', secret).update(payload).digest().subarray(0, 18).toString('base64url')}`;
}

/**
 * A browser-like cookie jar that honours `Max-Age` (and `Expires`): a cookie the server let run
 * out is gone, as in a browser, so a missing refresh shows as a lost session.
 */
class Jar {
  readonly #cookies = new Map<string, { value: string; expiresAt: number }>();

  constructor(readonly baseUrl: string) {}

  get(name: string): string | undefined {
    const cookie = this.#cookies.get(name);
    if (cookie === undefined) return undefined;
    if (cookie.expiresAt <= Date.now()) {
      this.#cookies.delete(name);
      return undefined;
    }
    return cookie.value;
  }

  header(): string {
    const pairs: string[] = [];
    for (const name of [...this.#cookies.keys()]) {
      const value = this.get(name);
      if (value !== undefined) pairs.push(`${name}=${value}`);
    }
    return pairs.join('; ');
  }

  async fetch(path: string, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    const cookie = this.header();
    if (cookie !== '') headers.set('cookie', cookie);
    const response = await fetch(this.baseUrl + path, { ...init, headers, redirect: 'manual' });
    this.take(response);
    return response;
  }

  take(response: Response): void {
    const now = Date.now();
    for (const line of response.headers.getSetCookie()) {
      const [pair, ...attributes] = line.split(';');
      const eq = pair!.indexOf('=');
      const name = pair!.slice(0, eq).trim();
      const value = pair!.slice(eq + 1).trim();
      let expiresAt = Infinity;
      let maxAgeSeen = false;
      for (const attribute of attributes) {
        const [key, ...rest] = attribute.split('=');
        const attributeValue = rest.join('=').trim();
        if (key!.trim().toLowerCase() === 'max-age') {
          maxAgeSeen = true;
          const seconds = Number(attributeValue);
          expiresAt = seconds <= 0 ? -Infinity : now + seconds * 1000;
        } else if (key!.trim().toLowerCase() === 'expires' && !maxAgeSeen) {
          const at = Date.parse(attributeValue);
          if (!Number.isNaN(at)) expiresAt = at;
        }
      }
      if (expiresAt <= now) this.#cookies.delete(name);
      else this.#cookies.set(name, { value, expiresAt });
    }
  }
}

interface PeekBody {
  id: string;
  data: Record<string, unknown>;
  isNew: boolean;
}

interface App {
  mw: SessionMiddleware;
  store: MemoryStore;
  server: Running;
  url: string;
  /** Kinds of the errors that reached Express's error handler. */
  errors: unknown[];
  get(path: string, headers?: Record<string, string>, method?: string): Promise<Response>;
}

function makeApp(mw: SessionMiddleware, mount: Mount, errors: unknown[]): Express {
  const app = express();
  if (mount === 'dispatch') app.use((req, res, next) => mw.dispatch(req, next));
  else app.use(mw.express());

  app.get('/peek', (req, res) => {
    res.json({ id: req.state.sessionId, data: req.session.toJSON(), isNew: req.session.isNew });
  });
  app.get('/nothing', (_req, res) => {
    res.send('ok');
  });
  app.get('/set', (req, res) => {
    for (const [key, value] of Object.entries(req.query)) req.session.set(key, value as string);
    res.json({ id: req.state.sessionId, data: req.session.toJSON() });
  });
  app.get('/poll', async (req, res) => {
    await sleep(300);
    res.json({ id: req.state.sessionId, x: req.session.get('x') ?? null });
  });
  app.post('/login', async (req, res) => {
    await req.session.regenerate();
    req.session.set('user', 'alice');
    res.json({ id: req.state.sessionId });
  });
  app.get('/destroy', async (req, res) => {
    await req.session.destroy();
    res.json({ destroyed: true });
  });
  app.get('/slow-write', async (req, res) => {
    await sleep(300);
    req.session.set('y', 1);
    res.json({ id: req.state.sessionId });
  });
  app.get('/inc', async (req, res) => {
    const n = await req.session.increment('n');
    res.json({ id: req.state.sessionId, n });
  });
  // The README's /greet: the store written directly, the session object never touched.
  app.get('/seed', async (req, res) => {
    const id = req.state.sessionId;
    const data = (await mw.sessionStorage.get(id)) ?? {};
    data.visits = ((data.visits as number) ?? 0) + 1;
    await mw.sessionStorage.set(id, data);
    res.json({ session_id: id, visits: data.visits });
  });
  app.post('/login-void', (req, res) => {
    void req.session.regenerate({ keepData: false });
    req.session.set('user', 'alice');
    res.json({ id: req.state.sessionId });
  });
  app.get('/destroy-void-set', (req, res) => {
    const id = req.state.sessionId;
    void req.session.destroy();
    req.session.set('x', 1);
    res.json({ id });
  });
  app.get('/set-inc', (req, res) => {
    req.session.set('n', 5);
    void req.session.increment('n');
    res.json({ id: req.state.sessionId });
  });
  app.post('/big', (req, res) => {
    try {
      req.session.set('big', 'x'.repeat(100_000));
    } catch (error) {
      // The same session still takes small values.
      req.session.set('small', 1);
      res.status(413).json({ kind: (error as SessionError).kind, id: req.state.sessionId });
      return;
    }
    res.json({ stored: true, id: req.state.sessionId });
  });
  app.get('/list-init', (req, res) => {
    req.session.set('list', ['a']);
    res.json({ id: req.state.sessionId });
  });
  app.get('/grow', (req, res) => {
    (req.session.get('list') as string[]).push('x'.repeat(100_000));
    res.json({ id: req.state.sessionId });
  });
  const onError: ErrorRequestHandler = (error, _req, res, _next) => {
    errors.push(SessionError.is(error) ? error.kind : String(error));
    res.status(500).json({ kind: SessionError.is(error) ? error.kind : 'other' });
  };
  app.use(onError);
  return app;
}

const running: Array<{ close(): unknown }> = [];

async function serve(mount: Mount, options: Record<string, unknown> = {}, store = new MemoryStore({ sweepIntervalSeconds: 0 })): Promise<App> {
  const mw = construct({ secret: SECRET, sessionStorage: store, ...options });
  const errors: unknown[] = [];
  const server = await listenApp(makeApp(mw, mount, errors));
  running.push(server, store);
  return {
    mw,
    store,
    server,
    url: server.url,
    errors,
    get: (path, headers = {}, method = 'GET') => fetch(server.url + path, { method, headers, redirect: 'manual' }),
  };
}

afterEach(async () => {
  for (const thing of running.splice(0).reverse()) await thing.close();
});

function sid(response: Response): string {
  const id = response.headers.get('x-session-id');
  if (id === null) throw new Error(`no X-Session-ID on the ${response.status} response`);
  return id;
}

/** Runs `step` every ~`everyMs` for `forMs` after `first`, collecting each response and body. */
async function every<T>(jar: Jar, first: string, path: string, everyMs: number, forMs: number): Promise<Array<{ response: Response; body: T }>> {
  const results: Array<{ response: Response; body: T }> = [];
  const started = Date.now();
  const firstResponse = await jar.fetch(first);
  results.push({ response: firstResponse, body: (await firstResponse.json()) as T });
  while (Date.now() - started < forMs) {
    await sleep(everyMs);
    const response = await jar.fetch(path);
    results.push({ response, body: (await response.json()) as T });
  }
  return results;
}

describe('Defect 1: a slow response resets the cookie to an id ended meanwhile (slow request during login); cookies only when the client copy must change, refreshed before they run out', () => {
  describe.each(MOUNTS)('mounted with %s', (mount) => {
    it('a slow read-only request in flight during login answers without Set-Cookie or X-Session-ID; the jar keeps the new id and the user stays logged in', async () => {
      const app = await serve(mount);
      const jar = new Jar(app.url);
      await jar.fetch('/set?x=1');
      const a = jar.get('session_id')!;
      expect(a).toBeDefined();

      const poll = jar.fetch('/poll');
      await sleep(100);
      const login = await jar.fetch('/login', { method: 'POST' });
      expect(login.status).toBe(200);
      const b = jar.get('session_id')!;
      expect(b).toBeDefined();
      expect(b).not.toBe(a);

      const polled = await poll;
      expect(polled.status).toBe(200);
      expect(((await polled.json()) as { x: unknown }).x).toBe('1');
      expect(cookieLine(polled, 'session_id')).toBeUndefined();
      expect(polled.headers.get('x-session-id')).toBeNull();
      expect(jar.get('session_id')).toBe(b);

      const after = (await (await jar.fetch('/peek')).json()) as PeekBody;
      expect(after.id).toBe(b);
      expect(after.data.user).toBe('alice');
    });

    it('a header client: the slow response carries neither the ended id in X-Session-ID nor a cookie for it', async () => {
      const app = await serve(mount);
      const a = sid(await app.get('/set?x=1'));
      const poll = app.get('/poll', { 'X-Session-ID': a });
      await sleep(100);
      const login = await app.get('/login', { 'X-Session-ID': a }, 'POST');
      const b = sid(login);
      expect(b).not.toBe(a);
      const polled = await poll;
      expect(polled.status).toBe(200);
      expect(polled.headers.get('x-session-id')).toBeNull();
      expect(cookieValue(polled, 'session_id')).toBeUndefined();
    });

    it('an unchanged read-only request by a cookie client gets no Set-Cookie', async () => {
      const app = await serve(mount);
      const jar = new Jar(app.url);
      await jar.fetch('/set?x=1');
      const response = await jar.fetch('/peek');
      expect(((await response.json()) as PeekBody).data).toEqual({ x: '1' });
      expect(cookieLine(response, 'session_id')).toBeUndefined();
      expect(response.headers.getSetCookie()).toEqual([]);
    });

    it('a new session that stores nothing gets its cookie on the first response', async () => {
      const app = await serve(mount);
      const response = await app.get('/nothing');
      const id = cookieValue(response, 'session_id');
      expect(id).toBeTruthy();
      expect(cookieLine(response, 'session_id')).toMatch(/; Max-Age=3600;/);
      expect(await app.store.length()).toBe(0);
      // ...and the id works on the next request.
      const next = (await (await app.get('/peek', { cookie: `session_id=${id}` })).json()) as PeekBody;
      expect(next.id).toBe(id);
    });

    it('a destroyed session clears the cookie (Max-Age=0) even for a client that used only X-Session-ID', async () => {
      const app = await serve(mount);
      const a = sid(await app.get('/set?x=1'));
      const response = await app.get('/destroy', { 'X-Session-ID': a });
      expect(response.status).toBe(200);
      expect(cookieLine(response, 'session_id')).toMatch(/^session_id=; Max-Age=0(;|$)/);
      expect(response.headers.get('x-session-id')).toBeNull();
    });

    it('a refresh is not sent for an id destroyed meanwhile by another request of this instance (touchAfter 0: every write refreshes)', async () => {
      const app = await serve(mount, { maxAge: 2, touchAfter: 0 });
      const jar = new Jar(app.url);
      await jar.fetch('/set?x=1');
      const a = jar.get('session_id')!;
      // The refresh path is live: a write refreshes the cookie.
      const control = await jar.fetch('/set?z=1');
      expect(cookieValue(control, 'session_id')).toBe(a);

      const slow = jar.fetch('/slow-write');
      await sleep(100);
      const destroyed = await jar.fetch('/destroy');
      expect(cookieLine(destroyed, 'session_id')).toMatch(/^session_id=; Max-Age=0/);
      const response = await slow;
      expect(response.status).toBe(200);
      expect(cookieValue(response, 'session_id')).not.toBe(a);
      expect(response.headers.get('x-session-id')).toBeNull();
      expect(jar.get('session_id')).toBeUndefined();
      expect(await app.store.get(a)).toBeUndefined();
    });

    it('a refresh is not sent for an id destroyed meanwhile through another instance sharing the store', async () => {
      const store = new MemoryStore({ sweepIntervalSeconds: 0 });
      const one = await serve(mount, { maxAge: 2, touchAfter: 0 }, store);
      const two = await serve(mount, { maxAge: 2, touchAfter: 0 }, store);
      const first = await one.get('/set?x=1');
      const a = cookieValue(first, 'session_id')!;
      const cookie = { cookie: `session_id=${a}` };
      expect(cookieValue(await one.get('/set?z=1', cookie), 'session_id')).toBe(a);

      const slow = one.get('/slow-write', cookie);
      await sleep(100);
      const destroyed = await two.get('/destroy', cookie);
      expect(cookieLine(destroyed, 'session_id')).toMatch(/^session_id=; Max-Age=0/);
      const response = await slow;
      expect(response.status).toBe(200);
      expect(cookieValue(response, 'session_id')).not.toBe(a);
      expect(await store.get(a)).toBeUndefined();
    });
  });

  it('refresh: with maxAge 2 and touchAfter 1 a cookie client reading (and one counting) every ~400 ms for ~5 s keeps its session and gets refreshing cookies', async () => {
    const loops = MOUNTS.flatMap((mount) => [
      (async () => {
        const app = await serve(mount, { maxAge: 2, touchAfter: 1 });
        const jar = new Jar(app.url);
        const results = await every<PeekBody>(jar, '/set?x=1', '/peek', 400, 5000);
        return { mount, kind: 'read', jar, results };
      })(),
      (async () => {
        const app = await serve(mount, { maxAge: 2, touchAfter: 1 });
        const jar = new Jar(app.url);
        const results = await every<{ id: string; n: number }>(jar, '/inc', '/inc', 400, 5000);
        return { mount, kind: 'inc', jar, results };
      })(),
    ]);
    for (const { mount, kind, jar, results } of await Promise.all(loops)) {
      const label = `${mount} ${kind}`;
      const id = cookieValue(results[0]!.response, 'session_id');
      expect({ label, id: typeof id }).toEqual({ label, id: 'string' });
      expect(results.length).toBeGreaterThanOrEqual(10);
      results.forEach(({ body }, i) => {
        const seen = body as { id: string; n?: number; data?: Record<string, unknown> };
        expect({ label, i, id: seen.id }).toEqual({ label, i, id });
        if (kind === 'read') expect({ label, i, data: seen.data }).toEqual({ label, i, data: { x: '1' } });
        else expect({ label, i, n: seen.n }).toEqual({ label, i, n: i + 1 });
      });
      const refreshes = results.slice(1).filter(({ response }) => cookieValue(response, 'session_id') === id).length;
      expect({ label, refreshed: refreshes >= 1 }).toEqual({ label, refreshed: true });
      expect(jar.get('session_id')).toBe(id);
    }
  });

  it('refresh: the README /greet route that writes the store directly keeps counting for ~5 s with maxAge 2, cookie jar only', async () => {
    const loops = MOUNTS.map(async (mount) => {
      const app = await serve(mount, { maxAge: 2, touchAfter: 1 });
      const jar = new Jar(app.url);
      return { mount, jar, results: await every<{ session_id: string; visits: number }>(jar, '/seed', '/seed', 400, 5000) };
    });
    for (const { mount, jar, results } of await Promise.all(loops)) {
      const id = results[0]!.body.session_id;
      expect(cookieValue(results[0]!.response, 'session_id')).toBe(id);
      expect(results.length).toBeGreaterThanOrEqual(10);
      results.forEach(({ body }, i) => expect({ mount, i, ...body }).toEqual({ mount, i, session_id: id, visits: i + 1 }));
      const refreshes = results.slice(1).filter(({ response }) => cookieValue(response, 'session_id') === id).length;
      expect({ mount, refreshed: refreshes >= 1 }).toEqual({ mount, refreshed: true });
      expect(jar.get('session_id')).toBe(id);
    }
  });
});

describe('Defect 2: X-Session-ID undoes HttpOnly (the id header goes to clients that presented a session cookie)', () => {
  describe.each(MOUNTS)('mounted with %s', (mount) => {
    it('a valid session cookie: no X-Session-ID', async () => {
      const app = await serve(mount);
      const a = cookieValue(await app.get('/set?x=1'), 'session_id')!;
      const response = await app.get('/peek', { cookie: `session_id=${a}` });
      expect(((await response.json()) as PeekBody).id).toBe(a);
      expect(response.headers.get('x-session-id')).toBeNull();
    });

    it('a session cookie plus a header id a page script made up: the new id goes to the cookie only', async () => {
      const app = await serve(mount);
      const a = cookieValue(await app.get('/set?x=1'), 'session_id')!;
      const response = await app.get('/peek', { cookie: `session_id=${a}`, 'X-Session-ID': 'made-up-by-a-page-script' });
      const body = (await response.json()) as PeekBody;
      expect(body.id).not.toBe('made-up-by-a-page-script');
      expect(cookieValue(response, 'session_id')).toBe(body.id);
      expect(response.headers.get('x-session-id')).toBeNull();
    });

    it('a forged (tampered) cookie is replaced by a new id in Set-Cookie only', async () => {
      const app = await serve(mount);
      const a = cookieValue(await app.get('/set?x=1'), 'session_id')!;
      const forged = flipChar(a, a.length - 1);
      const response = await app.get('/peek', { cookie: `session_id=${forged}` });
      const body = (await response.json()) as PeekBody;
      expect(body.id).not.toBe(forged);
      expect(body.id).not.toBe(a);
      expect(cookieValue(response, 'session_id')).toBe(body.id);
      expect(response.headers.get('x-session-id')).toBeNull();
    });

    it('an expired cookie (signed, started before maxAge) is replaced by a new id in Set-Cookie only', async () => {
      const app = await serve(mount);
      const now = Math.floor(Date.now() / 1000);
      // The crafted token is right: one that starts now is adopted.
      const fresh = signedId(SECRET, now);
      expect(((await (await app.get('/peek', { cookie: `session_id=${fresh}` })).json()) as PeekBody).id).toBe(fresh);

      const expired = signedId(SECRET, now - 7200);
      const response = await app.get('/peek', { cookie: `session_id=${expired}` });
      const body = (await response.json()) as PeekBody;
      expect(body.id).not.toBe(expired);
      expect(cookieValue(response, 'session_id')).toBe(body.id);
      expect(response.headers.get('x-session-id')).toBeNull();
    });

    it('regenerate() at login for a cookie client: the new id only in Set-Cookie', async () => {
      const app = await serve(mount);
      const jar = new Jar(app.url);
      await jar.fetch('/set?x=1');
      const a = jar.get('session_id');
      const login = await jar.fetch('/login', { method: 'POST' });
      const b = ((await login.json()) as { id: string }).id;
      expect(b).not.toBe(a);
      expect(cookieValue(login, 'session_id')).toBe(b);
      expect(login.headers.get('x-session-id')).toBeNull();
    });

    it('a client that used X-Session-ID gets it back, also the new id after login', async () => {
      const app = await serve(mount);
      const a = sid(await app.get('/set?x=1'));
      const peek = await app.get('/peek', { 'X-Session-ID': a });
      expect(sid(peek)).toBe(a);
      const login = await app.get('/login', { 'X-Session-ID': a }, 'POST');
      const b = ((await login.json()) as { id: string }).id;
      expect(b).not.toBe(a);
      expect(sid(login)).toBe(b);
    });

    it.each([
      ['no cookie', undefined],
      ['a malformed cookie `session_id=a;b`', 'session_id=a;b'],
      ['a malformed cookie `session_id=%%%`', 'session_id=%%%'],
    ])('a client that presented no usable id (%s) gets X-Session-ID', async (_label, cookie) => {
      const app = await serve(mount);
      const response = await app.get('/peek', cookie === undefined ? {} : { cookie });
      const body = (await response.json()) as PeekBody;
      expect(sid(response)).toBe(body.id);
      expect(cookieValue(response, 'session_id')).toBe(body.id);
    });
  });
});

describe('Defect 3: un-awaited regenerate/destroy/increment apply out of call order', () => {
  describe.each(MOUNTS)('mounted with %s', (mount) => {
    it('`void regenerate({ keepData: false }); set("user", "alice")` stores { user: "alice" } under the new id; the old id is refused', async () => {
      const app = await serve(mount);
      const a = sid(await app.get('/set?x=1'));
      const response = await app.get('/login-void', { 'X-Session-ID': a }, 'POST');
      expect(response.status).toBe(200);
      const b = sid(response);
      expect(((await response.json()) as { id: string }).id).toBe(b);
      expect(b).not.toBe(a);
      expect(await app.store.get(b)).toEqual({ user: 'alice' });
      expect(await app.store.get(a)).toBeUndefined();
      const again = (await (await app.get('/peek', { 'X-Session-ID': a })).json()) as PeekBody;
      expect(again.id).not.toBe(a);
      expect(again.data).toEqual({});
    });

    it('`void destroy(); set("x", 1)` stores nothing for the id (a stored session and a new one)', async () => {
      const app = await serve(mount);
      const a = sid(await app.get('/set?a=1'));
      const stored = await app.get('/destroy-void-set', { 'X-Session-ID': a });
      expect(stored.status).toBe(200);
      expect(cookieLine(stored, 'session_id')).toMatch(/^session_id=; Max-Age=0/);
      expect(await app.store.get(a)).toBeUndefined();
      expect((await app.store.load(a))?.state).toBe('destroyed');

      const fresh = await app.get('/destroy-void-set');
      const id = ((await fresh.json()) as { id: string }).id;
      expect(await app.store.get(id)).toBeUndefined();
      expect(await app.store.length()).toBe(0);
    });

    it('`set("n", 5); void increment("n")` leaves n = 6 in the store', async () => {
      const app = await serve(mount);
      const response = await app.get('/set-inc');
      const id = sid(response);
      expect(await app.store.get(id)).toEqual({ n: 6 });
    });
  });
});

describe('Defect 5 (Express): changes after the response ended are stored or refused, never dropped silently', () => {
  it.each(MOUNTS)('a change in the same tick as res.json() is stored, one a tick later is refused with session-closed (%s)', async (mount) => {
    const store = new MemoryStore({ sweepIntervalSeconds: 0 });
    const mw = construct({ secret: SECRET, sessionStorage: store });
    const app = express();
    if (mount === 'dispatch') app.use((req, res, next) => mw.dispatch(req, next));
    else app.use(mw.express());
    const late: unknown[] = [];
    let settled!: () => void;
    const done = new Promise<void>((resolve) => (settled = resolve));
    app.get('/after', (req, res) => {
      // Nothing to store when the response ends (not held): the same-tick change still lands.
      res.json({ id: req.state.sessionId });
      req.session.set('sameTick', true);
      setTimeout(() => {
        try {
          req.session.set('later', true);
        } catch (error) {
          late.push(SessionError.is(error) ? error.kind : error);
        }
        settled();
      }, 50);
    });
    const server = await listenApp(app);
    running.push(server, store);
    const response = await fetch(`${server.url}/after`);
    const { id } = (await response.json()) as { id: string };
    await done;
    expect(await store.get(id)).toEqual({ sameTick: true });
    expect(late).toEqual(['session-closed']);
  });
});

describe('Defect 5: the Web dispatch drops session writes made while a streamed body is produced', () => {
  const stores: MemoryStore[] = [];
  afterEach(() => {
    for (const store of stores.splice(0)) store.close();
  });
  const make = (): { mw: SessionMiddleware; store: MemoryStore } => {
    const store = new MemoryStore({ sweepIntervalSeconds: 0 });
    stores.push(store);
    return { mw: construct({ secret: SECRET, sessionStorage: store }), store };
  };
  const encode = (text: string): Uint8Array => new TextEncoder().encode(text);

  it('a write made while the body streams records the cookie the client really holds, so the next request refreshes it', async () => {
    const store = new MemoryStore({ sweepIntervalSeconds: 0 });
    stores.push(store);
    const mw = construct({ secret: SECRET, sessionStorage: store, maxAge: 2, touchAfter: 1 });
    const first = await mw.dispatch(new Request('http://x/'), () => new Response('new'));
    const id = sid(first);
    const cookie = `session_id=${cookieValue(first, 'session_id')}`;
    expect(cookieLine(first, 'session_id')).toContain('Max-Age=2');
    const issuedAt = Date.now();
    // The id carries its start in whole seconds: wait until it is 1.1 s old by that clock, so a
    // refresh is due (lag >= touchAfter) while the unstored id is still valid (< maxAge).
    await sleep(Math.floor(issuedAt / 1000) * 1000 + 1100 - Date.now());
    const streamed = await mw.dispatch(new Request('http://x/', { headers: { cookie } }), async (req) => {
      const s = mw.sessionOf(req)!;
      // Pulled only when the body is read, after dispatch returned: the write surely follows the headers.
      return new Response(
        new ReadableStream<Uint8Array>(
          {
            pull(c) {
              s.set('x', 1);
              c.enqueue(encode('a'));
              c.close();
            },
          },
          { highWaterMark: 0 },
        ),
      );
    });
    // The headers went out before the write: this response cannot carry a refreshed cookie...
    expect(cookieLine(streamed, 'session_id')).toBeUndefined();
    expect(await streamed.text()).toBe('a');
    expect(await store.get(id)).toEqual({ x: 1 });
    // ...so the store must still say the client's cookie runs out about 2 s after it was issued,
    const recorded = (await store.load(id)) as { data: Record<string, unknown> };
    expect(recorded.data['__session.cookieExpiresAt']).toBeLessThanOrEqual(issuedAt + 2000 + 50);
    // and the next request refreshes it before it runs out.
    const next = await mw.dispatch(new Request('http://x/', { headers: { cookie } }), () => new Response('next'));
    expect(cookieValue(next, 'session_id')).toBe(id);
  });

  it('a write made while the body streams is stored once the body is read', async () => {
    const { mw, store } = make();
    const response = await mw.dispatch(new Request('http://x/'), async (req) => {
      const s = mw.sessionOf(req)!;
      return new Response(
        new ReadableStream<Uint8Array>({
          async start(c) {
            c.enqueue(encode('a'));
            await sleep(50);
            s.set('streamed', true);
            c.enqueue(encode('b'));
            c.close();
          },
        }),
      );
    });
    const id = sid(response);
    expect(await response.text()).toBe('ab');
    expect(await store.get(id)).toEqual({ streamed: true });
  });

  it('a change after the body is complete throws a session-closed SessionError', async () => {
    const { mw, store } = make();
    let session: Session | undefined;
    const response = await mw.dispatch(new Request('http://x/'), async (req) => {
      session = mw.sessionOf(req)!;
      session.set('before', 1);
      return new Response(
        new ReadableStream<Uint8Array>({
          start(c) {
            c.enqueue(encode('done'));
            c.close();
          },
        }),
      );
    });
    const id = sid(response);
    expect(await response.text()).toBe('done');
    const error = caught(() => session!.set('late', 1));
    expect(SessionError.is(error)).toBe(true);
    expect((error as SessionError).kind).toBe('session-closed');
    expect(await store.get(id)).toEqual({ before: 1 });
  });

  /** `promise`, or a rejection naming `what` after `ms`: a stalled body fails fast instead of at the jest timeout. */
  const within = <T,>(promise: Promise<T>, ms: number, what: string): Promise<T> => {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} did not complete within ${ms} ms`)), ms);
    });
    return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
  };

  /** Serves `mw.dispatch(request, handler)` over a real socket, streaming the Web body out. */
  const bridge = async (mw: SessionMiddleware, handler: (req: Request) => Promise<Response>): Promise<Running> => {
    const server = await listenHandler((req, res) => {
      const headers = new Headers();
      if (typeof req.headers.cookie === 'string') headers.set('cookie', req.headers.cookie);
      void mw.dispatch(new Request(`http://127.0.0.1${req.url}`, { headers }), handler).then((response) => {
        const out: Record<string, string | string[]> = {};
        response.headers.forEach((value, name) => {
          if (name !== 'set-cookie') out[name] = value;
        });
        const cookies = response.headers.getSetCookie();
        if (cookies.length > 0) out['set-cookie'] = cookies;
        res.writeHead(response.status, out);
        Readable.fromWeb(response.body! as import('node:stream/web').ReadableStream<Uint8Array>).pipe(res);
      });
    });
    running.push(server);
    return server;
  };

  it.each([
    ['several chunks, the last of several bytes', ['hello ', 'wörld', ' ', 'x'.repeat(1000), '!!']],
    ['one chunk', ['hello wörld']],
    ['several chunks, the last of one byte', ['hello ', 'wörld', '!']],
    ['one-byte chunks', ['a', 'b', 'c']],
  ])('a streamed body with Content-Length arrives whole and intact (%s), read directly and over a socket', async (_label, chunks) => {
    const { mw, store } = make();
    const expected = encode(chunks.join(''));
    const handler = async (req: Request): Promise<Response> => {
      const s = mw.sessionOf(req)!;
      return new Response(
        new ReadableStream<Uint8Array>({
          async start(c) {
            for (const chunk of chunks) {
              c.enqueue(encode(chunk));
              await sleep(5);
            }
            s.set('sent', true);
            c.close();
          },
        }),
        { headers: { 'content-type': 'text/plain; charset=utf-8', 'content-length': String(expected.byteLength) } },
      );
    };

    const direct = await mw.dispatch(new Request('http://x/'), handler);
    expect(direct.headers.get('content-length')).toBe(String(expected.byteLength));
    expect(new Uint8Array(await within(direct.arrayBuffer(), 2000, 'reading the dispatched body'))).toEqual(expected);
    expect(await store.get(sid(direct))).toEqual({ sent: true });

    const server = await bridge(mw, handler);
    const overSocket = await fetch(server.url + '/');
    expect(overSocket.headers.get('content-length')).toBe(String(expected.byteLength));
    expect(new Uint8Array(await within(overSocket.arrayBuffer(), 2000, 'reading the body over the socket'))).toEqual(expected);
    expect(await store.get(cookieValue(overSocket, 'session_id')!)).toEqual({ sent: true });
  });
});

describe('Defect 6: unknown, misspelt and unbounded options are silently accepted', () => {
  it.each([
    [{ store: new MemoryStore({ sweepIntervalSeconds: 0 }) }, 'store', 'sessionStorage'],
    [{ name: 'sid' }, 'name', 'sessionCookie'],
    [{ resave: false }, 'resave', 'resave'],
    [{ saveUninitialized: true }, 'saveUninitialized', 'saveUninitialized'],
    [{ rolling: true }, 'rolling', 'touchAfter'],
    [{ cookie: { maxAge: 1000 } }, 'cookie.maxAge', 'maxAge'],
    [{ maxage: 10 }, 'maxage', 'maxAge'],
  ])('%j is refused as invalid-option naming %s, the message pointing to %s', (options, option, names) => {
    const error = constructError({ secret: SECRET, ...options });
    expect(error.kind).toBe('invalid-option');
    expect(error.option).toBe(option);
    expect(error.message).toContain(option.replace(/^cookie\./, ''));
    expect(error.message).toContain(names);
  });

  it.each([1e21, Number.MAX_VALUE, 1e13, 0.001, 0.5, 400 * 24 * 3600 + 1])('maxAge %p is refused as invalid-option naming maxAge', (maxAge) => {
    const error = constructError({ secret: SECRET, maxAge });
    expect(error.kind).toBe('invalid-option');
    expect(error.option).toBe('maxAge');
    expect(error.message).toContain('maxAge');
  });

  it('maxAge 400 days is accepted', () => {
    expect(construct({ secret: SECRET, maxAge: 400 * 24 * 3600 }).maxAge).toBe(400 * 24 * 3600);
  });

  it('maxAge 1 is accepted and its first cookie says Max-Age=1', async () => {
    const app = await serve('dispatch', { maxAge: 1 });
    const response = await app.get('/nothing');
    expect(cookieLine(response, 'session_id')).toMatch(/; Max-Age=1;/);
  });

  it.each([
    ['x', 'x'],
    ['16 characters', 'sixteen-chars!!!'],
    ['31 characters', 'thirty-one-characters-secret-01'],
    ['a list with one short secret', [SECRET, 'short-but-in-a-list']],
  ])('a secret shorter than 32 characters (%s) is refused as invalid-option naming secret, without the secret in the message', (_label, secret) => {
    const error = constructError({ secret });
    expect(error.kind).toBe('invalid-option');
    expect(error.option).toBe('secret');
    expect(error.message).toContain('secret');
    const short = Array.isArray(secret) ? secret[1]! : secret;
    if (short.length > 1) expect(error.message).not.toContain(short);
    expect(error.message).not.toContain(JSON.stringify(short));
  });

  it('a secret of exactly 32 characters is accepted', () => {
    const secret = 'exactly-thirty-two-characters-00';
    expect(secret).toHaveLength(32);
    expect(() => construct({ secret })).not.toThrow();
  });
});

describe('Defect 7: cookie tossing (a planted session cookie ahead of the real one takes over)', () => {
  describe.each(MOUNTS)('mounted with %s', (mount) => {
    it.each([
      ['a forged signed-looking id', (a: string) => flipChar(a, a.length - 1)],
      ['a well-formed id the server never issued', () => 'planted-by-a-sibling-subdomain-0001'],
      ['garbage', () => 'garbage!!'],
    ])('%s planted first: the client keeps session A', async (_label, planted) => {
      const app = await serve(mount);
      const a = cookieValue(await app.get('/set?who=A'), 'session_id')!;
      const response = await app.get('/peek', { cookie: `session_id=${planted(a)}; session_id=${a}` });
      const body = (await response.json()) as PeekBody;
      expect(body.id).toBe(a);
      expect(body.data).toEqual({ who: 'A' });
      expect(cookieLine(response, 'session_id')).toBeUndefined();
      expect(response.headers.get('x-session-id')).toBeNull();
    });

    it('a freshly issued id that stored nothing, planted first, loses to the session holding data', async () => {
      const app = await serve(mount);
      const a = cookieValue(await app.get('/set?who=A'), 'session_id')!;
      // Anyone can obtain an issued id: one request without a cookie.
      const planted = cookieValue(await app.get('/peek'), 'session_id')!;
      expect(planted).not.toBe(a);
      const body = (await (await app.get('/peek', { cookie: `session_id=${planted}; session_id=${a}` })).json()) as PeekBody;
      expect(body).toMatchObject({ id: a, data: { who: 'A' } });
    });

    it('with two valid ids, the first wins', async () => {
      const app = await serve(mount);
      const a = cookieValue(await app.get('/set?who=A'), 'session_id')!;
      const b = cookieValue(await app.get('/set?who=B'), 'session_id')!;
      const ba = (await (await app.get('/peek', { cookie: `session_id=${b}; session_id=${a}` })).json()) as PeekBody;
      expect(ba).toMatchObject({ id: b, data: { who: 'B' } });
      const ab = (await (await app.get('/peek', { cookie: `session_id=${a}; session_id=${b}` })).json()) as PeekBody;
      expect(ab).toMatchObject({ id: a, data: { who: 'A' } });
    });
  });
});

describe('Defect 8: sessions grow without bound (maxSessionBytes)', () => {
  describe.each(MOUNTS)('mounted with %s', (mount) => {
    it('by default a 100 kB value throws too-large synchronously, nothing of it is stored, small values still work', async () => {
      const app = await serve(mount);
      const a = sid(await app.get('/set?x=1'));
      const response = await app.get('/big', { 'X-Session-ID': a }, 'POST');
      expect(response.status).toBe(413);
      expect(await response.json()).toEqual({ kind: 'too-large', id: a });
      expect(await app.store.get(a)).toEqual({ x: '1', small: 1 });
      const later = await app.get('/set?y=2', { 'X-Session-ID': a });
      expect(later.status).toBe(200);
      expect(await app.store.get(a)).toEqual({ x: '1', small: 1, y: '2' });
    });

    it('with maxSessionBytes 200000 the same value is accepted', async () => {
      const app = await serve(mount, { maxSessionBytes: 200_000 });
      const response = await app.get('/big', {}, 'POST');
      expect(response.status).toBe(200);
      const id = sid(response);
      expect(((await app.store.get(id))?.big as string).length).toBe(100_000);
    });

    it('an object from get() grown in place past the bound fails the request (500, too-large) and the store keeps the previous value', async () => {
      const app = await serve(mount);
      const a = sid(await app.get('/list-init'));
      const response = await app.get('/grow', { 'X-Session-ID': a });
      expect(response.status).toBe(500);
      expect(app.errors).toEqual(['too-large']);
      expect(await app.store.get(a)).toEqual({ list: ['a'] });
    });
  });
});
