// The Hono 4 server of `npm run bench` (on @hono/node-server), one process per measured cell. The
// variant comes from the environment (see bench/configs.ts):
//   BENCH_SESSION  'none' | 'library' | 'hono-session'
//   BENCH_STORE    'memory' (the default; the only one here)
// Routes: GET /count increments `visits` in the session, GET /read only reads it; both answer
// `{"visits":n}`. Without sessions both answer `{"visits":1}`.
// Prints one JSON line `{"port":n}` once listening; exits on SIGTERM.
//
// @hono/session 0.2 keeps the session data in its cookie, encrypted (JWE), unless it is given a
// `Storage` through `useSessionStorage` (it ships none). The peer row gives it the smallest
// in-memory one, a Map, as its README's "With Session storage" example does, so that both rows
// keep the data server-side; the cookie then holds only the encrypted session id.
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { MemoryStore, SessionMiddleware } from '../../src/index.js';

const SECRET = 'bench-secret-not-for-production-0123456789abcdef';
/** @hono/session wants a 32-byte key, hex-encoded. */
const HONO_SESSION_SECRET = '0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef';

const sessions = process.env.BENCH_SESSION ?? 'none';
const storeKind = process.env.BENCH_STORE ?? 'memory';
if (storeKind !== 'memory') throw new Error(`Unknown BENCH_STORE=${storeKind} (the Hono server has MemoryStore rows only)`);

const app = new Hono();

if (sessions === 'none') {
  app.get('/count', (c) => c.json({ visits: 1 }));
  app.get('/read', (c) => c.json({ visits: 1 }));
} else if (sessions === 'library') {
  const middleware = new SessionMiddleware({ secret: SECRET, sessionStorage: new MemoryStore() });
  app.use(middleware.hono());
  app.get('/count', (c) => {
    // get/set, as the Express rows do (increment() is the atomic alternative).
    const session = c.get('session');
    const visits = ((session.get('visits') as number | undefined) ?? 0) + 1;
    session.set('visits', visits);
    return c.json({ visits });
  });
  app.get('/read', (c) => c.json({ visits: (c.get('session').get('visits') as number | undefined) ?? 0 }));
} else if (sessions === 'hono-session') {
  const { useSession, useSessionStorage } = await import('@hono/session');
  type Data = { visits?: number };
  const map = new Map<string, Data>();
  // Typed loosely: this library types `c.get('session')` (Hono's ContextVariableMap) as its own Session.
  type PeerSession = { get(): Promise<Data | null>; update(data: Data): Promise<void> };
  app.use(
    useSessionStorage({ delete: (sid) => void map.delete(sid), get: (sid) => map.get(sid) ?? null, set: (sid, value: Data) => void map.set(sid, value) }),
    useSession<Data>({ secret: HONO_SESSION_SECRET }),
  );
  app.get('/count', async (c) => {
    const session = c.var.session as unknown as PeerSession;
    const visits = ((await session.get())?.visits ?? 0) + 1;
    await session.update({ visits });
    return c.json({ visits });
  });
  app.get('/read', async (c) => {
    const session = c.var.session as unknown as PeerSession;
    return c.json({ visits: (await session.get())?.visits ?? 0 });
  });
} else {
  throw new Error(`Unknown BENCH_SESSION=${sessions}`);
}

const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, (info: AddressInfo) => {
  process.stdout.write(`${JSON.stringify({ port: info.port })}\n`);
});
process.on('SIGTERM', () => {
  server.close();
  process.exit(0);
});
