// The Express server of `npm run bench`, one process per measured cell. The variant comes from the
// environment (see bench/configs.ts):
//   BENCH_EXPRESS  'express' (5) or 'express4'
//   BENCH_SESSION  'none' | 'library' | 'express-session'
//   BENCH_STORE    'memory' | 'redis' (this library: RedisStore; express-session: connect-redis 9),
//                  both on a node-redis client to REDIS_URL (default redis://127.0.0.1:6379)
// Routes: GET /count increments `visits` in the session, GET /read only reads it; both answer
// `{"visits":n}`. Without sessions both answer `{"visits":1}`.
// Prints one JSON line `{"port":n}` once listening; exits (writing a --cpu-prof profile) on SIGTERM.
//
// With Redis, each process connects before listening and keeps its sessions under a key prefix of
// its own (`bench:<session>:<pid>-<random>:`) with a 300 s TTL; on SIGTERM it stops serving,
// deletes every key under its prefix (SCAN + UNLINK) and closes the client, so the new-client
// scenario (one stored session per request) leaves nothing behind, and a killed process leaves
// keys that expire within five minutes.
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import type { RequestHandler } from 'express';
import express from 'express';
import type { createClient } from 'redis';
import { MemoryStore, RedisStore, SessionMiddleware, type SessionStore } from '../../src/index.js';

const require = createRequire(import.meta.url);
const SECRET = 'bench-secret-not-for-production-0123456789abcdef';
/** Session lifetime of the Redis variants, seconds: short, so that keys a killed process leaves expire soon. */
const REDIS_TTL_SECONDS = 300;

const expressModule = process.env.BENCH_EXPRESS ?? 'express';
const sessions = process.env.BENCH_SESSION ?? 'none';
const storeKind = process.env.BENCH_STORE ?? 'memory';
if (storeKind !== 'memory' && storeKind !== 'redis') throw new Error(`Unknown BENCH_STORE=${storeKind}`);

/** The Redis of the process (connected before listening), its key prefix, and the cleanup at exit. */
type NodeRedis = ReturnType<typeof createClient>;
let redis: { client: NodeRedis; prefix: string } | undefined;
if (storeKind === 'redis' && sessions !== 'none') {
  // Imported here, so that the MemoryStore variants neither load nor need the package.
  const { createClient: connect } = await import('redis');
  const client = connect({ url: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379' });
  let reported = 0;
  client.on('error', (error: Error) => {
    // Reconnections repeat the same error: report the first few only.
    if (reported++ < 5) process.stderr.write(`bench server: Redis client error: ${error.message}\n`);
  });
  await client.connect();
  redis = { client, prefix: `bench:${sessions}:${process.pid}-${randomBytes(6).toString('hex')}:` };
}

/** Deletes every key under this process's prefix: SCAN (never KEYS) + UNLINK, batch by batch. */
async function deleteOwnKeys(client: NodeRedis, prefix: string): Promise<number> {
  let deleted = 0;
  const match = `${prefix.replace(/[*?[\]\\]/g, '\\$&')}*`;
  for await (const keys of client.scanIterator({ MATCH: match, COUNT: 1000 })) {
    if (keys.length) deleted += await client.unlink(keys);
  }
  return deleted;
}

const createApp = (expressModule === 'express' ? express : require(expressModule)) as typeof express;
const app = createApp();

if (sessions === 'none') {
  app.get('/count', (_req, res) => {
    res.json({ visits: 1 });
  });
  app.get('/read', (_req, res) => {
    res.json({ visits: 1 });
  });
} else if (sessions === 'library') {
  const sessionStorage: SessionStore = redis ? new RedisStore({ client: redis.client, prefix: redis.prefix }) : new MemoryStore();
  const middleware = new SessionMiddleware({ secret: SECRET, sessionStorage, ...(redis ? { maxAge: REDIS_TTL_SECONDS } : {}) });
  app.use(middleware.express());
  app.get('/count', (req, res) => {
    // get/set, as the baseline was measured (increment() is the atomic alternative).
    const visits = ((req.session.get('visits') as number | undefined) ?? 0) + 1;
    req.session.set('visits', visits);
    res.json({ visits });
  });
  app.get('/read', (req, res) => {
    res.json({ visits: (req.session.get('visits') as number | undefined) ?? 0 });
  });
} else if (sessions === 'express-session') {
  // Loaded untyped on purpose: @types/express-session re-declares `req.session` globally, which
  // clashes with this library's typing of `req.session` in every file of the project.
  type SessionFactory = (options: { secret: string; resave: boolean; saveUninitialized: boolean; store?: unknown }) => RequestHandler;
  const session = require('express-session') as SessionFactory & { MemoryStore: new () => unknown };
  let store: unknown;
  if (redis) {
    // connect-redis 9 (node-redis only), untyped for the same reason. Its `ttl` is the TTL of a
    // session whose cookie has no expiry: the express-session options stay those of the MemoryStore
    // row (a browser-session cookie), only the store differs.
    const { RedisStore: ConnectRedisStore } = require('connect-redis') as {
      RedisStore: new (options: { client: NodeRedis; prefix: string; ttl: number }) => unknown;
    };
    store = new ConnectRedisStore({ client: redis.client, prefix: redis.prefix, ttl: REDIS_TTL_SECONDS });
  } else {
    store = new session.MemoryStore();
  }
  app.use(session({ secret: SECRET, resave: false, saveUninitialized: true, store }));
  type Counter = { session: { visits?: number } };
  app.get('/count', (req, res) => {
    const data = (req as unknown as Counter).session;
    data.visits = (data.visits ?? 0) + 1;
    res.json({ visits: data.visits });
  });
  app.get('/read', (req, res) => {
    res.json({ visits: (req as unknown as Counter).session.visits ?? 0 });
  });
} else {
  throw new Error(`Unknown BENCH_SESSION=${sessions}`);
}

const server = app.listen(0, '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ port: (server.address() as AddressInfo).port })}\n`);
});
let stopping = false;
process.on('SIGTERM', () => {
  if (stopping) return;
  stopping = true;
  if (!redis) process.exit(0);
  // Stop serving first, so that no session is stored after the scan; then delete ours and close.
  server.closeAllConnections();
  server.close();
  const { client, prefix } = redis;
  deleteOwnKeys(client, prefix)
    .then(() => client.close())
    .catch((error: unknown) => {
      process.stderr.write(`bench server: could not delete the keys under ${prefix} (they expire within ${REDIS_TTL_SECONDS} s): ${String(error)}\n`);
    })
    .finally(() => process.exit(0));
});
