/**
 * `mw.express()` as a Connect-style handler in a plain `node:http` server (no Express):
 * `http.createServer((req, res) => handler(req, res, (err) => ...))`, via `listenHandler`.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { MemoryStore, SessionError, SessionMiddleware, type SessionMiddlewareOptions, type SessionState, type SessionStore } from '../../src/index.js';
import { SlowWriteStore, ThrowingStore } from '../support/failingStores.js';
import { ISSUED_ID, cookieLine, cookieValue, listenHandler, type Running } from '../support/http.js';

const SECRET = 'test-secret-of-at-least-32-characters!!';

function stateOf(req: IncomingMessage): SessionState | undefined {
  return (req as IncomingMessage & { state?: SessionState }).state;
}

/** Routes of the plain server, run after the session middleware called `next()`. */
async function route(mw: SessionMiddleware, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const session = mw.sessionOf(req);
  const url = new URL(req.url ?? '/', 'http://localhost');
  const json = (status: number, body: unknown): void => {
    res.statusCode = status;
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify(body));
  };
  if (!session) return json(500, { error: 'no session' });
  switch (url.pathname) {
    case '/inc': {
      const visits = await session.increment('visits');
      return json(200, { visits, stateId: stateOf(req)?.sessionId, sessionId: session.id });
    }
    case '/peek':
      return json(200, { stateId: stateOf(req)?.sessionId, data: session.toJSON() });
    case '/write-head': {
      // Explicit writeHead with a header object, then a streamed body.
      session.set('streamed', true);
      res.writeHead(201, { 'content-type': 'text/plain', 'set-cookie': 'app=1; Path=/' });
      res.write('part1,');
      res.end('part2');
      return;
    }
    case '/redirect':
      session.set('flag', 1);
      res.writeHead(302, { location: '/next' });
      res.end();
      return;
    default:
      return json(404, { error: 'not found' });
  }
}

interface Harness {
  store: SessionStore;
  mw: SessionMiddleware;
  server: Running;
  errors: unknown[];
  get(path: string, headers?: Record<string, string>): Promise<Response>;
}

const open: Array<() => Promise<void> | void> = [];

async function start(options: SessionMiddlewareOptions = {}, store: SessionStore = new MemoryStore()): Promise<Harness> {
  const mw = new SessionMiddleware({ secret: SECRET, sessionStorage: store, ...options });
  const handler = mw.express();
  const errors: unknown[] = [];
  const server = await listenHandler((req, res) =>
    handler(req, res, (err) => {
      if (err) {
        errors.push(err);
        res.statusCode = SessionError.is(err) ? err.status : 500;
        res.end(SessionError.is(err) ? err.kind : 'error');
        return;
      }
      route(mw, req, res).catch((error: unknown) => {
        errors.push(error);
        if (!res.headersSent) res.statusCode = 500;
        res.end();
      });
    }),
  );
  open.push(() => server.close());
  if (store instanceof MemoryStore) open.push(() => store.close());
  return { store, mw, server, errors, get: (path, headers = {}) => fetch(server.url + path, { headers, redirect: 'manual' }) };
}

afterEach(async () => {
  for (const close of open.splice(0)) await close();
});

function sid(response: Response): string {
  const id = response.headers.get('x-session-id');
  if (id === null) throw new Error(`no X-Session-ID on ${response.status} response`);
  return id;
}

describe('node:http with mw.express()', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await start();
  });

  it('runs the visits flow: id header and cookie, increment via sessionOf, req.state.sessionId set', async () => {
    const first = await h.get('/inc');
    expect(first.status).toBe(200);
    const id = sid(first);
    expect(id).toMatch(ISSUED_ID);
    expect(cookieLine(first, 'session_id')).toBe(`session_id=${id}; Max-Age=3600; Path=/; HttpOnly; SameSite=Lax`);
    const firstBody = (await first.json()) as { visits: number; stateId: string; sessionId: string };
    expect(firstBody).toEqual({ visits: 1, stateId: id, sessionId: id });

    const second = await h.get('/inc', { 'X-Session-ID': id });
    expect(sid(second)).toBe(id);
    expect(((await second.json()) as { visits: number }).visits).toBe(2);

    const third = await h.get('/inc', { cookie: `session_id=${id}` });
    // A cookie client gets no id header, and no cookie while its copy is fresh.
    expect(third.headers.get('x-session-id')).toBeNull();
    expect(cookieLine(third, 'session_id')).toBeUndefined();
    expect(((await third.json()) as { visits: number; sessionId: string })).toMatchObject({ visits: 3, sessionId: id });

    expect(await h.store.get(id)).toEqual({ visits: 3 });
    expect(h.errors).toEqual([]);
  });

  it('adds the id to a response written with an explicit writeHead, keeping its own Set-Cookie, and stores the write', async () => {
    const response = await h.get('/write-head');
    expect(response.status).toBe(201);
    expect(await response.text()).toBe('part1,part2');
    const id = sid(response);
    expect(cookieValue(response, 'session_id')).toBe(id);
    expect(response.headers.getSetCookie()).toContain('app=1; Path=/');
    expect(await h.store.get(id)).toEqual({ streamed: true });
  });

  it('a write before a redirect is in the store when the client has the 302, even with a slow store', async () => {
    const slowStore = new SlowWriteStore(200);
    const slow = await start({}, slowStore);
    const response = await slow.get('/redirect');
    expect(response.status).toBe(302);
    expect(await slowStore.get(sid(response))).toEqual({ flag: 1 });
  });

  it('a forged id is replaced and nothing is stored for a request that sets nothing', async () => {
    const forged = `${'Q'.repeat(22)}.${Math.floor(Date.now() / 1000).toString(36)}.${'Z'.repeat(24)}`;
    const response = await h.get('/peek', { 'X-Session-ID': forged });
    const body = (await response.json()) as { stateId: string; data: Record<string, unknown> };
    expect(sid(response)).not.toBe(forged);
    expect(body.stateId).toBe(sid(response));
    expect(body.data).toEqual({});
    expect(await h.store.length()).toBe(0);
  });

  it('a failing store reaches the next(err) callback as a 503 SessionError', async () => {
    const failing = await start({}, new ThrowingStore());
    const ok = await failing.get('/peek');
    const id = sid(ok);
    const response = await failing.get('/peek', { 'X-Session-ID': id });
    expect(response.status).toBe(503);
    expect(await response.text()).toBe('store-error');
    expect(response.headers.get('x-session-id')).toBeNull();
    expect(failing.errors).toHaveLength(1);
    expect(SessionError.is(failing.errors[0])).toBe(true);
  });

  it('rejects dispatch() on a bare IncomingMessage (no req.res) with unsupported-request', async () => {
    let caught: unknown;
    const server = await listenHandler((req, res) => {
      h.mw.dispatch(req, () => {}).then(
        () => res.end('accepted'),
        (error: unknown) => {
          caught = error;
          res.statusCode = 500;
          res.end('rejected');
        },
      );
    });
    open.push(() => server.close());
    const response = await fetch(server.url);
    expect(await response.text()).toBe('rejected');
    expect(SessionError.is(caught)).toBe(true);
    expect((caught as SessionError).kind).toBe('unsupported-request');
  });
});
