/**
 * The circuit breaker in front of the store, over a real Express app and socket, with real
 * MemoryStores behind the `faulty` decorator.
 *
 * The failure battery (tests/contract/failureContract.ts) checks, against every store, that a
 * stalling store costs storeTimeout per request until the breaker opens, that requests then fail
 * at once with store-unavailable, and that after the cooldown a probe to a working store closes
 * it. This file keeps what the battery does not cover: a failed probe, `breaker: false`, and the
 * validation of the option.
 */
import { afterEach, describe, expect, it } from '@jest/globals';
import express from 'express';
import { MemoryStore, SessionError, SessionMiddleware, type SessionEvent, type SessionStore } from '../../src/index.js';
import { faulty, type Fault } from '../support/failingStores.js';
import { listenApp, sleep, type Running } from '../support/http.js';

const memoryBehind = (fault?: Fault) => faulty(new MemoryStore({ sweepIntervalSeconds: 0 }), fault);

const SECRET = 'breaker-test-secret-of-at-least-32-chars';
const running: Running[] = [];
afterEach(async () => {
  for (const server of running.splice(0)) await server.close();
});

async function serve(store: SessionStore, events: SessionEvent[], breaker: { failures: number; cooldown: number } | false) {
  const mw = new SessionMiddleware({
    secret: SECRET,
    sessionStorage: store,
    storeTimeout: 0.3,
    breaker,
    logger: { error: (e) => events.push(e), info: (e) => events.push(e), warn: (e) => events.push(e) },
  });
  const app = express();
  app.use(mw.express());
  app.get('/', async (req, res) => {
    res.json({ visits: await req.session.increment('visits') });
  });
  app.use((err: unknown, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
    res.status(SessionError.is(err) ? err.status : 500).json({ kind: SessionError.is(err) ? err.kind : 'other' });
  });
  const server = await listenApp(app);
  running.push(server);
  return server;
}

async function timed(url: string, headers: Record<string, string> = {}): Promise<{ ms: number; status: number; body: { kind?: string; visits?: number } }> {
  const started = performance.now();
  const response = await fetch(url, { headers });
  const body = (await response.json()) as { kind?: string; visits?: number };
  return { ms: performance.now() - started, status: response.status, body };
}

describe('circuit breaker', () => {
  it('a failed probe keeps the circuit open for another cooldown', async () => {
    const events: SessionEvent[] = [];
    const store = memoryBehind({ mode: 'throw' });
    const server = await serve(store, events, { failures: 1, cooldown: 0.3 });
    expect((await timed(server.url)).body.kind).toBe('store-error');
    expect((await timed(server.url)).body.kind).toBe('store-unavailable');
    await sleep(350);
    expect((await timed(server.url)).body.kind).toBe('store-error'); // the probe, failing
    expect((await timed(server.url)).body.kind).toBe('store-unavailable');
    store.fault = undefined;
    await sleep(350);
    expect((await timed(server.url)).status).toBe(200);
  });

  it('breaker: false lets every request wait for the store', async () => {
    const events: SessionEvent[] = [];
    const server = await serve(memoryBehind({ mode: 'stall' }), events, false);
    for (let i = 0; i < 4; i++) expect((await timed(server.url)).body.kind).toBe('store-timeout');
    expect(events.some((e) => e.event === 'store-down')).toBe(false);
  });

  it('refuses bad breaker options, naming them', () => {
    for (const [breaker, option] of [
      [{ failures: 0 }, 'breaker.failures'],
      [{ failures: 1.5 }, 'breaker.failures'],
      [{ cooldown: 0 }, 'breaker.cooldown'],
      [{ cooldown: 1e9 }, 'breaker.cooldown'],
      [{ failure: 3 }, 'breaker.failure'],
      ['on', 'breaker'],
    ] as const) {
      let caught: unknown;
      try {
        new SessionMiddleware({ secret: SECRET, breaker: breaker as never });
      } catch (error) {
        caught = error;
      }
      expect(SessionError.is(caught) && caught.kind === 'invalid-option' && caught.option).toBe(option);
    }
  });
});
