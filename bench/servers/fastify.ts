// The Fastify 5 server of `npm run bench`, one process per measured cell. The variant comes from the
// environment (see bench/configs.ts):
//   BENCH_SESSION  'none' | 'library' | 'fastify-session'
//   BENCH_STORE    'memory' (the only kind here: this library's MemoryStore, @fastify/session's
//                  default in-memory store)
// Routes: GET /count increments `visits` in the session, GET /read only reads it; both answer
// `{"visits":n}`. Without sessions both answer `{"visits":1}`.
// Prints one JSON line `{"port":n}` once listening; exits (writing a --cpu-prof profile) on SIGTERM.
import { createRequire } from 'node:module';
import Fastify, { type FastifyPluginCallback } from 'fastify';
import { MemoryStore, SessionMiddleware } from '../../src/index.js';

const require = createRequire(import.meta.url);
const SECRET = 'bench-secret-not-for-production-0123456789abcdef';

const sessions = process.env.BENCH_SESSION ?? 'none';
const storeKind = process.env.BENCH_STORE ?? 'memory';
if (storeKind !== 'memory') throw new Error(`Unknown BENCH_STORE=${storeKind} (the Fastify server has MemoryStore variants only)`);

const app = Fastify({ logger: false });

if (sessions === 'none') {
  app.get('/count', async () => ({ visits: 1 }));
  app.get('/read', async () => ({ visits: 1 }));
} else if (sessions === 'library') {
  const middleware = new SessionMiddleware({ secret: SECRET, sessionStorage: new MemoryStore() });
  await app.register(middleware.fastify());
  app.get('/count', async (request) => {
    // get/set, as the baseline was measured (increment() is the atomic alternative).
    const visits = ((request.session.get('visits') as number | undefined) ?? 0) + 1;
    request.session.set('visits', visits);
    return { visits };
  });
  app.get('/read', async (request) => ({ visits: (request.session.get('visits') as number | undefined) ?? 0 }));
} else if (sessions === 'fastify-session') {
  // Loaded untyped on purpose: @fastify/session declares `request.session` on Fastify's request
  // type, which clashes with this library's typing of `request.session` in every file of the project.
  type Plugin = FastifyPluginCallback<Record<string, unknown>>;
  const cookie = require('@fastify/cookie') as Plugin;
  const session = require('@fastify/session') as Plugin;
  await app.register(cookie);
  // As express-session's row: its default in-memory store, a browser-session cookie (no maxAge),
  // new sessions saved (saveUninitialized), and the cookie sent only when it must change (rolling
  // false; @fastify/session's default, true, would re-send it on every response). `secure: false`
  // because the load runs over plain HTTP (its default, true, sends no cookie there).
  await app.register(session, { secret: SECRET, saveUninitialized: true, rolling: false, cookie: { secure: false } });
  type Counter = { session: { get(key: 'visits'): number | undefined; set(key: 'visits', value: number): void } };
  app.get('/count', async (request) => {
    const data = (request as unknown as Counter).session;
    const visits = (data.get('visits') ?? 0) + 1;
    data.set('visits', visits);
    return { visits };
  });
  app.get('/read', async (request) => ({ visits: (request as unknown as Counter).session.get('visits') ?? 0 }));
} else {
  throw new Error(`Unknown BENCH_SESSION=${sessions}`);
}

await app.listen({ port: 0, host: '127.0.0.1' });
const address = app.server.address();
process.stdout.write(`${JSON.stringify({ port: typeof address === 'object' && address !== null ? address.port : 0 })}\n`);
process.on('SIGTERM', () => process.exit(0));
