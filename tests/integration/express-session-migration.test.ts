/**
 * Live sessions survive the switch: an app served by express-session over a store, then by the
 * drop-in over the same store (same `secret` and `name`), keeps its logged-in users logged in,
 * with their data; each cookie express-session issued (`s:<id>.<signature>`) moves to an id of
 * this library at its first request, and the old one is refused from then on. Forged and
 * tampered `s:` cookies are refused. Over express-session's own MemoryStore (one instance
 * shared), connect-pg-simple on the local PostgreSQL (a scratch schema, dropped after) and
 * connect-redis 9 on the local Redis (a unique key prefix, deleted after).
 */
import { createHmac } from 'node:crypto';
import { createRequire } from 'node:module';
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import express, { type Request, type RequestHandler } from 'express';
import passport from 'passport';
import { Strategy as LocalStrategy } from 'passport-local';
import session from '../../src/compat/expressSession.js';
import type { ExpressSessionStoreLike } from '../../src/index.js';
import { CookieClient, ISSUED_ID, cookieLine, listenApp, type Running } from '../support/http.js';
import { PGStore, describeWithPostgres, postgresUnavailable, scratchTable, type ScratchTable } from '../support/postgres.js';
import { describeWithServer, probeRedis, REDIS_URL, uniquePrefix } from '../support/redisServers.js';

const require = createRequire(import.meta.url);
/** express-session itself (its typings stay out of this program: they would retype req.session for every test). */
const expressSession = require('express-session') as ((options: object) => RequestHandler) & {
  MemoryStore: new () => ExpressSessionStoreLike & { sessions: Record<string, string> };
};

/** connect-redis 9 (loaded without its typings, which pull in express-session's). */
const { RedisStore: ConnectRedis } = require('connect-redis') as { RedisStore: new (options: { client: unknown; prefix: string }) => ExpressSessionStoreLike };
const { createClient } = require('redis') as {
  createClient(options: { url: string }): {
    connect(): Promise<unknown>;
    quit(): Promise<unknown>;
    scanIterator(options: { MATCH: string }): AsyncIterable<string[]>;
    del(keys: string[]): Promise<number>;
  };
};

// The weak secret's warning is expected here (express-session-dropin.test.ts checks it).
const warnings = jest.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
afterAll(() => warnings.mockRestore());

const unavailable = await postgresUnavailable();
const redisDown = await probeRedis();
const DAY_MS = 24 * 3600 * 1000;
const fields = (req: Request): Record<string, any> => req.session as unknown as Record<string, any>;

/** The same app, on whichever session middleware it is given (the only line a migration changes). */
function app(sessions: RequestHandler): express.Express {
  const authenticator = new passport.Passport();
  authenticator.use(new LocalStrategy((username, password, done) => done(null, password === 'lovelace' ? { id: username } : false)));
  authenticator.serializeUser((user, done) => done(null, (user as { id: string }).id));
  authenticator.deserializeUser((id: string, done) => done(null, { id }));
  const server = express();
  server.use(express.urlencoded({ extended: false }));
  server.use(sessions);
  server.use(authenticator.session());
  server.post('/login', authenticator.authenticate('local'), (req, res) => {
    fields(req).cart = ['apple'];
    res.json({ user: (req.user as { id: string }).id });
  });
  server.get('/me', (req, res) => {
    fields(req).visits = (fields(req).visits ?? 0) + 1;
    res.json({ authenticated: req.isAuthenticated(), user: (req.user as { id: string } | undefined)?.id ?? null, cart: fields(req).cart ?? null, visits: fields(req).visits, id: (req as unknown as { sessionID: string }).sessionID });
  });
  return server;
}

/** A cookie value signed as express-session signs (cookie-signature), URL-encoded as it sends it. */
function signed(id: string, secret: string): string {
  const signature = createHmac('sha256', secret).update(id).digest('base64').replace(/=+$/, '');
  return encodeURIComponent(`s:${id}.${signature}`);
}

/**
 * The migration, over `store`: a user logs in under express-session (`legacySecret`), then the
 * drop-in (`secret`, which lists the legacy one) serves the same cookie.
 */
function migrationSuite(label: string, setup: () => Promise<{ store: ExpressSessionStoreLike; cleanup: () => Promise<void> }>, legacySecret: string, secret: string | string[]): void {
  let store: ExpressSessionStoreLike;
  let cleanup: () => Promise<void>;
  let before: Running;
  let after: Running;
  const options = { name: 'app.sid', resave: false, saveUninitialized: false, cookie: { maxAge: DAY_MS } };

  beforeAll(async () => {
    ({ store, cleanup } = await setup());
    before = await listenApp(app(expressSession({ ...options, secret: legacySecret, store })));
    after = await listenApp(app(session({ ...options, secret, store })));
  });
  afterAll(async () => {
    await before?.close();
    await after?.close();
    await cleanup?.();
  });

  /** A client logged in under express-session, and its cookie there. */
  async function loggedInBefore(): Promise<{ client: CookieClient; legacy: string; sid: string }> {
    const client = new CookieClient(before.url);
    const login = await client.fetch('/login', { method: 'POST', body: 'username=ada&password=lovelace', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    expect(await login.json()).toEqual({ user: 'ada' });
    expect(await (await client.fetch('/me')).json()).toMatchObject({ authenticated: true, visits: 1 });
    const legacy = client.cookies.get('app.sid')!;
    expect(decodeURIComponent(legacy)).toMatch(/^s:[^.]+\./);
    return { client, legacy, sid: /^s:(.+)\.[^.]+$/.exec(decodeURIComponent(legacy))![1]! };
  }

  it(`${label}: a user logged in under express-session stays logged in, with the data, and moves to a signed id of this library`, async () => {
    const { legacy } = await loggedInBefore();
    const client = new CookieClient(after.url);
    client.cookies.set('app.sid', legacy);
    const first = await client.fetch('/me');
    const body = await first.json();
    expect(body).toMatchObject({ authenticated: true, user: 'ada', cart: ['apple'], visits: 2 });
    expect(body.id).toMatch(ISSUED_ID);
    // The same lifetime: the configured day, as a persistent cookie.
    expect(cookieLine(first, 'app.sid')).toMatch(new RegExp(`^app\\.sid=${body.id.replace(/\./g, '\\.')}; Max-Age=86400;`));
    expect(await (await client.fetch('/me')).json()).toMatchObject({ authenticated: true, user: 'ada', visits: 3, id: body.id });
  });

  it(`${label}: the old cookie is refused once it has moved, and its record is gone from the store`, async () => {
    const { legacy, sid } = await loggedInBefore();
    const client = new CookieClient(after.url);
    client.cookies.set('app.sid', legacy);
    expect(await (await client.fetch('/me')).json()).toMatchObject({ authenticated: true });
    const replay = new CookieClient(after.url);
    replay.cookies.set('app.sid', legacy);
    expect(await (await replay.fetch('/me')).json()).toMatchObject({ authenticated: false, user: null, cart: null, visits: 1 });
    // What is left under the old id is a tombstone of this library (no user data).
    const left = await new Promise<unknown>((resolve, reject) => store.get(sid, (err, value) => (err ? reject(err) : resolve(value))));
    expect(JSON.stringify(left ?? null)).not.toContain('ada');
  });

  it(`${label}: forged and tampered s: cookies are refused, as any forged id`, async () => {
    const { legacy, sid } = await loggedInBefore();
    const decoded = decodeURIComponent(legacy);
    const tampered = encodeURIComponent(decoded.slice(0, -2) + (decoded.endsWith('A') ? 'BB' : 'AA'));
    for (const cookie of [tampered, signed(sid, 'another secret entirely'), encodeURIComponent(`s:${sid}`), sid, encodeURIComponent(`s:${sid}.`)]) {
      const client = new CookieClient(after.url);
      client.cookies.set('app.sid', cookie);
      expect(await (await client.fetch('/me')).json()).toMatchObject({ authenticated: false, cart: null, visits: 1 });
    }
    // The genuine cookie still works: refusals did not touch its session.
    const client = new CookieClient(after.url);
    client.cookies.set('app.sid', legacy);
    expect(await (await client.fetch('/me')).json()).toMatchObject({ authenticated: true, user: 'ada' });
  });
}

describe("express-session's MemoryStore, one instance shared", () => {
  migrationSuite(
    'weak secret ("keyboard cat")',
    async () => ({ store: new expressSession.MemoryStore(), cleanup: async () => undefined }),
    'keyboard cat',
    'keyboard cat',
  );
});

describe("express-session's MemoryStore, secret rotated at the switch", () => {
  migrationSuite(
    'new secret first, the old one after it',
    async () => ({ store: new expressSession.MemoryStore(), cleanup: async () => undefined }),
    'the-secret-express-session-signed-with-001',
    ['a-new-secret-of-at-least-32-characters-002', 'the-secret-express-session-signed-with-001'],
  );
});

describeWithPostgres('connect-pg-simple on PostgreSQL', unavailable, () => {
  let scratch: ScratchTable;
  migrationSuite(
    'pg',
    async () => {
      scratch = await scratchTable('dropin');
      const store = new PGStore({ pool: scratch.pool, schemaName: scratch.schema, tableName: scratch.table, createTableIfMissing: true, pruneSessionInterval: false });
      return {
        store,
        cleanup: async () => {
          await store.close();
          await scratch.drop();
        },
      };
    },
    'pg-migration-secret-of-at-least-32-characters',
    'pg-migration-secret-of-at-least-32-characters',
  );
});

describeWithServer('connect-redis 9 on Redis', redisDown, () => {
  migrationSuite(
    'connect-redis',
    async () => {
      const client = createClient({ url: REDIS_URL });
      await client.connect();
      const prefix = uniquePrefix('dropin');
      return {
        store: new ConnectRedis({ client, prefix }),
        cleanup: async () => {
          for await (const keys of client.scanIterator({ MATCH: `${prefix}*` })) if (keys.length > 0) await client.del(keys);
          await client.quit();
        },
      };
    },
    'redis-migration-secret-of-at-least-32-chars',
    'redis-migration-secret-of-at-least-32-chars',
  );
});
