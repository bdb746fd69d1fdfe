/**
 * Store failures through real Express 5 apps mounted with `dispatch` (app.use((req, res, next) =>
 * mw.dispatch(req, next))): a store that rejects, one that never answers, one that fails and then
 * recovers, all real MemoryStores behind the `faulty` decorator. Errors must reach Express's
 * error handler as `SessionError`s (503) within a bounded time, or be absorbed with
 * `onStoreError: 'continue'`.
 *
 * The same failures through `mw.express()` run against every store in the failure battery
 * (tests/contract/failureContract.ts); this file keeps what the battery does not cover: the
 * `dispatch` mount and the default `storeTimeout`.
 */
import { afterEach, describe, expect, it } from '@jest/globals';
import express, { type Express } from 'express';
import { MemoryStore, SessionError, SessionMiddleware, type SessionMiddlewareOptions, type SessionStore } from '../../src/index.js';
import { faulty, type Fault, type FaultyStore } from '../support/failingStores.js';
import { listenApp, type Running } from '../support/http.js';

const SECRET = 'test-secret-of-at-least-32-characters!!';

/** A real MemoryStore behind the fault decorator, with `fault` from the start. */
function memoryBehind(fault?: Fault): FaultyStore {
  return faulty(new MemoryStore({ sweepIntervalSeconds: 0 }), fault);
}

interface Harness {
  mw: SessionMiddleware;
  server: Running;
  /** Errors Express's error handler received. */
  errors: unknown[];
  /** Requests that reached a route handler. */
  handled: string[];
  get(path: string, headers?: Record<string, string>): Promise<Response>;
}

function makeApp(mw: SessionMiddleware, errors: unknown[], handled: string[]): Express {
  const app = express();
  app.use((req, res, next) => mw.dispatch(req, next));
  app.get('/nothing', (req, res) => {
    handled.push('/nothing');
    res.json({ hasSession: mw.sessionOf(req) !== undefined, state: req.state ?? null });
  });
  app.get('/set', (_req, res) => {
    handled.push('/set');
    _req.session.set('a', 1);
    res.status(200).send('handler-ok');
  });
  app.get('/peek', (req, res) => {
    handled.push('/peek');
    res.json({ id: req.state.sessionId, data: req.session.toJSON() });
  });
  // The application's error handler answers with the error's message, as many apps do.
  app.use((err: unknown, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
    errors.push(err);
    const status = SessionError.is(err) ? err.status : 500;
    res.status(status).json({ error: err instanceof Error ? err.message : String(err), kind: SessionError.is(err) ? err.kind : null });
  });
  return app;
}

const running: Running[] = [];

async function start(store: SessionStore, options: SessionMiddlewareOptions = {}): Promise<Harness> {
  const mw = new SessionMiddleware({ secret: SECRET, sessionStorage: store, ...options });
  const errors: unknown[] = [];
  const handled: string[] = [];
  const server = await listenApp(makeApp(mw, errors, handled));
  running.push(server);
  return {
    mw,
    server,
    errors,
    handled,
    get: (path, headers = {}) => fetch(server.url + path, { headers, redirect: 'manual', signal: AbortSignal.timeout(8000) }),
  };
}

afterEach(async () => {
  for (const server of running.splice(0)) await server.close();
});

/** An id the middleware issued (a request that stores nothing touches no store). */
async function issuedId(h: Harness): Promise<string> {
  const response = await h.get('/nothing');
  expect(response.status).toBe(200);
  const id = response.headers.get('x-session-id');
  expect(id).not.toBeNull();
  return id!;
}

/** The response carries neither the session id nor a stack trace, in headers or body. */
function expectNoLeak(response: Response, body: string, id?: string): void {
  const everything = [...response.headers].map(([k, v]) => `${k}: ${v}`).join('\n') + '\n' + body;
  if (id !== undefined) {
    expect(everything).not.toContain(id);
    expect(everything).not.toContain(id.slice(0, 22));
  }
  expect(everything).not.toMatch(/\n\s+at /);
  expect(everything).not.toMatch(/\.ts:\d+|\.js:\d+|node_modules/);
  expect(everything).not.toContain('StoreDown');
  expect(response.headers.get('x-session-id')).toBeNull();
}

describe('store failures (dispatch)', () => {
  it('a failing store: a request with an existing session id reaches the error handler as a 503 store-error', async () => {
    const store = memoryBehind({ mode: 'throw' });
    const h = await start(store);
    const id = await issuedId(h);
    h.handled.length = 0;

    const response = await h.get('/peek', { 'X-Session-ID': id });
    const text = await response.text();
    expect(response.status).toBe(503);
    expect(h.handled).toEqual([]);
    expect(h.errors).toHaveLength(1);
    const err = h.errors[0];
    expect(SessionError.is(err)).toBe(true);
    expect((err as SessionError).kind).toBe('store-error');
    expect((err as SessionError).status).toBe(503);
    expect(JSON.parse(text).kind).toBe('store-error');
    expect(store.faulted).toContain('load');
    // The store's own message names the id; neither it nor a stack reaches the client.
    expectNoLeak(response, text, id);
  });

  it('a failing store: a new session that sets a value fails at commit; the client gets the error, not the 200', async () => {
    const store = memoryBehind({ mode: 'throw' });
    const h = await start(store);
    const response = await h.get('/set');
    const text = await response.text();
    expect(h.handled).toEqual(['/set']);
    expect(response.status).toBe(503);
    expect(text).not.toContain('handler-ok');
    expect(h.errors).toHaveLength(1);
    expect(SessionError.is(h.errors[0])).toBe(true);
    expect((h.errors[0] as SessionError).kind).toBe('store-error');
    expect(store.faulted).toContain('patch');
    expectNoLeak(response, text);
    expect(response.headers.getSetCookie().some((line) => line.startsWith('session_id='))).toBe(false);
  });

  it('a stalling store with storeTimeout 0.3: store-timeout reaches the error handler, nothing hangs', async () => {
    const store = memoryBehind({ mode: 'stall' });
    const h = await start(store, { storeTimeout: 0.3 });
    const id = await issuedId(h);

    const started = Date.now();
    const response = await h.get('/peek', { 'X-Session-ID': id });
    const text = await response.text();
    expect(Date.now() - started).toBeLessThan(2000);
    expect(response.status).toBe(503);
    expect(h.errors).toHaveLength(1);
    expect(SessionError.is(h.errors[0])).toBe(true);
    expect((h.errors[0] as SessionError).kind).toBe('store-timeout');
    expectNoLeak(response, text, id);

    // At commit too: a new session that sets a value.
    const startedCommit = Date.now();
    const commit = await h.get('/set');
    const commitText = await commit.text();
    expect(Date.now() - startedCommit).toBeLessThan(2000);
    expect(commit.status).toBe(503);
    expect(commitText).not.toContain('handler-ok');
    expect((h.errors[1] as SessionError).kind).toBe('store-timeout');

    // The server still answers requests that need no store.
    expect((await h.get('/nothing')).status).toBe(200);
  });

  it("onStoreError: 'continue' serves the request without a session (200, no X-Session-ID)", async () => {
    const store = memoryBehind({ mode: 'throw' });
    const h = await start(store, { onStoreError: 'continue' });
    const id = await issuedId(h);
    const response = await h.get('/nothing', { 'X-Session-ID': id });
    expect(response.status).toBe(200);
    const body = (await response.json()) as { hasSession: boolean; state: unknown };
    expect(body.hasSession).toBe(false);
    // req.state is still there (handlers can read it) but holds no id.
    expect(body.state).toEqual({});
    expect(response.headers.get('x-session-id')).toBeNull();
    expect(response.headers.getSetCookie().some((line) => line.startsWith('session_id='))).toBe(false);
    expect(h.errors).toEqual([]);

    // A failed write at commit is absorbed as well: the handler's answer goes out.
    const write = await h.get('/set');
    expect(write.status).toBe(200);
    expect(await write.text()).toBe('handler-ok');
    expect(h.errors).toEqual([]);
  });

  it('recovers without a restart: a store that fails and then works again serves the next request', async () => {
    const store = memoryBehind();
    const h = await start(store);
    const first = await h.get('/set');
    expect(first.status).toBe(200);
    const id = first.headers.get('x-session-id')!;
    expect(await store.get(id)).toEqual({ a: 1 });

    store.fault = { mode: 'throw' };
    const down = await h.get('/peek', { 'X-Session-ID': id });
    expect(down.status).toBe(503);
    const downNew = await h.get('/set');
    expect(downNew.status).toBe(503);

    store.fault = undefined;
    const back = await h.get('/peek', { 'X-Session-ID': id });
    expect(back.status).toBe(200);
    expect(back.headers.get('x-session-id')).toBe(id);
    expect(((await back.json()) as { data: Record<string, unknown> }).data).toEqual({ a: 1 });
    const backNew = await h.get('/set');
    expect(backNew.status).toBe(200);
    expect(await store.get(backNew.headers.get('x-session-id')!)).toEqual({ a: 1 });
    store.close();
  });
});

describe('default storeTimeout', () => {
  it('bounds a stalling store at about 2 s by default', async () => {
    const store = memoryBehind({ mode: 'stall' });
    const h = await start(store);
    const id = await issuedId(h);
    const started = Date.now();
    const response = await h.get('/peek', { 'X-Session-ID': id });
    const elapsed = Date.now() - started;
    expect(response.status).toBe(503);
    expect((h.errors[0] as SessionError).kind).toBe('store-timeout');
    expect(elapsed).toBeLessThanOrEqual(2500);
    // The documented default is 2 s, not some shorter bound.
    expect(elapsed).toBeGreaterThanOrEqual(1500);
  });
});
