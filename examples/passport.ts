/**
 * Passport 0.7 with passport-local on the express-session drop-in: the login code is the one
 * written for express-session; only the `session` import changed. Starts on a free port, logs in,
 * makes an authenticated request, logs out, prints one JSON line per step and exits.
 *
 * Run: npx tsx examples/passport.ts
 */
import type { AddressInfo } from 'node:net';
import express from 'express';
import passport from 'passport';
import { Strategy as LocalStrategy } from 'passport-local';
import session from 'swarmauri-middleware-session/express-session'; // was: from 'express-session'

interface User {
  id: number;
  username: string;
}
const users: Array<User & { password: string }> = [{ id: 1, username: 'ada', password: 'lovelace' }];

passport.use(
  new LocalStrategy((username, password, done) => {
    const user = users.find((candidate) => candidate.username === username && candidate.password === password);
    done(null, user ? { id: user.id, username: user.username } : false);
  }),
);
passport.serializeUser((user, done) => done(null, (user as User).id));
passport.deserializeUser((id: number, done) => {
  const user = users.find((candidate) => candidate.id === id);
  done(null, user ? { id: user.id, username: user.username } : false);
});

const app = express();
app.use(express.urlencoded({ extended: false }));
app.use(
  session({
    secret: process.env.SESSION_SECRET ?? 'an example secret: use a long random one in production',
    resave: false,
    saveUninitialized: false,
    cookie: { maxAge: 24 * 3600 * 1000 },
  }),
);
app.use(passport.session());

app.post('/login', passport.authenticate('local', { failureRedirect: '/login' }), (req, res) => {
  res.json({ user: (req.user as User).username });
});
app.get('/me', (req, res) => {
  res.json({ authenticated: req.isAuthenticated(), user: (req.user as User | undefined)?.username ?? null });
});
app.post('/logout', (req, res, next) => {
  req.logout((err) => (err ? next(err) : res.json({ loggedOut: true })));
});

const server = app.listen(0, '127.0.0.1', async () => {
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  let cookie = '';
  const call = async (method: string, path: string, body?: string): Promise<{ status: number; json: Record<string, unknown> }> => {
    const response = await fetch(base + path, {
      method,
      body,
      headers: { cookie, ...(body ? { 'content-type': 'application/x-www-form-urlencoded' } : {}) },
      redirect: 'manual',
    });
    // Keep the session cookie, as a browser would (login and logout issue new ids).
    const set = response.headers.getSetCookie().find((line) => line.startsWith('connect.sid='));
    if (set) cookie = set.split(';')[0]!;
    return { status: response.status, json: response.status === 200 ? ((await response.json()) as Record<string, unknown>) : {} };
  };
  try {
    const login = await call('POST', '/login', 'username=ada&password=lovelace');
    console.log(JSON.stringify({ step: 'login', status: login.status, ...login.json }));
    const me = await call('GET', '/me');
    console.log(JSON.stringify({ step: 'me', ...me.json }));
    const logout = await call('POST', '/logout');
    console.log(JSON.stringify({ step: 'logout', status: logout.status, ...logout.json }));
    const after = await call('GET', '/me');
    console.log(JSON.stringify({ step: 'me', ...after.json }));
  } finally {
    server.close();
    server.closeAllConnections();
  }
});
