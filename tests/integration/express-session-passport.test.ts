/**
 * The real ecosystem on the express-session drop-in, over real sockets: Passport 0.7 with
 * passport-local (login, an authenticated request, logout, `req.isAuthenticated()`,
 * `keepSessionInfo`, `failureFlash`), connect-flash across a redirect, and examples/passport.ts.
 * The app code is what it would be on express-session; only the `session` import differs.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import express, { type Request } from 'express';
import flash from 'connect-flash';
import passport from 'passport';
import { Strategy as LocalStrategy } from 'passport-local';
import session from '../../src/compat/expressSession.js';
import { CookieClient, ISSUED_ID, listenApp, type Running } from '../support/http.js';

const run = promisify(execFile);
const SECRET = 'passport-drop-in-secret-of-at-least-32-chars';

interface User {
  id: number;
  username: string;
}
const USERS: Array<User & { password: string }> = [{ id: 7, username: 'ada', password: 'lovelace' }];
const fields = (req: Request): Record<string, unknown> => req.session as unknown as Record<string, unknown>;

/** A Passport app exactly as written for express-session. */
function passportApp(): express.Express {
  const authenticator = new passport.Passport();
  authenticator.use(
    new LocalStrategy((username, password, done) => {
      const user = USERS.find((candidate) => candidate.username === username && candidate.password === password);
      done(null, user ? { id: user.id, username: user.username } : false, { message: 'Wrong username or password' });
    }),
  );
  authenticator.serializeUser((user, done) => done(null, (user as User).id));
  authenticator.deserializeUser((id: number, done) => done(null, USERS.find((user) => user.id === id) ?? false));

  const app = express();
  app.use(express.urlencoded({ extended: false }));
  app.use(session({ secret: SECRET, resave: false, saveUninitialized: false }));
  app.use(flash());
  app.use(authenticator.session());
  app.post('/login', authenticator.authenticate('local', { failureRedirect: '/login', failureFlash: true }), (req, res) => {
    res.json({ user: (req.user as User).username, returnTo: fields(req).returnTo ?? null });
  });
  app.post('/login-keep', authenticator.authenticate('local', { keepSessionInfo: true }), (req, res) => {
    res.json({ user: (req.user as User).username, returnTo: fields(req).returnTo ?? null });
  });
  app.get('/login', (req, res) => res.json({ errors: req.flash('error') }));
  app.get('/remember-return', (req, res) => {
    fields(req).returnTo = '/account';
    res.json({ ok: true });
  });
  app.get('/me', (req, res) => {
    res.json({ authenticated: req.isAuthenticated(), user: (req.user as User | undefined)?.username ?? null, id: (req as unknown as { sessionID: string }).sessionID });
  });
  app.post('/logout', (req, res, next) => req.logout((err) => (err ? next(err) : res.json({ loggedOut: true }))));
  app.post('/save', (req, res) => {
    req.flash('info', 'Saved!');
    req.flash('info', 'Twice');
    res.redirect('/after-save');
  });
  app.get('/after-save', (req, res) => res.json({ info: req.flash('info') }));
  return app;
}

let server: Running;
beforeAll(async () => {
  server = await listenApp(passportApp());
});
afterAll(async () => {
  await server?.close();
});

const form = (body: string): RequestInit => ({ method: 'POST', body, headers: { 'content-type': 'application/x-www-form-urlencoded' } });
const json = async (response: Response): Promise<any> => response.json();

describe('Passport 0.7 + passport-local', () => {
  it('logs in (req.login no longer hangs), serves an authenticated request, and logs out', async () => {
    const client = new CookieClient(server.url);
    expect(await json(await client.fetch('/me'))).toMatchObject({ authenticated: false, user: null });
    const before = client.cookies.get('connect.sid');
    const login = await client.fetch('/login', form('username=ada&password=lovelace'));
    expect(login.status).toBe(200);
    expect(await json(login)).toMatchObject({ user: 'ada' });
    // Passport regenerates the session on login: a new id, against fixation.
    expect(client.cookies.get('connect.sid')).not.toBe(before);
    const me = await json(await client.fetch('/me'));
    expect(me).toMatchObject({ authenticated: true, user: 'ada' });
    expect(me.id).toMatch(ISSUED_ID);

    const loggedIn = client.cookies.get('connect.sid')!;
    expect(await json(await client.fetch('/logout', { method: 'POST' }))).toEqual({ loggedOut: true });
    expect(await json(await client.fetch('/me'))).toMatchObject({ authenticated: false, user: null });
    // Logout regenerated the id too: the logged-in cookie, replayed, authenticates no one.
    const replay = await json(await client.fetch('/me', { headers: { cookie: `connect.sid=${loggedIn}` } }));
    expect(replay).toMatchObject({ authenticated: false });
  });

  it('drops what the session held before login, as express-session does, unless keepSessionInfo', async () => {
    const client = new CookieClient(server.url);
    await client.fetch('/remember-return');
    expect(await json(await client.fetch('/login', form('username=ada&password=lovelace')))).toEqual({ user: 'ada', returnTo: null });

    const keeping = new CookieClient(server.url);
    await keeping.fetch('/remember-return');
    expect(await json(await keeping.fetch('/login-keep', form('username=ada&password=lovelace')))).toEqual({ user: 'ada', returnTo: '/account' });
    expect(await json(await keeping.fetch('/me'))).toMatchObject({ authenticated: true });
  });

  it('redirects a failed login with its message flashed (failureFlash + connect-flash)', async () => {
    const client = new CookieClient(server.url);
    const failed = await client.fetch('/login', form('username=ada&password=wrong'));
    expect(failed.status).toBe(302);
    expect(failed.headers.get('location')).toBe('/login');
    expect(await json(await client.fetch('/login'))).toEqual({ errors: ['Wrong username or password'] });
    expect(await json(await client.fetch('/login'))).toEqual({ errors: [] });
    expect(await json(await client.fetch('/me'))).toMatchObject({ authenticated: false });
  });
});

describe('connect-flash', () => {
  it('delivers messages across a redirect, once', async () => {
    const client = new CookieClient(server.url);
    const redirect = await client.fetch('/save', { method: 'POST' });
    expect(redirect.status).toBe(302);
    expect(await json(await client.fetch(redirect.headers.get('location')!))).toEqual({ info: ['Saved!', 'Twice'] });
    expect(await json(await client.fetch('/after-save'))).toEqual({ info: [] });
  });
});

describe('examples/passport.ts', () => {
  it('logs in, makes an authenticated request, logs out', async () => {
    // The subpath import resolves through a tsconfig that maps it to the source, as the root one maps the main entry.
    const env = { ...process.env, TSX_TSCONFIG_PATH: 'tests/fixtures/types/dropin-paths/tsconfig.json' };
    const { stdout } = await run(process.execPath, ['--import', 'tsx', 'examples/passport.ts'], { timeout: 30_000, env });
    const lines = stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(lines).toEqual([
      { step: 'login', status: 200, user: 'ada' },
      { step: 'me', authenticated: true, user: 'ada' },
      { step: 'logout', status: 200, loggedOut: true },
      { step: 'me', authenticated: false, user: null },
    ]);
  });
});
