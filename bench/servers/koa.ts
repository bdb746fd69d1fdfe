// The Koa 3 server of `npm run bench`, one process per measured cell. The variant comes from the
// environment (see bench/configs.ts):
//   BENCH_SESSION  'none' | 'library' | 'koa-session'
// Both session variants keep their sessions in process memory, server side: this library with its
// MemoryStore, koa-session 7 with an in-memory external `store` (a Map of JSON text, as
// express-session's MemoryStore keeps them), so that its cookie carries only a signed key, as ours
// does, rather than the whole session (koa-session's default, which would measure no store at all).
// Routes: GET /count increments `visits` in the session, GET /read only reads it; both answer
// `{"visits":n}`. Without sessions both answer `{"visits":1}`.
// Prints one JSON line `{"port":n}` once listening; exits (writing a --cpu-prof profile) on SIGTERM.
import type { AddressInfo } from 'node:net';
import Koa from 'koa';
import createSession from 'koa-session';
import { MemoryStore, SessionMiddleware } from '../../src/index.js';

const SECRET = 'bench-secret-not-for-production-0123456789abcdef';
/** Session lifetime of both session variants: this library's default maxAge (one hour). */
const MAX_AGE_SECONDS = 3600;

const sessions = process.env.BENCH_SESSION ?? 'none';
const app = new Koa();

/** The two routes, over however the variant reads and writes `visits`. */
function routes(read: (ctx: Koa.Context) => number, write: (ctx: Koa.Context, visits: number) => void): void {
  app.use((ctx) => {
    if (ctx.path === '/count') {
      const visits = read(ctx) + 1;
      write(ctx, visits);
      ctx.body = { visits };
    } else if (ctx.path === '/read') {
      ctx.body = { visits: read(ctx) };
    }
  });
}

if (sessions === 'none') {
  app.use((ctx) => {
    if (ctx.path === '/count' || ctx.path === '/read') ctx.body = { visits: 1 };
  });
} else if (sessions === 'library') {
  const middleware = new SessionMiddleware({ secret: SECRET, sessionStorage: new MemoryStore(), maxAge: MAX_AGE_SECONDS });
  app.use(middleware.koa());
  // get/set, as the baseline was measured (increment() is the atomic alternative).
  routes(
    (ctx) => (ctx.session.get('visits') as number | undefined) ?? 0,
    (ctx, visits) => ctx.session.set('visits', visits),
  );
} else if (sessions === 'koa-session') {
  /** koa-session's external store contract, in memory: JSON text with its expiry, like express-session's MemoryStore. */
  const entries = new Map<string, { json: string; expires: number }>();
  const store = {
    async get(key: string): Promise<unknown> {
      const entry = entries.get(key);
      if (entry === undefined) return undefined;
      if (entry.expires <= Date.now()) {
        entries.delete(key);
        return undefined;
      }
      return JSON.parse(entry.json) as unknown;
    },
    async set(key: string, session: unknown, maxAge: number): Promise<void> {
      entries.set(key, { json: JSON.stringify(session), expires: Date.now() + maxAge });
    },
    async destroy(key: string): Promise<void> {
      entries.delete(key);
    },
  };
  app.keys = [SECRET];
  app.use(createSession({ store, maxAge: MAX_AGE_SECONDS * 1000 }, app));
  type Counter = { session: { visits?: number } };
  routes(
    (ctx) => (ctx as unknown as Counter).session.visits ?? 0,
    (ctx, visits) => {
      (ctx as unknown as Counter).session.visits = visits;
    },
  );
} else {
  throw new Error(`Unknown BENCH_SESSION=${sessions}`);
}

const server = app.listen(0, '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ port: (server.address() as AddressInfo).port })}\n`);
});
process.on('SIGTERM', () => process.exit(0));
