/** Session.reload, Session.discard and the settle of a request that only read objects, over a real Express 5 socket. */
import { afterEach, describe, expect, it } from '@jest/globals';
import express from 'express';
import { MemoryStore, SessionError, SessionMiddleware } from '../../src/index.js';
import { CookieClient, listenApp, type Running } from '../support/http.js';

const SECRET = 'reload-and-discard-secret-of-32-chars!!';
const running: Running[] = [];
const stores: MemoryStore[] = [];
afterEach(async () => {
  for (const server of running.splice(0)) await server.close();
  for (const store of stores.splice(0)) store.close();
});

async function start() {
  const store = new MemoryStore({ sweepIntervalSeconds: 0 });
  stores.push(store);
  let patches = 0;
  const patch = store.patch.bind(store);
  store.patch = (...args) => {
    patches++;
    return patch(...args);
  };
  const mw = new SessionMiddleware({ secret: SECRET, sessionStorage: store, sessionHeader: false });
  const app = express();
  app.use(mw.express());
  app.get('/set', (req, res) => {
    req.session.set('profile', { name: 'ann', tags: ['a'] });
    req.session.set('n', 1);
    res.end();
  });
  app.get('/read-object', (req, res) => res.json(req.session.get('profile')));
  app.get('/change-then-discard', (req, res) => {
    req.session.set('n', 99);
    (req.session.get('profile') as { tags: string[] }).tags.push('b');
    req.session.discard();
    res.end();
  });
  app.get('/change-then-reload', async (req, res) => {
    req.session.set('n', 42);
    await req.session.reload();
    res.json(req.session.toJSON());
  });
  app.get('/reload-fresh', async (req, res) => {
    let kind: string | undefined;
    await req.session.reload().catch((error: unknown) => (kind = SessionError.is(error) ? error.kind : 'other'));
    res.json({ kind });
  });
  app.get('/all', (req, res) => res.json(req.session.toJSON()));
  const server = await listenApp(app);
  running.push(server);
  return { url: server.url, patches: () => patches };
}

describe('reload, discard, read-only settle', () => {
  it('discard() drops changes not yet written, in-place ones too', async () => {
    const { url } = await start();
    const browser = new CookieClient(url);
    await browser.fetch('/set');
    await browser.fetch('/change-then-discard');
    expect(await (await browser.fetch('/all')).json()).toEqual({ profile: { name: 'ann', tags: ['a'] }, n: 1 });
  });

  it('reload() replaces the values with the stored ones, dropping unsaved changes; a never-stored session rejects with invalid-id', async () => {
    const { url } = await start();
    const browser = new CookieClient(url);
    await browser.fetch('/set');
    expect(await (await browser.fetch('/change-then-reload')).json()).toEqual({ profile: { name: 'ann', tags: ['a'] }, n: 1 });
    expect(await (await browser.fetch('/all')).json()).toMatchObject({ n: 1 });
    expect(await (await new CookieClient(url).fetch('/reload-fresh')).json()).toEqual({ kind: 'invalid-id' });
  });

  it('a request that only reads an object writes nothing', async () => {
    const { url, patches } = await start();
    const browser = new CookieClient(url);
    await browser.fetch('/set');
    const before = patches();
    for (let i = 0; i < 3; i++) expect(await (await browser.fetch('/read-object')).json()).toEqual({ name: 'ann', tags: ['a'] });
    expect(patches()).toBe(before);
  });
});
