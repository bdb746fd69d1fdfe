// The /greet flow through req.session: one atomic increment, stored before the response goes out.
import type { AddressInfo } from 'node:net';
import express from 'express';
import { SessionMiddleware } from 'swarmauri-middleware-session';

const app = express();
const sessionMiddleware = new SessionMiddleware({ secret: process.env.SESSION_SECRET ?? 'example-secret-change-me-in-production' });
app.use(sessionMiddleware.express());

app.get('/greet', async (req, res) => {
  const visits = await req.session.increment('visits');
  res.json({ session_id: req.session.id, visits });
});

const server = app.listen(0, '127.0.0.1');
await new Promise((resolve) => server.once('listening', resolve));
const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/greet`;

// A browser-like client: the second request sends back only the cookie.
const first = await fetch(url);
const cookie = (first.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
const second = await fetch(url, { headers: { cookie } });

console.log(JSON.stringify(await first.json()));
console.log(JSON.stringify(await second.json()));
server.close();
