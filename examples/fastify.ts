// The /greet flow on Fastify 5: the plugin opens the session in onRequest and stores it in onSend,
// before the reply goes out. `request.session` is the Session, `request.state.sessionId` its id.
import Fastify from 'fastify';
import { SessionMiddleware } from 'swarmauri-middleware-session';

const app = Fastify();
const sessionMiddleware = new SessionMiddleware({ secret: process.env.SESSION_SECRET ?? 'example-secret-change-me-in-production' });
await app.register(sessionMiddleware.fastify());

app.get('/greet', async (request) => {
  const visits = await request.session.increment('visits');
  return { session_id: request.state.sessionId, visits };
});

const url = `${await app.listen({ port: 0, host: '127.0.0.1' })}/greet`;

// A browser-like client: the second request sends back only the cookie.
const first = await fetch(url);
const cookie = (first.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
const second = await fetch(url, { headers: { cookie } });

console.log(JSON.stringify(await first.json()));
console.log(JSON.stringify(await second.json()));
await app.close();
