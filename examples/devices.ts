// Users and devices: log in from two browsers, list the user's sessions, log out the other
// device from the current one, and a flash message that survives a redirect.
import type { AddressInfo } from 'node:net';
import express from 'express';
import { SessionMiddleware } from 'swarmauri-middleware-session';

const sessions = new SessionMiddleware({ secret: process.env.SESSION_SECRET ?? 'example-secret-change-me-in-production', sessionHeader: false });
const app = express();
app.use(sessions.express());

app.post('/login', async (req, res) => {
  await req.session.login('alice'); // new id against fixation, bound to the user; meta = { userAgent }
  req.session.flash('info', 'Welcome back');
  res.redirect(303, '/home');
});
app.get('/home', (req, res) => {
  res.json({ user: req.session.userId ?? null, flashes: req.session.flashes('info') });
});
app.get('/devices', async (req, res) => {
  if (!req.session.userId) return void res.status(401).end();
  const list = await sessions.sessionsOf(req.session.userId);
  res.json(list.map((device) => ({ current: device.handle === req.session.handle, userAgent: (device.meta as { userAgent?: string }).userAgent })));
});
app.post('/logout-others', async (req, res) => {
  if (!req.session.userId) return void res.status(401).end();
  await sessions.revokeAll(req.session.userId, { except: req.session.handle });
  res.status(204).end();
});

const server = app.listen(0, '127.0.0.1');
await new Promise((resolve) => server.once('listening', resolve));
const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

/** A browser: keeps its session cookie. */
function browser(userAgent: string) {
  let cookie = '';
  return async (path: string, method = 'GET'): Promise<Response> => {
    const response = await fetch(base + path, { method, redirect: 'manual', headers: { cookie, 'user-agent': userAgent } });
    const set = response.headers.get('set-cookie');
    if (set) cookie = set.split(';')[0]!;
    return response;
  };
}

const laptop = browser('Laptop/1.0');
const phone = browser('Phone/2.0');
await laptop('/login', 'POST');
console.log(JSON.stringify(await (await laptop('/home')).json()));
await phone('/login', 'POST');
console.log(JSON.stringify(await (await laptop('/devices')).json()));
await laptop('/logout-others', 'POST');
console.log(JSON.stringify({ phoneAfterRevoke: await (await phone('/home')).json() }));
console.log(JSON.stringify(await (await laptop('/devices')).json()));
server.close();
