/**
 * The held response's hooks on Express's response prototype (src/adapters/holdResponse.ts): the
 * methods sit on Express's shared `response` object, once, and act only for responses that carry
 * a hold. Real Express 5 and 4 apps on real sockets: a sub-app (Express switches the response's
 * prototype inside it), an app without the middleware in the same process, two middleware
 * instances on one response (the second hold stacks as own wrappers), a held (slow) store, and
 * a bare node:http response, whose prototype is Node's own and must stay untouched.
 */
import http from 'node:http';
import { createRequire } from 'node:module';
import { describe, expect, it } from '@jest/globals';
import express from 'express';
import { MemoryStore, SessionMiddleware, type SessionStore } from '../../src/index.js';
import { SlowWriteStore } from '../support/failingStores.js';
import { closeAfterEach } from '../support/cleanup.js';
import { CookieClient, listenApp, listenHandler } from '../support/http.js';

const require = createRequire(import.meta.url);
const express4 = require('express4') as typeof express;
const SECRET = 'test-secret-of-at-least-32-characters!!';

const { cleanup, track: store, serve } = closeAfterEach();

function middleware(sessionStorage: SessionStore, extra: { sessionCookie?: string; sessionHeader?: string } = {}): SessionMiddleware {
  return new SessionMiddleware({ secret: SECRET, sessionStorage, ...extra });
}

/** A counter app: `/count` increments `visits`; `/sub/count` does it inside a mounted sub-app. */
function counterApp(create: typeof express, sessions: SessionMiddleware): express.Express {
  const app = create();
  app.use(sessions.express());
  const count = (req: express.Request, res: express.Response) => {
    const visits = ((req.session.get('visits') as number | undefined) ?? 0) + 1;
    req.session.set('visits', visits);
    res.json({ visits });
  };
  app.get('/count', count);
  const sub = create();
  sub.get('/count', count);
  app.use('/sub', sub);
  return app;
}

describe.each([
  ['Express 5', express],
  ['Express 4', express4],
])('%s: the hold on the response prototype', (_name, create) => {
  it.each([
    ['MemoryStore (not held)', () => store(new MemoryStore({ sweepIntervalSeconds: 0 }))],
    ['a slow store (held until written)', () => store(new SlowWriteStore(30))],
  ])('a handler in a sub-app still gets the cookie and a stored session, with %s', async (_label, makeStore) => {
    const running = await serve(listenApp(counterApp(create, middleware(makeStore()))));
    const client = new CookieClient(running.url);
    const first = await client.fetch('/sub/count');
    expect(first.status).toBe(200);
    expect(first.headers.get('x-session-id')).toMatch(/\./);
    expect(await first.json()).toEqual({ visits: 1 });
    // The cookie came back and the write landed before the response: the next request sees it.
    expect(await (await client.fetch('/sub/count')).json()).toEqual({ visits: 2 });
    expect(await (await client.fetch('/count')).json()).toEqual({ visits: 3 });
  });

  it.each([
    ['MemoryStore (not held)', () => store(new MemoryStore({ sweepIntervalSeconds: 0 }))],
    ['a slow store (held until written)', () => store(new SlowWriteStore(30))],
  ])('mounted inside a sub-app whose route passes on, the parent app answering still commits, with %s', async (_label, makeStore) => {
    const parent = create();
    const sub = create();
    sub.use(middleware(makeStore()).express());
    sub.get('/visit', (req, res, next) => {
      req.session.set('visits', ((req.session.get('visits') as number | undefined) ?? 0) + 1);
      next();
    });
    parent.use('/sub', sub);
    // Express has put the parent's response prototype back by now.
    parent.get('/sub/visit', (req, res) => {
      res.json({ visits: req.session.get('visits') });
    });
    const running = await serve(listenApp(parent));
    const client = new CookieClient(running.url);
    const first = await client.fetch('/sub/visit');
    expect(first.headers.get('set-cookie')).toMatch(/^session_id=/);
    expect(await first.json()).toEqual({ visits: 1 });
    expect(await (await client.fetch('/sub/visit')).json()).toEqual({ visits: 2 });
  });

  it('an app without the middleware in the same process answers as before, even after a held response', async () => {
    const sessions = await serve(listenApp(counterApp(create, middleware(store(new SlowWriteStore(20))))));
    expect((await new CookieClient(sessions.url).fetch('/count')).status).toBe(200);
    const plain = create();
    plain.get('/', (_req, res) => {
      res.setHeader('x-before', '1');
      res.status(201).json({ sent: res.headersSent });
      // After end: Node's own answers, no hold in the way.
      res.setHeader('x-after', 'late');
    });
    const late: unknown[] = [];
    plain.use((error: unknown, _req: express.Request, _res: express.Response, next: express.NextFunction) => {
      late.push(error);
      next(error);
    });
    const running = await serve(listenApp(plain));
    const response = await fetch(`${running.url}/`);
    expect(response.status).toBe(201);
    expect(await response.json()).toEqual({ sent: false });
    expect(response.headers.get('x-before')).toBe('1');
    expect(response.headers.get('set-cookie')).toBeNull();
    expect(response.headers.get('x-session-id')).toBeNull();
    // Node's setHeader after the headers went out throws ERR_HTTP_HEADERS_SENT, as without this library.
    expect(late).toHaveLength(1);
    expect((late[0] as { code?: string }).code).toBe('ERR_HTTP_HEADERS_SENT');
  });

  it('two middleware instances on one response: both cookies, both sessions stored (a held store under a memory one)', async () => {
    const app = create();
    const memory = middleware(store(new MemoryStore({ sweepIntervalSeconds: 0 })), { sessionCookie: 'a', sessionHeader: 'x-a' });
    app.use(memory.express());
    const slow = middleware(store(new SlowWriteStore(30)), { sessionCookie: 'b', sessionHeader: 'x-b' });
    app.use(slow.express());
    app.get('/count', (req, res) => {
      const first = memory.sessionOf<{ n: number }>(req)!;
      const outer = (first.get('n') ?? 0) + 1;
      first.set('n', outer);
      const inner = slow.sessionOf<{ n: number }>(req)!;
      inner.set('n', (inner.get('n') ?? 0) + 10);
      res.json({ outer, inner: inner.get('n') });
    });
    const running = await serve(listenApp(app));
    const client = new CookieClient(running.url);
    const first = await client.fetch('/count');
    expect(first.headers.get('x-a')).toMatch(/\./);
    expect(first.headers.get('x-b')).toMatch(/\./);
    expect(await first.json()).toEqual({ outer: 1, inner: 10 });
    expect(await (await client.fetch('/count')).json()).toEqual({ outer: 2, inner: 20 });
  });
});

it("a bare node:http response keeps Node's prototype untouched and still gets the hold", async () => {
  const before = ['writeHead', 'write', 'end', 'setHeader', 'headersSent'].map((name) => Object.getOwnPropertyDescriptor(http.ServerResponse.prototype, name));
  const handle = middleware(store(new SlowWriteStore(20))).express();
  const running = await serve(
    listenHandler((req, res) =>
      handle(req, res, () => {
        const session = (req as unknown as { session: { set(key: string, value: unknown): void } }).session;
        session.set('seen', true);
        res.end('ok');
      }),
    ),
  );
  const response = await fetch(running.url);
  expect(response.status).toBe(200);
  expect(response.headers.get('set-cookie')).toMatch(/^session_id=/);
  expect(await response.text()).toBe('ok');
  const after = ['writeHead', 'write', 'end', 'setHeader', 'headersSent'].map((name) => Object.getOwnPropertyDescriptor(http.ServerResponse.prototype, name));
  expect(after).toEqual(before);
  expect(Object.getOwnPropertySymbols(http.ServerResponse.prototype)).toEqual([]);
});

it('a response class whose prototype defines end itself keeps it: the hold wraps that response instead', async () => {
  const ended: string[] = [];
  class AuditedResponse extends http.ServerResponse {}
  const nodeEnd = http.ServerResponse.prototype.end as (...args: unknown[]) => unknown;
  Object.defineProperty(AuditedResponse.prototype, 'end', {
    value(this: http.ServerResponse, ...args: unknown[]) {
      ended.push(String(this.getHeader('set-cookie') ?? 'no cookie'));
      return nodeEnd.apply(this, args);
    },
    writable: true,
    configurable: true,
  });
  const handle = middleware(store(new SlowWriteStore(20))).express();
  const server = http.createServer({ ServerResponse: AuditedResponse }, (req, res) =>
    handle(req, res, () => {
      (req as unknown as { session: { set(key: string, value: unknown): void } }).session.set('seen', true);
      res.end('ok');
    }),
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanup.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
  server.on('connection', (socket) => cleanup.push(() => void socket.destroy()));
  const { port } = server.address() as { port: number };
  const response = await fetch(`http://127.0.0.1:${port}/`);
  expect(await response.text()).toBe('ok');
  expect(response.headers.get('set-cookie')).toMatch(/^session_id=/);
  // The class's own end ran once, after the hold added the cookie (the write had landed).
  expect(ended).toHaveLength(1);
  expect(ended[0]).toMatch(/^session_id=/);
  expect(Object.hasOwn(AuditedResponse.prototype, 'write')).toBe(false);
});
