// The /greet flow on Koa 3: ctx.session, one atomic increment, stored before Koa sends the response.
import type { AddressInfo } from 'node:net';
import Koa from 'koa';
import { SessionMiddleware } from 'swarmauri-middleware-session';

const app = new Koa();
const sessionMiddleware = new SessionMiddleware({ secret: process.env.SESSION_SECRET ?? 'example-secret-change-me-in-production' });
app.use(sessionMiddleware.koa());

app.use(async (ctx) => {
  if (ctx.path !== '/greet') return;
  const visits = await ctx.session.increment('visits');
  ctx.body = { session_id: ctx.state.sessionId, visits };
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
