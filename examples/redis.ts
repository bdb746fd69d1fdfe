// Sessions in Redis: the DI container's store swapped for a RedisStore with one rebinding.
// Needs a Redis on 127.0.0.1:6379 (or REDIS_URL). With node-redis instead of ioredis:
//   const client = await createClient({ url }).connect();   // import { createClient } from 'redis'
import type { AddressInfo } from 'node:net';
import express from 'express';
import { Container } from 'inversify';
import { Redis } from 'ioredis';
import { RedisStore, SessionMiddleware, TYPES, sessionModule } from 'swarmauri-middleware-session';

const client = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');

const container = new Container();
container.load(sessionModule({ secret: process.env.SESSION_SECRET ?? 'example-secret-change-me-in-production', maxAge: 600 }));
// The one change from the in-memory setup: every instance sharing this Redis shares the sessions.
container.rebind(TYPES.SessionStore).toConstantValue(new RedisStore({ client, prefix: 'example:session:' }));

const sessionMiddleware = container.get(SessionMiddleware);
const app = express();
app.use(sessionMiddleware.express());
app.get('/greet', async (req, res) => {
  const visits = await req.session.increment('visits'); // one atomic round trip to Redis
  res.json({ store: sessionMiddleware.sessionStorage instanceof RedisStore ? 'redis' : 'other', session_id: req.session.id, visits });
});

const server = app.listen(0, '127.0.0.1');
await new Promise((resolve) => server.once('listening', resolve));
const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/greet`;

try {
  // A browser-like client: the second request sends back only the cookie.
  const first = await fetch(url);
  const cookie = (first.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
  const second = await fetch(url, { headers: { cookie } });
  console.log(JSON.stringify(await first.json()));
  console.log(JSON.stringify(await second.json()));
} finally {
  server.close();
  await client.quit();
}
