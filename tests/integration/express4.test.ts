/**
 * Express 4 (installed as the `express4` alias): the same mounting styles as Express 5 work,
 * including the durability hold on `res.end` behind `res.redirect`.
 */
import { createRequire } from 'node:module';
import { afterEach, describe, expect, it } from '@jest/globals';
import { MemoryStore, SessionMiddleware } from '../../src/index.js';
import { listenApp, type Running } from '../support/http.js';
import { SlowWriteStore } from '../support/failingStores.js';

const express4 = createRequire(import.meta.url)('express4') as typeof import('express');
const SECRET = 'express-4-test-secret-of-32-characters!!';
const running: Running[] = [];
const stores: MemoryStore[] = [];

afterEach(async () => {
  for (const server of running.splice(0)) await server.close();
  for (const store of stores.splice(0)) store.close();
});

async function start(mount: 'dispatch' | 'express', store: MemoryStore = new MemoryStore()) {
  stores.push(store);
  const mw = new SessionMiddleware({ secret: SECRET, sessionStorage: store });
  const app = express4();
  if (mount === 'dispatch') app.use((req, _res, next) => void mw.dispatch(req, next));
  else app.use(mw.express());
  app.get('/count', async (req, res, next) => {
    try {
      res.json({ id: req.state.sessionId, visits: await req.session.increment('visits') });
    } catch (error) {
      next(error);
    }
  });
  app.get('/flag', (req, res) => {
    req.session.set('flag', 1);
    res.redirect('/next');
  });
  const server = await listenApp(app);
  running.push(server);
  return { mw, store, server };
}

describe.each(['dispatch', 'express'] as const)('Express 4 with %s()', (mount) => {
  it('keeps one session across requests by header and by cookie', async () => {
    const { server } = await start(mount);
    const first = await fetch(`${server.url}/count`);
    const id = first.headers.get('x-session-id');
    expect(id).toMatch(/^[A-Za-z0-9_-]{22}\.[0-9a-z]+\.[A-Za-z0-9_-]{24}$/);
    expect(await first.json()).toEqual({ id, visits: 1 });
    const byHeader = await fetch(`${server.url}/count`, { headers: { 'X-Session-ID': id! } });
    expect(await byHeader.json()).toEqual({ id, visits: 2 });
    const cookie = first.headers.getSetCookie()[0]!.split(';')[0]!;
    const byCookie = await fetch(`${server.url}/count`, { headers: { cookie } });
    expect(await byCookie.json()).toEqual({ id, visits: 3 });
  });

  it('has the write in the store when the client receives a redirect', async () => {
    const { server, store } = await start(mount, new SlowWriteStore());
    const response = await fetch(`${server.url}/flag`, { redirect: 'manual' });
    expect(response.status).toBe(302);
    const id = response.headers.get('x-session-id')!;
    expect(await store.get(id)).toEqual({ flag: 1 });
  });
});
