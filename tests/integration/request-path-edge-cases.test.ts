/**
 * Edge cases of the request path (SessionEngine, cookie, options, adapters) found by an
 * adversarial review; each test failed before its fix. Real servers on real sockets,
 * real Web Request/Response objects, real MemoryStores (SlowWriteStore is a MemoryStore whose
 * writes take a little while, so that "while the commit is pending" is a real window).
 */
import type { ServerResponse } from 'node:http';
import { describe, expect, it } from '@jest/globals';
import express from 'express';
import { MemoryStore, SessionError, SessionMiddleware } from '../../src/index.js';
import { SlowWriteStore } from '../support/failingStores.js';
import { closeAfterEach } from '../support/cleanup.js';
import { cookieValue, listenApp, listenHandler, sleep } from '../support/http.js';

const SECRET = 'test-secret-of-at-least-32-characters!!';

const { cleanup, track, serve } = closeAfterEach();

function memoryStore(): MemoryStore {
  return track(new MemoryStore({ sweepIntervalSeconds: 0 }));
}

function slowStore(delayMs: number): SlowWriteStore {
  return track(new SlowWriteStore(delayMs));
}

/** Records 'error' events of a response (without a listener Node would crash the process). */
function recordErrors(res: ServerResponse, into: unknown[]): void {
  res.on('error', (error) => into.push(error));
}

describe('node adapter: the held res.end()', () => {
  it('a second res.end() while the commit is pending is ignored: the first body arrives, after the write', async () => {
    // Plain Node: res.end('first'); res.end() sends "first" (the second call is a no-op).
    const store = slowStore(150);
    const mw = new SessionMiddleware({ secret: SECRET, sessionStorage: store });
    const handle = mw.express();
    const resErrors: unknown[] = [];
    const server = await serve(
      listenHandler((req, res) =>
        handle(req, res, () => {
          recordErrors(res, resErrors);
          mw.sessionOf(req)!.set('step', 2);
          res.end('first');
          res.end(); // e.g. a `finally { if (!res.writableEnded) res.end() }`
        }),
      ),
    );
    const response = await fetch(server.url);
    const body = await response.text();
    const storedWhenAnswered = await store.get(response.headers.get('x-session-id') ?? 'none');
    await sleep(250); // let the held end run
    expect(body).toBe('first');
    expect(storedWhenAnswered).toEqual({ step: 2 });
    expect(resErrors).toEqual([]);
  });

  it('an error after res.json() in an async Express handler does not replace the 200 nor crash', async () => {
    // Plain Express: the client gets the 200; the error handler sees headersSent and stays out.
    const store = slowStore(150);
    const mw = new SessionMiddleware({ secret: SECRET, sessionStorage: store });
    const app = express();
    const resErrors: unknown[] = [];
    app.use((_req, res, next) => {
      recordErrors(res, resErrors);
      next();
    });
    app.use(mw.express());
    app.get('/', async (req, res) => {
      req.session.set('step', 2);
      res.json({ ok: true });
      await Promise.reject(new Error('audit log failed')); // work after the answer that fails
    });
    app.use((_err: unknown, _req: express.Request, res: express.Response, next: express.NextFunction) => {
      if (res.headersSent) return;
      res.status(500).send('error');
    });
    const server = await serve(listenApp(app));
    const response = await fetch(server.url);
    const body = await response.text();
    await sleep(250);
    expect(response.status).toBe(200);
    expect(body).toBe('{"ok":true}');
    expect(await store.get(response.headers.get('x-session-id') ?? 'none')).toEqual({ step: 2 });
    expect(resErrors).toEqual([]);
  });

  it('res.end() with an invalid chunk becomes a 500 through next(err), not an unhandled rejection or a hang', async () => {
    // Plain Express: res.end(42) throws ERR_INVALID_ARG_TYPE in the handler, and the client gets a 500.
    const store = memoryStore();
    const mw = new SessionMiddleware({ secret: SECRET, sessionStorage: store });
    const app = express();
    app.use(mw.express());
    app.get('/', (_req, res) => {
      (res.end as (chunk: unknown) => void)(42);
    });
    const server = await serve(listenApp(app));
    // Before the fix the throw happened in a promise callback: jest reported the unhandled
    // rejection and the client hung. The bound only tells a hang from an answer; it is generous so
    // a loaded machine does not fail the test.
    const status = await fetch(server.url, { signal: AbortSignal.timeout(5000) }).then(
      (response) => response.status,
      () => 'no answer within 5 s',
    );
    expect(status).toBe(500);
  });
});

describe('node adapter: writeHead', () => {
  it('writeHead(status, undefined, { set-cookie }) keeps the session cookie (Node reads the headers from the third argument)', async () => {
    const store = memoryStore();
    const mw = new SessionMiddleware({ secret: SECRET, sessionStorage: store });
    const handle = mw.express();
    const server = await serve(
      listenHandler((req, res) =>
        handle(req, res, () => {
          const statusMessage: string | undefined = undefined; // e.g. a helper's optional parameter
          res.writeHead(200, statusMessage, { 'set-cookie': 'app=1; Path=/' });
          res.end('ok');
        }),
      ),
    );
    const response = await fetch(server.url);
    const id = response.headers.get('x-session-id');
    expect(id).not.toBeNull();
    expect(response.headers.getSetCookie().map((line) => line.split(';')[0])).toEqual(['app=1', `session_id=${id}`]);
  });
});

describe('node adapter: the middleware mounted twice', () => {
  it('mounted again on a router, the middleware passes through: one id, the data set there is kept', async () => {
    // express-session passes through when req.session already exists.
    const store = memoryStore();
    const mw = new SessionMiddleware({ secret: SECRET, sessionStorage: store });
    const app = express();
    app.use(mw.express());
    const api = express.Router();
    api.use(mw.express());
    api.get('/login', (req, res) => {
      req.session.set('user', 'alice');
      res.json({ id: req.session.id });
    });
    api.get('/me', (req, res) => {
      res.json({ user: req.session.get('user') ?? null });
    });
    app.use('/api', api);
    const server = await serve(listenApp(app));

    const login = await fetch(`${server.url}/api/login`);
    const { id } = (await login.json()) as { id: string };
    // A browser keeps the last Set-Cookie of a name; an API client keeps X-Session-ID.
    const kept = login.headers.getSetCookie().at(-1)!.split(';')[0]!;
    const byCookie = await fetch(`${server.url}/api/me`, { headers: { cookie: kept } });
    const byHeader = await fetch(`${server.url}/api/me`, { headers: { 'x-session-id': login.headers.get('x-session-id')! } });
    expect(await byCookie.json()).toEqual({ user: 'alice' });
    expect(await byHeader.json()).toEqual({ user: 'alice' });
    expect(login.headers.getSetCookie()).toHaveLength(1);
    expect(cookieValue(login, 'session_id')).toBe(id);
  });
});

describe('web adapter', () => {
  it("a Response object returned for two requests never carries the first client's session cookie to the second", async () => {
    // A null-body Response is reusable, e.g. a module-level `new Response(null, { status: 204 })`.
    const store = memoryStore();
    const mw = new SessionMiddleware({ secret: SECRET, sessionStorage: store });
    const NO_CONTENT = new Response(null, { status: 204 });
    const first = await mw.dispatch(new Request('http://localhost/ping'), () => NO_CONTENT);
    const firstId = first.headers.get('x-session-id');
    const second = await mw.dispatch(new Request('http://localhost/ping'), () => NO_CONTENT);
    const secondId = second.headers.get('x-session-id');
    expect(firstId).not.toBe(secondId);
    expect(second.headers.getSetCookie()).toHaveLength(1);
    expect(second.headers.getSetCookie().join('\n')).not.toContain(firstId);
    expect(NO_CONTENT.headers.getSetCookie()).toEqual([]);
  });
});

describe('options', () => {
  it("storeTimeout beyond Node's timer limit is refused, never turned into a 1 ms timeout", async () => {
    // 3,000,000 s (~35 days, "practically no timeout"): setTimeout overflows and fires after 1 ms.
    const store = slowStore(50);
    let mw: SessionMiddleware;
    try {
      mw = new SessionMiddleware({ secret: SECRET, sessionStorage: store, storeTimeout: 3_000_000 });
    } catch (error) {
      // Refusing the option at construction is a fix too.
      expect(SessionError.is(error) && error.kind === 'invalid-option' && error.option === 'storeTimeout').toBe(true);
      return;
    }
    const response = await mw.dispatch(new Request('http://localhost/'), (request) => {
      mw.sessionOf(request)!.set('a', 1);
      return new Response('ok');
    });
    expect(response.status).toBe(200);
    expect(await store.get(response.headers.get('x-session-id')!)).toEqual({ a: 1 });
  });
});
