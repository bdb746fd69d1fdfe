/**
 * The express-session drop-in (`swarmauri-middleware-session/express-session`) in real Express 5
 * apps over real sockets: express-session's options and defaults, `req.session` used as
 * express-session apps use it (property access, nested objects changed in place, the callback
 * methods), `req.session.cookie`, `unset`, `rolling`, `proxy`, the secret from `req.secret`,
 * and the stores it takes.
 */
import { afterEach, describe, expect, it, jest } from '@jest/globals';
import express, { type Express, type NextFunction, type Request, type Response as ExpressResponse } from 'express';
import { createRequire } from 'node:module';
import { inherits, inspect } from 'node:util';
import session from '../../src/compat/expressSession.js';
import { MemoryStore as CoreMemoryStore, SessionError } from '../../src/index.js';
import { CookieClient, ISSUED_ID, cookieLine, listenApp, sleep, type Running } from '../support/http.js';
import { hashedKeyOf } from '../../src/core/storageKey.js';

const SECRET = 'drop-in-test-secret-of-at-least-32-characters';
/** Express 4, installed as the `express4` alias. */
const express4 = createRequire(import.meta.url)('express4') as typeof express;

/** `req.session` as express-session apps use it (this program does not load @types/express-session). */
type Fields = session.Session & Record<string, any>;
const sess = (req: Request): Fields => req.session as unknown as Fields;
const sid = (req: Request): string => (req as unknown as { sessionID: string }).sessionID;

const running: Running[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((server) => server.close()));
});

/** An app with the drop-in, the routes of `routes`, and an error handler answering `{ error, kind }` with 500. */
async function serve(options: session.SessionOptions, routes: (app: Express) => void, before?: (app: Express) => void): Promise<CookieClient> {
  const app = express();
  before?.(app);
  app.use(session(options));
  routes(app);
  // What the client's session holds, for any app of this file.
  app.get('/__fields', (req, res) => {
    res.json(req.session ? { ...sess(req), cookie: undefined } : null);
  });
  app.use((err: Error & { kind?: string }, _req: Request, res: ExpressResponse, _next: NextFunction) => {
    res.status(500).json({ error: err.message, kind: err.kind });
  });
  const server = await listenApp(app);
  running.push(server);
  return new CookieClient(server.url);
}

const json = async (response: Response): Promise<any> => response.json();

/** Routes most tests share. */
function fieldRoutes(app: Express): void {
  app.get('/set', (req, res) => {
    sess(req).userId = 42;
    sess(req).cart = { items: ['apple'] };
    res.json({ id: sid(req), userId: sess(req).userId });
  });
  app.get('/push', (req, res) => {
    sess(req).cart.items.push('pear');
    res.json({ ok: true });
  });
  app.get('/drop', (req, res) => {
    delete sess(req).userId;
    res.json({ has: 'userId' in sess(req) });
  });
  app.get('/show', (req, res) => {
    res.json({ id: sid(req), sessionId: sess(req).id, session: sess(req), keys: Object.keys(sess(req)), userId: sess(req).userId ?? null });
  });
}

describe('express-session defaults', () => {
  it('names the cookie connect.sid, makes it a browser-session cookie, and signs this library\'s ids', async () => {
    const client = await serve({ secret: SECRET }, fieldRoutes);
    const response = await client.fetch('/set');
    const line = cookieLine(response, 'connect.sid')!;
    expect(line).toMatch(/^connect\.sid=[^;]+; Path=\/; HttpOnly; SameSite=Lax$/);
    expect(line).not.toMatch(/Max-Age|Expires/i);
    expect((await json(response)).id).toMatch(ISSUED_ID);
  });

  it('gives the cookie Max-Age from cookie.maxAge in milliseconds', async () => {
    const client = await serve({ secret: SECRET, cookie: { maxAge: 90_000 } }, fieldRoutes);
    expect(cookieLine(await client.fetch('/set'), 'connect.sid')).toMatch(/; Max-Age=90;/);
  });

  it('never stores an empty session; saveUninitialized: false also sends no cookie until there is something to keep', async () => {
    const store = new CoreMemoryStore();
    const eager = await serve({ secret: SECRET, store }, fieldRoutes);
    expect(cookieLine(await eager.fetch('/show'), 'connect.sid')).toBeDefined();
    expect(await store.length()).toBe(0);

    const lazy = await serve({ secret: SECRET, saveUninitialized: false }, fieldRoutes);
    expect(cookieLine(await lazy.fetch('/show'), 'connect.sid')).toBeUndefined();
    expect(cookieLine(await lazy.fetch('/set'), 'connect.sid')).toBeDefined();
    expect(await json(await lazy.fetch('/show'))).toMatchObject({ userId: 42 });
  });

  it('maps name, httpOnly, sameSite: true, path and secure: true', async () => {
    const client = await serve({ secret: SECRET, name: 'sid', cookie: { httpOnly: false, sameSite: true, path: '/', secure: true } }, fieldRoutes);
    const line = cookieLine(await client.fetch('/set'), 'sid')!;
    expect(line).not.toMatch(/HttpOnly/);
    expect(line).toMatch(/; Secure/);
    expect(line).toMatch(/; SameSite=Strict/);
  });
});

describe('req.session as express-session apps use it', () => {
  it('keeps a property write for the next request, and nested objects changed in place', async () => {
    const client = await serve({ secret: SECRET }, fieldRoutes);
    const { id } = await json(await client.fetch('/set'));
    await client.fetch('/push');
    const shown = await json(await client.fetch('/show'));
    expect(shown).toMatchObject({ id, sessionId: id, userId: 42 });
    expect(shown.session).toMatchObject({ userId: 42, cart: { items: ['apple', 'pear'] }, cookie: { path: '/', httpOnly: true, originalMaxAge: null } });
    expect(shown.keys).toEqual(['cookie', 'userId', 'cart']);
  });

  it('deletes a field with delete', async () => {
    const client = await serve({ secret: SECRET }, fieldRoutes);
    await client.fetch('/set');
    expect(await json(await client.fetch('/drop'))).toEqual({ has: false });
    expect((await json(await client.fetch('/show'))).userId).toBeNull();
  });

  it('is an instance of session.Session whose id is read-only, whose methods are no fields, and which prints as express-session\'s', async () => {
    const client = await serve({ secret: SECRET }, (app) =>
      app.get('/', (req, res) => {
        const s = sess(req);
        const loose = s as Record<string, unknown>;
        loose.id = 'forged';
        loose.save = 'not a method';
        s.userId = 42;
        res.json({ instance: s instanceof session.Session, idKept: s.id === sid(req), saveIsMethod: typeof s.save === 'function', spread: { ...s }, shown: inspect(s) });
      }),
    );
    const body = await json(await client.fetch('/'));
    expect(body).toMatchObject({ instance: true, idKept: true, saveIsMethod: true });
    expect(Object.keys(body.spread)).toEqual(['cookie', 'userId']);
    // console.log shows the session as express-session's does, not the view's internals.
    expect(body.shown).toMatch(/^Session \{\n  cookie: \{[^]*\n  userId: 42\n\}$/);
    expect(body.shown).not.toMatch(/Symbol|ViewSource|Getter/);
  });

  it('refuses values JSON cannot hold with a typed error instead of losing them', async () => {
    const client = await serve({ secret: SECRET }, (app) =>
      app.get('/', (req, res) => {
        sess(req).seen = new Map([['a', 1]]);
        res.json({ stored: true });
      }),
    );
    const response = await client.fetch('/');
    expect(response.status).toBe(500);
    expect(await json(response)).toMatchObject({ kind: 'invalid-value' });
  });

  it('writes concurrent requests\' different fields without one overwriting the other', async () => {
    const client = await serve({ secret: SECRET }, (app) => {
      app.get('/start', (req, res) => {
        sess(req).started = true;
        res.json({ ok: true });
      });
      app.get('/slow/:key', async (req, res) => {
        const s = sess(req);
        await sleep(Number(req.query.wait ?? 0));
        s[String(req.params.key)] = true;
        res.json({ ok: true });
      });
    });
    await client.fetch('/start');
    await Promise.all([client.fetch('/slow/a?wait=60'), client.fetch('/slow/b?wait=0')]);
    const response = await client.fetch('/slow/c');
    expect(response.status).toBe(200);
    expect(await json(await client.fetch('/__fields'))).toMatchObject({ started: true, a: true, b: true, c: true });
  });
});


/** An express-session store over a Map whose calls can be made to fail. */
class SwitchStore extends session.Store {
  readonly sessions = new Map<string, string>();
  failing = false;
  override get(sid: string, cb: (err: any, s?: session.SessionData | null) => void): void {
    setImmediate(() => (this.failing ? cb(new Error('down')) : cb(null, this.sessions.has(sid) ? JSON.parse(this.sessions.get(sid)!) : null)));
  }
  override set(sid: string, data: session.SessionData, cb?: (err?: any) => void): void {
    setImmediate(() => {
      if (this.failing) return cb?.(new Error('down'));
      this.sessions.set(sid, JSON.stringify(data));
      cb?.();
    });
  }
  override destroy(sid: string, cb?: (err?: any) => void): void {
    setImmediate(() => {
      if (this.failing) return cb?.(new Error('down'));
      this.sessions.delete(sid);
      cb?.();
    });
  }
}

/** Counts a callback's calls and resolves with its arguments on the first. */
function counted(): { callback: (err?: unknown) => void; calls: () => number; first: Promise<unknown[]> } {
  let calls = 0;
  let resolve!: (args: unknown[]) => void;
  const first = new Promise<unknown[]>((r) => (resolve = r));
  return {
    callback: (...args: unknown[]) => {
      calls++;
      resolve(args);
    },
    calls: () => calls,
    first,
  };
}

describe('Express 4', () => {
  it('serves the same app: fields across requests, regenerate(cb)', async () => {
    const app = express4();
    app.use(session({ secret: SECRET }));
    fieldRoutes(app);
    app.get('/regenerate', (req, res) => sess(req).regenerate((err?: unknown) => res.json({ err: err ?? null, fields: { ...sess(req), cookie: undefined } })));
    const server = await listenApp(app);
    running.push(server);
    const client = new CookieClient(server.url);
    const { id } = await json(await client.fetch('/set'));
    expect(await json(await client.fetch('/show'))).toMatchObject({ id, userId: 42 });
    expect(await json(await client.fetch('/regenerate'))).toEqual({ err: null, fields: {} });
    expect((await json(await client.fetch('/show'))).id).not.toBe(id);
  });
});

describe('the callback methods', () => {
  it('regenerate(cb): calls back once, with a new id and an empty session; the old id is refused', async () => {
    const client = await serve({ secret: SECRET }, (app) => {
      fieldRoutes(app);
      app.get('/regenerate', (req, res) => {
        const before = sid(req);
        const old = sess(req);
        const cb = counted();
        sess(req).regenerate(cb.callback);
        void cb.first.then(async (args) => {
          await sleep(20);
          res.json({ before, after: sid(req), args, calls: cb.calls(), fields: { ...sess(req), cookie: undefined }, old: { ...old, cookie: undefined }, same: old === sess(req) });
        });
      });
    });
    const { id } = await json(await client.fetch('/set'));
    const stale = client.cookies.get('connect.sid')!;
    const body = await json(await client.fetch('/regenerate'));
    expect(body).toMatchObject({ before: id, args: [], calls: 1, fields: {}, same: false });
    expect(body.old).toMatchObject({ userId: 42 });
    expect(body.after).toMatch(ISSUED_ID);
    expect(body.after).not.toBe(id);
    // The old cookie opens a fresh session, not the old one.
    const replay = await json(await client.fetch('/show', { headers: { cookie: `connect.sid=${stale}` } }));
    expect(replay.userId).toBeNull();
  });

  it('destroy(cb): calls back once, req.session is gone, the cookie is cleared', async () => {
    const client = await serve({ secret: SECRET }, (app) => {
      fieldRoutes(app);
      app.get('/destroy', (req, res) => {
        const cb = counted();
        sess(req).destroy(cb.callback);
        void cb.first.then(async (args) => {
          await sleep(20);
          res.json({ args, calls: cb.calls(), session: req.session ?? null });
        });
      });
    });
    await client.fetch('/set');
    const response = await client.fetch('/destroy');
    expect(await json(response)).toEqual({ args: [], calls: 1, session: null });
    expect(cookieLine(response, 'connect.sid')).toMatch(/Max-Age=0/);
    expect((await json(await client.fetch('/show'))).userId).toBeNull();
  });

  it('save(cb) stores before calling back; reload(cb) drops unsaved changes; touch() chains', async () => {
    const store = new CoreMemoryStore();
    const client = await serve({ secret: SECRET, store }, (app) => {
      fieldRoutes(app);
      app.get('/save-reload', (req, res) => {
        const s = sess(req);
        s.saved = 1;
        s.save((err?: unknown) => {
          void store.get(sid(req)).then((stored) => {
            s.unsaved = 2;
            s.reload((reloadErr?: unknown) => {
              res.json({ err: err ?? null, reloadErr: reloadErr ?? null, stored, fields: { ...sess(req), cookie: undefined }, touched: sess(req).touch() === sess(req) });
            });
          });
        });
      });
    });
    await client.fetch('/set');
    const body = await json(await client.fetch('/save-reload'));
    expect(body).toMatchObject({ err: null, reloadErr: null, touched: true });
    expect(body.stored).toMatchObject({ userId: 42, saved: 1 });
    expect(body.fields).toEqual({ userId: 42, cart: { items: ['apple'] }, saved: 1 });
  });

  it('reload(cb) of a session never stored calls back with express-session\'s error', async () => {
    const client = await serve({ secret: SECRET }, (app) =>
      app.get('/', (req, res) => sess(req).reload((err: Error) => res.json({ error: err?.message }))),
    );
    expect(await json(await client.fetch('/'))).toEqual({ error: 'failed to load session' });
  });

  it('passes store errors to the callback, once', async () => {
    const store = new SwitchStore();
    const client = await serve({ secret: SECRET, store, breaker: false }, (app) => {
      fieldRoutes(app);
      app.get('/fail-save', (req, res) => {
        store.failing = true;
        sess(req).more = 1;
        const cb = counted();
        sess(req).save(cb.callback);
        void cb.first.then(async ([err]) => {
          store.failing = false;
          await sleep(20);
          res.json({ kind: (err as SessionError).kind, calls: cb.calls() });
        });
      });
    });
    await client.fetch('/set');
    expect(await json(await client.fetch('/fail-save'))).toEqual({ kind: 'store-error', calls: 1 });
  });

  it('sends an exception thrown in a callback to the error handler', async () => {
    const client = await serve({ secret: SECRET }, (app) =>
      app.get('/', (req) =>
        sess(req).regenerate(() => {
          throw new Error('thrown in the callback');
        }),
      ),
    );
    const response = await client.fetch('/');
    expect(response.status).toBe(500);
    expect(await json(response)).toMatchObject({ error: 'thrown in the callback' });
  });
});

describe('req.session.cookie', () => {
  function cookieRoutes(app: Express): void {
    fieldRoutes(app);
    app.get('/cookie', (req, res) => {
      const { cookie } = sess(req);
      res.json({ maxAge: cookie.maxAge ?? null, originalMaxAge: cookie.originalMaxAge, expires: cookie.expires ?? null, httpOnly: cookie.httpOnly, path: cookie.path, secure: cookie.secure });
    });
    app.get('/remember', (req, res) => {
      sess(req).cookie.maxAge = 30 * 24 * 3600 * 1000;
      res.json({ maxAge: sess(req).cookie.maxAge, originalMaxAge: sess(req).cookie.originalMaxAge });
    });
  }

  it('reads maxAge (ms left), originalMaxAge and expires from the session', async () => {
    const client = await serve({ secret: SECRET, cookie: { maxAge: 60_000 } }, cookieRoutes);
    await client.fetch('/set');
    const cookie = await json(await client.fetch('/cookie'));
    expect(cookie).toMatchObject({ originalMaxAge: 60_000, httpOnly: true, path: '/', secure: false });
    expect(cookie.maxAge).toBeGreaterThan(55_000);
    expect(cookie.maxAge).toBeLessThanOrEqual(60_000);
    expect(Date.parse(cookie.expires) - Date.now()).toBeGreaterThan(55_000);
  });

  it('has no maxAge or expires for a browser-session cookie', async () => {
    const client = await serve({ secret: SECRET }, cookieRoutes);
    expect(await json(await client.fetch('/cookie'))).toMatchObject({ maxAge: null, originalMaxAge: null, expires: null });
  });

  it('setting maxAge gives the session its own lifetime ("remember me"): a persistent cookie, kept on later requests', async () => {
    const client = await serve({ secret: SECRET }, cookieRoutes);
    await client.fetch('/set');
    const response = await client.fetch('/remember');
    expect(cookieLine(response, 'connect.sid')).toMatch(/; Max-Age=2592000;/);
    expect((await json(response)).originalMaxAge).toBe(2_592_000_000);
    const later = await json(await client.fetch('/cookie'));
    expect(later.originalMaxAge).toBe(2_592_000_000);
    expect(later.maxAge).toBeGreaterThan(2_591_000_000);
  });

  it('refuses a maxAge that is not a positive number of milliseconds', async () => {
    const client = await serve({ secret: SECRET }, (app) =>
      app.get('/', (req, res) => {
        sess(req).cookie.maxAge = -5;
        res.json({});
      }),
    );
    expect(await json(await client.fetch('/'))).toMatchObject({ kind: 'invalid-value' });
  });
});

describe('unset, rolling, proxy and the secret', () => {
  function unsetRoutes(app: Express): void {
    fieldRoutes(app);
    app.get('/null', (req, res) => {
      (req as { session?: unknown }).session = null;
      res.json({ session: req.session ?? null });
    });
    app.get('/delete', (req, res) => {
      delete (req as { session?: unknown }).session;
      res.json({ session: req.session ?? null });
    });
  }

  it.each(['/null', '/delete'])("unset: 'destroy' destroys the session when the app drops req.session (%s)", async (path) => {
    const client = await serve({ secret: SECRET, unset: 'destroy' }, unsetRoutes);
    await client.fetch('/set');
    const response = await client.fetch(path);
    expect(await json(response)).toEqual({ session: null });
    expect(cookieLine(response, 'connect.sid')).toMatch(/Max-Age=0/);
    expect((await json(await client.fetch('/show'))).userId).toBeNull();
  });

  it("unset: 'keep' (the default) keeps the stored session", async () => {
    const client = await serve({ secret: SECRET }, unsetRoutes);
    const { id } = await json(await client.fetch('/set'));
    await client.fetch('/null');
    expect(await json(await client.fetch('/show'))).toMatchObject({ id, userId: 42 });
  });

  it('rolling: true re-sends the cookie on every response', async () => {
    const client = await serve({ secret: SECRET, rolling: true, cookie: { maxAge: 60_000 } }, fieldRoutes);
    await client.fetch('/set');
    await sleep(1100);
    expect(cookieLine(await client.fetch('/show'), 'connect.sid')).toMatch(/Max-Age=60/);
  });

  it('rolling: false does not re-send an unchanged session\'s cookie', async () => {
    const client = await serve({ secret: SECRET, cookie: { maxAge: 60_000 } }, fieldRoutes);
    await client.fetch('/set');
    expect(cookieLine(await client.fetch('/show'), 'connect.sid')).toBeUndefined();
  });

  it.each([
    [true, 'https', true],
    [false, 'https', false],
    [undefined, 'https', false],
  ] as const)('proxy: %s with X-Forwarded-Proto %s sets Secure: %s (secure: "auto")', async (proxy, proto, secure) => {
    const client = await serve({ secret: SECRET, proxy, cookie: { secure: 'auto' } }, fieldRoutes);
    const line = cookieLine(await client.fetch('/set', { headers: { 'x-forwarded-proto': proto } }), 'connect.sid')!;
    expect(/; Secure/.test(line)).toBe(secure);
  });

  it('proxy undefined follows Express\'s trust proxy setting', async () => {
    const client = await serve({ secret: SECRET, cookie: { secure: 'auto' } }, fieldRoutes, (app) => app.set('trust proxy', true));
    expect(cookieLine(await client.fetch('/set', { headers: { 'x-forwarded-proto': 'https' } }), 'connect.sid')).toMatch(/; Secure/);
  });

  it('takes the secret from req.secret (cookie-parser) when none is given', async () => {
    const client = await serve({}, fieldRoutes, (app) =>
      app.use((req, _res, next) => {
        (req as { secret?: string }).secret = SECRET;
        next();
      }),
    );
    const { id } = await json(await client.fetch('/set'));
    expect(await json(await client.fetch('/show'))).toMatchObject({ id, userId: 42 });
  });

  it('fails the request with invalid-option when there is neither secret nor req.secret', async () => {
    const client = await serve({}, fieldRoutes);
    const response = await client.fetch('/set');
    expect(response.status).toBe(500);
    expect(await json(response)).toMatchObject({ kind: 'invalid-option', error: expect.stringMatching(/secret option required/) });
  });

  it('accepts a weak secret (express-session\'s README uses "keyboard cat") with one warning', async () => {
    const warn = jest.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    try {
      const client = await serve({ secret: ['keyboard cat', 'another short one'] }, fieldRoutes);
      const { id } = await json(await client.fetch('/set'));
      expect(await json(await client.fetch('/show'))).toMatchObject({ id, userId: 42 });
      const codes = warn.mock.calls.map(([, options]) => (options as { code?: string } | undefined)?.code);
      expect(codes.filter((code) => code === 'SWARMAURI_SESSION_WEAK_SECRET')).toHaveLength(1);
    } finally {
      warn.mockRestore();
    }
  });
});

describe('options', () => {
  it.each([
    [{ secret: SECRET, unset: 'forget' }, 'unset'],
    [{ secret: SECRET, rolling: 'yes' }, 'rolling'],
    [{ secret: SECRET, genid: 'uuid' }, 'genid'],
    [{ secret: SECRET, cookie: { maxAge: -1 } }, 'cookie.maxAge'],
    [{ secret: SECRET, cookie: { maxAge: '1d' } }, 'cookie.maxAge'],
    [{ secret: SECRET, cookie: () => ({}) }, 'cookie'],
    [{ secret: SECRET, cookie: { sameSite: 'sometimes' } }, 'cookie.sameSite'],
    [{ secret: SECRET, cookie: { path: 'no-slash' } }, 'cookie.path'],
    [{ secret: [] }, 'secret'],
    [{ secret: [''] }, 'secret'],
    [{ secret: 42 }, 'secret'],
    [{ secret: SECRET, store: { get() {} } }, 'store'],
    [{ secret: SECRET, name: '' }, 'name'],
    [{ secret: SECRET, name: 'bad name' }, 'name'],
  ])('%j fails at construction with invalid-option naming %s', (options, option) => {
    let error: unknown;
    try {
      session(options as session.SessionOptions);
    } catch (caught) {
      error = caught;
    }
    expect(SessionError.is(error)).toBe(true);
    expect(error).toMatchObject({ kind: 'invalid-option', option });
  });

  it('warns about genid (ignored) and unknown options instead of failing', () => {
    const warn = jest.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    try {
      session({ secret: SECRET, genid: () => 'mine', ttl: 10 } as session.SessionOptions);
      const codes = warn.mock.calls.map(([, options]) => (options as { code?: string } | undefined)?.code);
      expect(codes).toEqual(expect.arrayContaining(['SWARMAURI_SESSION_GENID_IGNORED', 'SWARMAURI_SESSION_UNKNOWN_OPTION']));
    } finally {
      warn.mockRestore();
    }
  });

  it('serves no session outside cookie.path, as express-session', async () => {
    const client = await serve({ secret: SECRET, cookie: { path: '/app' } }, (app) => {
      app.get('/app/in', (req, res) => res.json({ has: req.session !== undefined }));
      app.get('/out', (req, res) => res.json({ has: req.session !== undefined }));
    });
    expect(await json(await client.fetch('/app/in'))).toEqual({ has: true });
    expect(await json(await client.fetch('/out'))).toEqual({ has: false });
  });
});

describe('stores', () => {
  it('session.Store works as an ES base class and as an old-style constructor', async () => {
    function OldStore(this: session.Store & { map: Map<string, string> }) {
      session.Store.call(this);
      this.map = new Map();
    }
    inherits(OldStore, session.Store);
    Object.assign(OldStore.prototype, {
      get(this: { map: Map<string, string> }, id: string, cb: (err: unknown, s?: unknown) => void) {
        cb(null, this.map.has(id) ? JSON.parse(this.map.get(id)!) : null);
      },
      set(this: { map: Map<string, string> }, id: string, s: unknown, cb?: () => void) {
        this.map.set(id, JSON.stringify(s));
        cb?.();
      },
      destroy(this: { map: Map<string, string> }, id: string, cb?: () => void) {
        this.map.delete(id);
        cb?.();
      },
    });
    const old = new (OldStore as unknown as new () => session.Store & { map: Map<string, string> })();
    const modern = new SwitchStore();
    for (const store of [old, modern]) {
      expect(store).toBeInstanceOf(session.Store);
      const client = await serve({ secret: SECRET, store }, fieldRoutes);
      const { id } = await json(await client.fetch('/set'));
      // Stored before the response went out, though these stores answer asynchronously or by callback.
      const records = 'map' in store ? [...store.map.values()] : [...(store as SwitchStore).sessions.values()];
      expect(records.join()).toContain('"userId":42');
      expect(await json(await client.fetch('/show'))).toMatchObject({ id, userId: 42 });
    }
    expect(old.map.size).toBe(1);
    expect(modern.sessions.size).toBe(1);
  });

  it('session.MemoryStore is the default, is req.sessionStore, and answers express-session\'s callback API', async () => {
    const store = new session.MemoryStore();
    const client = await serve({ secret: SECRET, store }, (app) => {
      fieldRoutes(app);
      app.get('/store', (req, res) => res.json({ same: (req as unknown as { sessionStore: unknown }).sessionStore === store }));
    });
    const { id } = await json(await client.fetch('/set'));
    expect(await json(await client.fetch('/store'))).toEqual({ same: true });
    const call = <T>(invoke: (cb: (err: unknown, value?: T) => void) => void): Promise<T | undefined> =>
      new Promise((resolve, reject) => invoke((err, value) => (err ? reject(err) : resolve(value))));
    expect(await call<number>((cb) => store.length(cb))).toBe(1);
    expect(await call((cb) => store.get(id, cb))).toMatchObject({ userId: 42, cookie: {} });
    // all() is keyed by what the store files sessions under: the hash of the id (ids are hashed at rest).
    expect(Object.keys((await call<{ [sid: string]: session.SessionData } | null>((cb) => store.all(cb)))!)).toEqual([hashedKeyOf(id)]);
    await call((cb) => store.destroy(id, cb));
    expect(await call((cb) => store.get(id, cb))).toBeNull();
    store.close();
  });

  it('takes a SessionStore of this library directly, and stores the write before the response', async () => {
    const store = new CoreMemoryStore();
    const client = await serve({ secret: SECRET, store }, fieldRoutes);
    const { id } = await json(await client.fetch('/set'));
    expect(await store.get(id)).toEqual({ userId: 42, cart: { items: ['apple'] } });
  });

  it('serves requests without a session while the store says it is disconnected, as express-session', async () => {
    const store = new SwitchStore();
    const client = await serve({ secret: SECRET, store }, (app) => app.get('/', (req, res) => res.json({ has: req.session !== undefined })));
    store.emit('disconnect');
    expect(await json(await client.fetch('/'))).toEqual({ has: false });
    store.emit('connect');
    expect(await json(await client.fetch('/'))).toEqual({ has: true });
  });
});
