// The /greet flow on Hono 4, served by @hono/node-server: c.get('session'), one atomic increment,
// stored before the response goes out.
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { SessionMiddleware, SessionError } from 'swarmauri-middleware-session';

const sessionMiddleware = new SessionMiddleware({ secret: process.env.SESSION_SECRET ?? 'example-secret-change-me-in-production' });

const app = new Hono();
app.use(sessionMiddleware.hono());

app.get('/greet', async (c) => {
  const session = c.get('session');
  const visits = await session.increment('visits');
  return c.json({ session_id: session.id, visits });
});

// A store that fails or stalls arrives here as a SessionError with status 503.
app.onError((err, c) => (SessionError.is(err) ? c.json({ error: err.kind }, 503) : c.json({ error: 'internal' }, 500)));

const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' });
await new Promise((resolve) => server.once('listening', resolve));
const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/greet`;

// A browser-like client: the second request sends back only the cookie.
const first = await fetch(url);
const cookie = (first.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
const second = await fetch(url, { headers: { cookie } });

console.log(JSON.stringify(await first.json()));
console.log(JSON.stringify(await second.json()));
server.close();
