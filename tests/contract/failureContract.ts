/**
 * The failure battery: what the middleware does when a real store fails, over a real Express 5
 * app on a real socket. Every store runs it (MemoryStore, RedisStore with both clients, standalone
 * and cluster, the express-session adapter), with one line beside its store contract:
 * ```ts
 * runFailureContract('MyStore', makeStore);           // the whole battery
 * runFailureContract('MyStore', makeStore, { small: true }); // stall, throw and breaker only
 * ```
 * `makeStore` is the factory given to `runStoreContract` (a fresh, empty store per test). The
 * battery wraps the store in the {@link faulty} decorator (tests/support/failingStores.ts), which
 * injects the faults (a rejection, a call that never answers, a late answer, every Nth call) in
 * front of the real store: the data the battery reads back was written by real calls.
 *
 * What it checks:
 * - a stalled store: every request is answered within `storeTimeout` + 0.5 s with a 503
 *   `store-timeout`, requests that need no store are served, and once the store answers again
 *   the data written before the stall is intact;
 * - a throwing store: the error reaches Express's error handler as a 503 `store-error`, with
 *   neither the session id nor a stack in the response;
 * - `onStoreError: 'continue'`: requests are served without a session, failed writes dropped;
 * - the circuit breaker opens after repeated failures (refusals answered in < 50 ms without
 *   calling the store) and closes after the cooldown once the store works, without a restart;
 * - a flaky store: every answer is a 200 or a 503, and what the store holds is exactly what
 *   reached it (no increment lost or doubled);
 * - a slow store: a late answer within `storeTimeout` is served; a later one is a 503, yet the
 *   call still lands (a 503 does not mean nothing was written).
 */
import { afterEach, describe, expect, it } from '@jest/globals';
import express from 'express';
import { SessionError, SessionMiddleware, type SessionEvent, type SessionMiddlewareOptions } from '../../src/index.js';
import { faulty, type Fault, type FaultyStore } from '../support/failingStores.js';
import { listenApp, sleep, type Running } from '../support/http.js';
import type { StoreUnderTest } from './storeContract.js';

/** Options of {@link runFailureContract}. */
export interface FailureContractOptions {
  /** Only the stall, throw and breaker tests (for setups where every test is slow, such as clusters). */
  small?: boolean;
}

const SECRET = 'failure-battery-secret-of-at-least-32-characters';
/** The store timeout of the battery, in seconds, and the bound on every answer it implies. */
const STORE_TIMEOUT = 0.3;
const ANSWER_BOUND_MS = STORE_TIMEOUT * 1000 + 500;
const STALL: Fault = { mode: 'stall' };
const THROW: Fault = { mode: 'throw' };

/** One answer, as the client saw it. */
interface Answer {
  status: number;
  /** Milliseconds from sending the request to the end of the body. */
  ms: number;
  text: string;
  /** The body as JSON, when it is JSON. */
  body: { kind?: string | null; visits?: number; hasSession?: boolean; state?: unknown; data?: Record<string, unknown>; id?: string };
  headers: Headers;
}

interface App {
  readonly store: FaultyStore;
  /** Errors Express's error handler received. */
  readonly errors: unknown[];
  /** The logger's events. */
  readonly events: SessionEvent[];
  /** Paths that reached a route handler. */
  readonly handled: string[];
  /** GET `path`, presenting `id` (if any) as X-Session-ID. */
  get(path: string, id?: string): Promise<Answer>;
}

/**
 * Routes: `/nothing` (no store), `/visit` (increment), `/write` (a new value, stored at commit),
 * `/peek` (the session's data); an error handler that answers with the error's kind and message.
 */
function appOf(mw: SessionMiddleware, errors: unknown[], handled: string[]): express.Express {
  const app = express();
  app.use(mw.express());
  app.get('/nothing', (req, res) => {
    handled.push('/nothing');
    res.json({ hasSession: mw.sessionOf(req) !== undefined, state: req.state ?? null });
  });
  app.get('/visit', async (req, res) => {
    handled.push('/visit');
    res.json({ visits: await req.session.increment('visits') });
  });
  app.get('/write', (req, res) => {
    handled.push('/write');
    req.session.set('note', 'written');
    res.send('handler-ok');
  });
  app.get('/peek', (req, res) => {
    handled.push('/peek');
    res.json({ id: req.state.sessionId, data: req.session.toJSON() });
  });
  app.use((err: unknown, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
    errors.push(err);
    res.status(SessionError.is(err) ? err.status : 500).json({ kind: SessionError.is(err) ? err.kind : null, error: err instanceof Error ? err.message : String(err) });
  });
  return app;
}

/** The response carries neither `id` (when given) nor a stack trace nor the store's own error, in headers or body. */
function expectNoLeak(answer: Answer, id?: string): void {
  const everything = [...answer.headers].map(([k, v]) => `${k}: ${v}`).join('\n') + '\n' + answer.text;
  if (id !== undefined) {
    expect(everything).not.toContain(id);
    expect(everything).not.toContain(id.slice(0, 22));
    expect(answer.headers.get('x-session-id')).toBeNull();
  }
  expect(everything).not.toMatch(/\n\s+at /);
  expect(everything).not.toMatch(/\.ts:\d+|\.js:\d+|node_modules/);
  expect(everything).not.toContain('StoreDown');
}

const sessionCookie = (answer: Answer): boolean => answer.headers.getSetCookie().some((line) => line.startsWith('session_id='));

export function runFailureContract(name: string, makeStore: () => Promise<StoreUnderTest>, options: FailureContractOptions = {}): void {
  describe(`failure battery: ${name}`, () => {
    const cleanups: Array<() => Promise<void>> = [];

    afterEach(async () => {
      for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
      // Let the middleware's deadline timer see that no call is left and stop (one tick is
      // storeTimeout / 10), before a later test of the file can install fake timers.
      await sleep(STORE_TIMEOUT * 1000 / 5);
    });

    /** A fresh store behind {@link faulty}, healthy for now, and an app on a real socket in front of it. */
    async function start(middleware: SessionMiddlewareOptions = {}): Promise<App> {
      const made = await makeStore();
      cleanups.push(made.cleanup);
      const store = faulty(made.store);
      const errors: unknown[] = [];
      const events: SessionEvent[] = [];
      const handled: string[] = [];
      const logger = { error: (e: SessionEvent) => events.push(e), warn: (e: SessionEvent) => events.push(e), info: (e: SessionEvent) => events.push(e) };
      const mw = new SessionMiddleware({ secret: SECRET, sessionStorage: store, storeTimeout: STORE_TIMEOUT, logger, ...middleware });
      const server: Running = await listenApp(appOf(mw, errors, handled));
      cleanups.push(() => server.close());
      return {
        store,
        errors,
        events,
        handled,
        async get(path, id) {
          const started = performance.now();
          const response = await fetch(server.url + path, {
            headers: id === undefined ? {} : { 'X-Session-ID': id },
            redirect: 'manual',
            signal: AbortSignal.timeout(8000),
          });
          const text = await response.text();
          const ms = performance.now() - started;
          let body: Answer['body'] = {};
          try {
            body = JSON.parse(text) as Answer['body'];
          } catch {
            // not JSON
          }
          return { status: response.status, ms, text, body, headers: response.headers };
        },
      };
    }

    /** A session stored while the store is healthy: two visits. Resolves its id. */
    async function storedSession(app: App): Promise<string> {
      const first = await app.get('/visit');
      expect([first.status, first.body.visits]).toEqual([200, 1]);
      const id = first.headers.get('x-session-id');
      expect(id).not.toBeNull();
      const second = await app.get('/visit', id!);
      expect([second.status, second.body.visits]).toEqual([200, 2]);
      return id!;
    }

    /** The session's data once the store works again (the fault cleared). */
    async function dataAfter(app: App, id: string): Promise<Record<string, unknown> | undefined> {
      app.store.fault = undefined;
      const answer = await app.get('/peek', id);
      expect(answer.status).toBe(200);
      expect(answer.body.id).toBe(id);
      return answer.body.data;
    }

    it('a stalled store: every request gets a 503 store-timeout within storeTimeout + 0.5 s; the data written before is intact after', async () => {
      const app = await start({ breaker: false });
      const id = await storedSession(app);
      app.store.fault = STALL;
      const answers = await Promise.all([app.get('/peek', id), app.get('/visit', id), app.get('/visit'), app.get('/write')]);
      for (const answer of answers) {
        expect({ status: answer.status, kind: answer.body.kind }).toEqual({ status: 503, kind: 'store-timeout' });
        expect(answer.ms).toBeLessThan(ANSWER_BOUND_MS);
        expectNoLeak(answer);
      }
      expectNoLeak(answers[0]!, id);
      expectNoLeak(answers[1]!, id);
      expect(app.handled.filter((path) => path === '/peek')).toEqual([]);
      expect(app.errors.every((error) => SessionError.is(error) && error.kind === 'store-timeout' && error.status === 503)).toBe(true);
      expect(app.store.faulted.length).toBeGreaterThanOrEqual(4);
      // A request that needs no store is served meanwhile.
      const nothing = await app.get('/nothing');
      expect(nothing.status).toBe(200);
      expect(nothing.ms).toBeLessThan(ANSWER_BOUND_MS);
      await expect(dataAfter(app, id)).resolves.toEqual({ visits: 2 });
    });

    it("a throwing store: the error reaches Express's error handler as a 503 store-error, leaking neither the id nor a stack", async () => {
      const app = await start();
      const id = await storedSession(app);
      app.store.fault = THROW;

      const read = await app.get('/peek', id);
      expect({ status: read.status, kind: read.body.kind }).toEqual({ status: 503, kind: 'store-error' });
      expect(app.handled.filter((path) => path === '/peek')).toEqual([]);
      expect(app.errors).toHaveLength(1);
      expect(SessionError.is(app.errors[0]) && [app.errors[0].kind, app.errors[0].status]).toEqual(['store-error', 503]);
      expect(app.store.faulted).toContain('load');
      // The injected error names the id; neither it nor a stack reaches the client.
      expectNoLeak(read, id);

      // At commit: a new session that sets a value gets the error, not the handler's 200.
      const write = await app.get('/write');
      expect(app.handled).toContain('/write');
      expect({ status: write.status, kind: write.body.kind }).toEqual({ status: 503, kind: 'store-error' });
      expect(write.text).not.toContain('handler-ok');
      expect(app.store.faulted).toContain('patch');
      expect(app.errors).toHaveLength(2);
      expectNoLeak(write);
      expect(write.headers.get('x-session-id')).toBeNull();
      expect(sessionCookie(write)).toBe(false);

      await expect(dataAfter(app, id)).resolves.toEqual({ visits: 2 });
    });

    it('the circuit breaker opens after repeated failures, refuses in < 50 ms without calling the store, and closes once the store answers again', async () => {
      const cooldownMs = 300;
      const app = await start({ breaker: { failures: 2, cooldown: cooldownMs / 1000 } });
      const id = await storedSession(app);
      app.store.fault = STALL;
      for (let i = 0; i < 2; i++) {
        const answer = await app.get('/visit', id);
        expect({ status: answer.status, kind: answer.body.kind }).toEqual({ status: 503, kind: 'store-timeout' });
        expect(answer.ms).toBeGreaterThan(STORE_TIMEOUT * 1000 - 60);
        expect(answer.ms).toBeLessThan(ANSWER_BOUND_MS);
      }
      const openedAt = Date.now();
      expect(app.events.filter((e) => e.event === 'store-down')).toHaveLength(1);
      const callsWhenOpened = app.store.calls.length;
      for (let i = 0; i < 3; i++) {
        const answer = await app.get('/visit', id);
        expect({ status: answer.status, kind: answer.body.kind }).toEqual({ status: 503, kind: 'store-unavailable' });
        expect(answer.ms).toBeLessThan(50);
        expectNoLeak(answer, id);
      }
      expect(app.store.calls.length).toBe(callsWhenOpened);

      // The store works again; the circuit stays open until the cooldown is over, then one probe closes it.
      app.store.fault = undefined;
      if (Date.now() - openedAt < cooldownMs - 60) expect((await app.get('/visit', id)).body.kind).toBe('store-unavailable');
      await sleep(Math.max(0, openedAt + cooldownMs + 50 - Date.now()));
      const recovered = await app.get('/visit', id);
      expect([recovered.status, recovered.body.visits]).toEqual([200, 3]);
      expect(app.events.map((e) => e.event).filter((e) => e === 'store-down' || e === 'store-up')).toEqual(['store-down', 'store-up']);
      const next = await app.get('/visit', id);
      expect([next.status, next.body.visits]).toEqual([200, 4]);
      // Nothing written before the outage was lost; nothing the stalled calls carried was stored.
      await expect(dataAfter(app, id)).resolves.toEqual({ visits: 4 });
    });

    if (options.small) return;

    it("onStoreError: 'continue' serves requests without a session while the store throws or stalls, and drops failed writes", async () => {
      const app = await start({ onStoreError: 'continue', breaker: false });
      const id = await storedSession(app);
      for (const fault of [THROW, STALL]) {
        app.store.fault = fault;
        const read = await app.get('/nothing', id);
        expect([fault.mode, read.status, read.body.hasSession, read.body.state]).toEqual([fault.mode, 200, false, {}]);
        expect(read.ms).toBeLessThan(ANSWER_BOUND_MS);
        expect(read.headers.get('x-session-id')).toBeNull();
        expect(sessionCookie(read)).toBe(false);
        // A failed write at commit is absorbed: the handler's answer goes out.
        const write = await app.get('/write');
        expect([fault.mode, write.status, write.text]).toEqual([fault.mode, 200, 'handler-ok']);
        expect(write.ms).toBeLessThan(ANSWER_BOUND_MS);
      }
      expect(app.errors).toEqual([]);
      expect(app.store.faulted).toEqual(expect.arrayContaining(['load', 'patch']));
      await expect(dataAfter(app, id)).resolves.toEqual({ visits: 2 });
    });

    it('a flaky store (every 3rd, then every 4th call fails): answers are 200 or 503, and the store holds exactly the increments that reached it', async () => {
      const app = await start({ breaker: false });
      const id = await storedSession(app);
      const answers: Answer[] = [];
      // Two calls per request (load, increment): every 3rd call hits loads, every 4th increments.
      for (const every of [3, 4]) {
        app.store.fault = { mode: 'throw', every };
        for (let i = 0; i < 6; i++) answers.push(await app.get('/visit', id));
      }
      for (const answer of answers) {
        expect([200, 503]).toContain(answer.status);
        if (answer.status === 503) expect(answer.body.kind).toBe('store-error');
      }
      expect(app.store.faulted).toEqual(expect.arrayContaining(['load', 'increment']));
      const served = answers.filter((answer) => answer.status === 200).map((answer) => answer.body.visits);
      expect(served.length).toBeGreaterThan(0);
      expect(served.length).toBeLessThan(answers.length);
      // No increment lost or doubled: each success is one more than the one before.
      expect(served).toEqual(served.map((_, i) => 3 + i));
      const data = await dataAfter(app, id);
      expect(data).toEqual({ visits: 2 + served.length });
      expect(data!.visits).toBe(app.store.passed.increment);
    });

    it('a slow store: an answer within storeTimeout is served; a later one is a 503, yet its write still lands', async () => {
      const app = await start({ breaker: false });
      const id = await storedSession(app);
      app.store.fault = { mode: 'delay', delayMs: 100 };
      const slow = await app.get('/visit', id);
      expect([slow.status, slow.body.visits]).toEqual([200, 3]);
      expect(slow.ms).toBeGreaterThanOrEqual(190); // load and increment, 100 ms each
      app.store.fault = { mode: 'delay', delayMs: STORE_TIMEOUT * 1000 + 200, ops: ['increment'] };
      const late = await app.get('/visit', id);
      expect({ status: late.status, kind: late.body.kind }).toEqual({ status: 503, kind: 'store-timeout' });
      expect(late.ms).toBeLessThan(ANSWER_BOUND_MS);
      // The late increment reaches the store after the 503 went out.
      for (const until = Date.now() + 2000; app.store.answered.increment < 4 && Date.now() < until; ) await sleep(20);
      expect(app.store.answered.increment).toBe(4);
      await expect(dataAfter(app, id)).resolves.toEqual({ visits: 4 });
    });
  });
}
