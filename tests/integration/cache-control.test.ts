/**
 * Responses that carry the session id (our Set-Cookie, a clearing one included, or X-Session-ID)
 * must not be storable by a shared cache, through real Express 5 apps on real sockets: the
 * defect was `express.static(dir, { maxAge: '1d' })` after the middleware answering
 * `Cache-Control: public, max-age=86400` with the visitor's session cookie, which a CDN would
 * hand to the next visitor. The value rules themselves are in tests/unit/core/cacheControl.test.ts.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import express, { type Express } from 'express';
import { MemoryStore, SessionMiddleware, type SessionMiddlewareOptions } from '../../src/index.js';
import { FlakyStore } from '../support/failingStores.js';
import { CookieClient, cookieLine, listenApp, nodeRequest, type Running } from '../support/http.js';

const SECRET = 'test-secret-of-at-least-32-characters!!';
type Mount = 'dispatch' | 'express()';
const MOUNTS: Mount[] = ['dispatch', 'express()'];

let staticDir: string;
beforeAll(async () => {
  staticDir = await mkdtemp(join(tmpdir(), 'session-cache-control-'));
  await writeFile(join(staticDir, 'hello.txt'), 'hello from disk');
});
afterAll(async () => {
  await rm(staticDir, { recursive: true, force: true });
});

/** Headers objects the app passes to every `writeHead`: they must never be changed. */
const SHARED_OBJECT = Object.freeze({ 'Content-Type': 'text/plain', 'Cache-Control': 'public, max-age=60' });
const SHARED_ARRAY = Object.freeze(['Content-Type', 'text/plain', 'Cache-Control', 'public, max-age=60']);

function makeApp(mw: SessionMiddleware, mount: Mount): Express {
  const app = express();
  if (mount === 'dispatch') app.use((req, res, next) => mw.dispatch(req, next));
  else app.use(mw.express());
  app.use('/static', express.static(staticDir, { maxAge: '1d' }));
  app.get('/plain', (_req, res) => {
    res.send('ok');
  });
  app.get('/set', (req, res) => {
    req.session.set('x', 1);
    res.set('Cache-Control', 'public, max-age=60').send('ok');
  });
  app.get('/destroy', async (req, res) => {
    await req.session.destroy();
    res.set('Cache-Control', 'public, max-age=60').send('gone');
  });
  app.get('/cc/:value', (req, res) => {
    res.set('Cache-Control', req.params.value).send('ok');
  });
  app.get('/cc-list', (_req, res) => {
    res.setHeader('Cache-Control', ['public', 's-maxage=600', 'max-age=60']);
    res.send('ok');
  });
  app.get('/writehead-object', (_req, res) => {
    res.writeHead(200, SHARED_OBJECT as Record<string, string>);
    res.end('ok');
  });
  app.get('/writehead-message', (_req, res) => {
    res.writeHead(200, 'Fine', SHARED_OBJECT as Record<string, string>);
    res.end('ok');
  });
  app.get('/writehead-array', (_req, res) => {
    res.writeHead(200, SHARED_ARRAY as unknown as string[]);
    res.end('ok');
  });
  app.get('/writehead-overrides-private', (_req, res) => {
    // writeHead's headers replace the ones set before, so the private one would be lost.
    res.setHeader('Cache-Control', 'private');
    res.writeHead(200, { 'Cache-Control': 'public, max-age=60' });
    res.end('ok');
  });
  app.get('/writehead-two-keys', (_req, res) => {
    res.writeHead(200, { 'Cache-Control': 'private', 'cache-control': 'public, max-age=60' });
    res.end('ok');
  });
  app.get('/writehead-private', (_req, res) => {
    res.writeHead(200, { 'Cache-Control': 'private, max-age=5' });
    res.end('ok');
  });
  return app;
}

interface Harness {
  mw: SessionMiddleware;
  server: Running;
  store: MemoryStore;
}

async function start(mount: Mount, options: SessionMiddlewareOptions = {}, store: MemoryStore = new MemoryStore()): Promise<Harness> {
  const mw = new SessionMiddleware({ secret: SECRET, sessionStorage: store, ...options });
  return { mw, store, server: await listenApp(makeApp(mw, mount)) };
}

/** True when the response carries the session id: our cookie (set or cleared) or X-Session-ID. */
function carriesId(response: Response): boolean {
  return cookieLine(response, 'session_id') !== undefined || response.headers.get('x-session-id') !== null;
}

describe.each(MOUNTS)('Cache-Control on responses with the session id (Express 5, %s)', (mount) => {
  const running: Harness[] = [];
  const open = async (options?: SessionMiddlewareOptions, store?: MemoryStore): Promise<Harness> => {
    const h = await start(mount, options, store);
    running.push(h);
    return h;
  };
  afterEach(async () => {
    for (const h of running.splice(0)) {
      await h.server.close();
      h.store.close();
    }
  });

  it("express.static with maxAge '1d' on a first visit (new session cookie): private, max-age=86400", async () => {
    const h = await open();
    const response = await fetch(`${h.server.url}/static/hello.txt`);
    expect(response.status).toBe(200);
    expect(await response.text()).toBe('hello from disk');
    expect(cookieLine(response, 'session_id')).toBeDefined();
    expect(response.headers.get('x-session-id')).not.toBeNull();
    // Before the fix: 'public, max-age=86400' next to the session cookie.
    expect(response.headers.get('cache-control')).toBe('private, max-age=86400');
  });

  it('a route that sets no Cache-Control gets no-store with the new cookie and id header', async () => {
    const h = await open();
    const response = await fetch(`${h.server.url}/plain`);
    expect(cookieLine(response, 'session_id')).toBeDefined();
    expect(response.headers.get('x-session-id')).not.toBeNull();
    expect(response.headers.get('cache-control')).toBe('no-store');
  });

  it('with the header transport only (no cookie), X-Session-ID alone is enough for no-store', async () => {
    const h = await open({ sessionCookie: false });
    const response = await fetch(`${h.server.url}/plain`);
    expect(response.headers.getSetCookie()).toEqual([]);
    expect(response.headers.get('x-session-id')).not.toBeNull();
    expect(response.headers.get('cache-control')).toBe('no-store');
  });

  it('with the cookie transport only (no id header), the cookie alone is enough', async () => {
    const h = await open({ sessionHeader: false });
    const response = await fetch(`${h.server.url}/static/hello.txt`);
    expect(response.headers.get('x-session-id')).toBeNull();
    expect(cookieLine(response, 'session_id')).toBeDefined();
    expect(response.headers.get('cache-control')).toBe('private, max-age=86400');
  });

  it('a clearing cookie (destroy) also makes the response private', async () => {
    const h = await open();
    const client = new CookieClient(h.server.url);
    await client.fetch('/set');
    expect(client.cookies.has('session_id')).toBe(true);
    const response = await client.fetch('/destroy');
    expect(await response.text()).toBe('gone');
    expect(cookieLine(response, 'session_id')).toMatch(/^session_id=;.*Max-Age=0/i);
    expect(response.headers.get('cache-control')).toBe('private, max-age=60');
  });

  it.each([
    ['private, max-age=5'],
    ['no-store'],
    ['no-store, no-cache, must-revalidate'],
    ['Private'],
  ])('an app Cache-Control %j that already keeps shared caches out is kept as it is', async (value) => {
    const h = await open();
    const response = await fetch(`${h.server.url}/cc/${encodeURIComponent(value)}`);
    expect(carriesId(response)).toBe(true);
    expect(response.headers.get('cache-control')).toBe(value);
  });

  it.each([
    ['public, max-age=60', 'private, max-age=60'],
    ['max-age=60', 'private, max-age=60'],
    ['s-maxage=600', 'private'],
    ['no-cache', 'private, no-cache'],
    ['must-revalidate, proxy-revalidate', 'private, must-revalidate'],
  ])('an app Cache-Control %j set with setHeader becomes %j', async (value, expected) => {
    const h = await open();
    const response = await fetch(`${h.server.url}/cc/${encodeURIComponent(value)}`);
    expect(carriesId(response)).toBe(true);
    expect(response.headers.get('cache-control')).toBe(expected);
  });

  it('a Cache-Control list set with setHeader is judged as one value and sent as one line', async () => {
    const h = await open();
    const response = await nodeRequest(`${h.server.url}/cc-list`, {});
    expect(response.headers['x-session-id']).toBeDefined();
    const lines = response.rawHeaders.filter((_value, i) => i % 2 === 0 && response.rawHeaders[i]!.toLowerCase() === 'cache-control');
    expect(lines).toHaveLength(1);
    expect(response.headers['cache-control']).toBe('private, max-age=60');
  });

  describe('Cache-Control passed to writeHead', () => {
    it.each([['/writehead-object'], ['/writehead-message']])('%s: a headers object with public is made private, the object untouched', async (path) => {
      const h = await open();
      for (let i = 0; i < 2; i++) {
        const response = await fetch(h.server.url + path);
        expect(response.status).toBe(200);
        expect(await response.text()).toBe('ok');
        expect(response.headers.get('content-type')).toBe('text/plain');
        expect(cookieLine(response, 'session_id')).toBeDefined();
        expect(response.headers.get('cache-control')).toBe('private, max-age=60');
      }
      // Frozen: a mutation would have thrown in the handler; still as written.
      expect(SHARED_OBJECT['Cache-Control']).toBe('public, max-age=60');
    });

    it('the flat [name, value, ...] form with public is made private, the array untouched', async () => {
      const h = await open();
      for (let i = 0; i < 2; i++) {
        const response = await fetch(`${h.server.url}/writehead-array`);
        expect(response.status).toBe(200);
        expect(response.headers.get('content-type')).toBe('text/plain');
        expect(response.headers.get('x-session-id')).not.toBeNull();
        expect(response.headers.get('cache-control')).toBe('private, max-age=60');
      }
      expect(SHARED_ARRAY).toEqual(['Content-Type', 'text/plain', 'Cache-Control', 'public, max-age=60']);
    });

    it('a public value in writeHead wins over a private one set earlier, so it is the one made private', async () => {
      const h = await open();
      const response = await fetch(`${h.server.url}/writehead-overrides-private`);
      expect(carriesId(response)).toBe(true);
      expect(response.headers.get('cache-control')).toBe('private, max-age=60');
    });

    it('two spellings of the header in one object are judged together and sent as one line', async () => {
      const h = await open();
      const response = await nodeRequest(`${h.server.url}/writehead-two-keys`, {});
      expect(response.headers['x-session-id']).toBeDefined();
      const lines = response.rawHeaders.filter((_value, i) => i % 2 === 0 && response.rawHeaders[i]!.toLowerCase() === 'cache-control');
      expect(lines).toHaveLength(1);
      expect(response.headers['cache-control']).toBe('private, public, max-age=60');
    });

    it('a private value in writeHead is kept', async () => {
      const h = await open();
      const response = await fetch(`${h.server.url}/writehead-private`);
      expect(carriesId(response)).toBe(true);
      expect(response.headers.get('cache-control')).toBe('private, max-age=5');
    });
  });

  describe('cacheControl: false', () => {
    it('leaves public as the app set it, and adds nothing where the app set none', async () => {
      const h = await open({ cacheControl: false });
      const file = await fetch(`${h.server.url}/static/hello.txt`);
      expect(cookieLine(file, 'session_id')).toBeDefined();
      expect(file.headers.get('cache-control')).toBe('public, max-age=86400');
      const head = await fetch(`${h.server.url}/writehead-object`);
      expect(carriesId(head)).toBe(true);
      expect(head.headers.get('cache-control')).toBe('public, max-age=60');
      const plain = await fetch(`${h.server.url}/plain`);
      expect(carriesId(plain)).toBe(true);
      expect(plain.headers.get('cache-control')).toBeNull();
    });
  });

  describe('responses without the id are not changed', () => {
    it('no session (store down, onStoreError continue): public and no Cache-Control stay as they are', async () => {
      const store = new FlakyStore();
      const h = await open({ onStoreError: 'continue' }, store);
      const client = new CookieClient(h.server.url);
      await client.fetch('/set');
      expect(client.cookies.has('session_id')).toBe(true);
      store.failing = true;
      const file = await client.fetch('/static/hello.txt');
      expect(file.status).toBe(200);
      expect(carriesId(file)).toBe(false);
      expect(file.headers.get('cache-control')).toBe('public, max-age=86400');
      const plain = await client.fetch('/plain');
      expect(carriesId(plain)).toBe(false);
      expect(plain.headers.get('cache-control')).toBeNull();
    });

    it('a returning client with an unchanged session: Cache-Control follows whether the response carries the id', async () => {
      // EXPECTATION PENDING another change: the middleware is to send neither Set-Cookie nor
      // X-Session-ID to a returning cookie client whose session did not change. Once it does,
      // the 'no id' branch runs and the app's public value must stay; until then the response
      // carries the id and must be private. Either way the rule holds.
      const h = await open();
      const client = new CookieClient(h.server.url);
      await client.fetch('/set');
      const response = await client.fetch('/static/hello.txt');
      expect(response.status).toBe(200);
      if (carriesId(response)) expect(response.headers.get('cache-control')).toBe('private, max-age=86400');
      else expect(response.headers.get('cache-control')).toBe('public, max-age=86400');
    });
  });
});

describe('clearSiteData', () => {
  const stores: MemoryStore[] = [];
  const servers: Running[] = [];
  afterEach(async () => {
    for (const server of servers.splice(0)) await server.close();
    for (const store of stores.splice(0)) store.close();
  });

  async function logout(options: SessionMiddlewareOptions): Promise<[Response, Response, Response]> {
    const store = new MemoryStore({ sweepIntervalSeconds: 0 });
    stores.push(store);
    const mw = new SessionMiddleware({ secret: SECRET, sessionStorage: store, ...options });
    const app = express();
    app.use(mw.express());
    app.get('/login', (req, res) => {
      req.session.set('user', 'u');
      res.end();
    });
    app.get('/logout', async (req, res) => {
      await req.session.destroy();
      res.end();
    });
    const server = await listenApp(app);
    servers.push(server);
    const browser = new CookieClient(server.url);
    const login = await browser.fetch('/login');
    const out = await browser.fetch('/logout');
    // The Web dispatch of the same middleware.
    const web = await mw.dispatch(new Request('http://x/logout', { headers: { cookie: `session_id=${login.headers.get('x-session-id')}` } }), async (request) => {
      await mw.sessionOf(request)!.destroy();
      return new Response('bye');
    });
    return [login, out, web];
  }

  it('sends Clear-Site-Data: "cookies" with a destroy when asked, on Express and Web, and never otherwise', async () => {
    const [login, out, web] = await logout({ clearSiteData: true });
    expect(login.headers.get('clear-site-data')).toBeNull();
    expect(out.headers.get('clear-site-data')).toBe('"cookies"');
    expect(out.headers.get('set-cookie')).toMatch(/Max-Age=0/);
    expect(web.headers.get('clear-site-data')).toBe('"cookies"');
    const [, quiet, quietWeb] = await logout({});
    expect(quiet.headers.get('clear-site-data')).toBeNull();
    expect(quietWeb.headers.get('clear-site-data')).toBeNull();
  });
});
