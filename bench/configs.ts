// What `npm run bench` measures, as data: a new configuration (Redis, Fastify, Koa, Hono, ...) is
// one more entry in CONFIGS (plus its server file under bench/servers/ when it needs a new one).
import { probeRedis } from '../tests/support/redisProbe.js';

/** How a configuration relates to the others of its framework. */
export type Role =
  /** The framework alone, no sessions: the 1.00 that every session row of the framework is divided by. */
  | 'raw'
  /** This library. */
  | 'library'
  /** The session middleware users would replace with this library (express-session, ...). */
  | 'peer';

export interface BenchConfig {
  /** Unique, stable id (used by `--configs` and in the JSON results). */
  id: string;
  /** Framework key: every session row is compared with the `raw` row of the same framework. */
  framework: string;
  /** Row label in the table. */
  label: string;
  /** Short label for the chart. */
  short: string;
  role: Role;
  /** For `library` rows: the id of the `peer` row it is compared with (same framework, same store kind). */
  peer?: string;
  /** Server module under bench/servers/, without extension (compiled to JS before the run). */
  server: string;
  /** Environment handed to the server process: how the server file picks its variant. */
  env: Record<string, string>;
  /** Measured by default; `false` rows run only with `--all` or when named in `--configs`. */
  default: boolean;
  /**
   * Called before the run: a reason to skip the row (a service that is not running, a package that
   * is not installed), or undefined when it can run.
   */
  unavailable?: () => Promise<string | undefined> | string | undefined;
}

export interface Scenario {
  id: 'returning' | 'new' | 'read';
  /** Row label in the table. */
  label: string;
  /** Short label for the chart. */
  short: string;
  /** Route hit under load: `/count` increments a counter in the session, `/read` only reads it. */
  path: '/count' | '/read';
  /**
   * Whether the load sends a session cookie: the one set by a single `/count` request made before
   * the load (one session shared by every connection). Without it, every request starts a session.
   */
  cookie: boolean;
}

export const SCENARIOS: readonly Scenario[] = [
  { id: 'returning', label: 'returning client (valid cookie), route writes', short: 'returning, writes', path: '/count', cookie: true },
  { id: 'new', label: 'new client (no cookie), route writes', short: 'new client', path: '/count', cookie: false },
  { id: 'read', label: 'returning client, read-only route', short: 'returning, read-only', path: '/read', cookie: true },
];

/** The raw framework row runs once per round, on `/count` without a cookie (it has no sessions). */
export const RAW_SCENARIO: Scenario = { id: 'new', label: '(no sessions)', short: 'no sessions', path: '/count', cookie: false };

function moduleMissing(name: string): string | undefined {
  try {
    import.meta.resolve(name);
    return undefined;
  } catch {
    return `${name} is not installed`;
  }
}


let redisProbe: Promise<string | undefined> | undefined;

/** Why the Redis rows cannot run (Redis unreachable, a client package missing), or undefined. Probed once per run. */
async function redisUnavailable(...packages: string[]): Promise<string | undefined> {
  for (const name of packages) {
    const missing = moduleMissing(name);
    if (missing) return missing;
  }
  redisProbe ??= probeRedis();
  return redisProbe;
}

export const CONFIGS: readonly BenchConfig[] = [
  {
    id: 'express',
    framework: 'express',
    label: 'Express 5, no sessions',
    short: 'Express 5',
    role: 'raw',
    server: 'express',
    env: { BENCH_EXPRESS: 'express', BENCH_SESSION: 'none' },
    default: true,
  },
  {
    id: 'express+library-memory',
    framework: 'express',
    label: 'Express 5 + this library (MemoryStore)',
    short: 'this library',
    role: 'library',
    peer: 'express+express-session-memory',
    server: 'express',
    env: { BENCH_EXPRESS: 'express', BENCH_SESSION: 'library', BENCH_STORE: 'memory' },
    default: true,
  },
  {
    id: 'express+express-session-memory',
    framework: 'express',
    label: 'Express 5 + express-session (MemoryStore)',
    short: 'express-session',
    role: 'peer',
    server: 'express',
    env: { BENCH_EXPRESS: 'express', BENCH_SESSION: 'express-session', BENCH_STORE: 'memory' },
    default: true,
    unavailable: () => moduleMissing('express-session'),
  },
  // Redis (issue 7): the same scenarios with the sessions in the machine's Redis (`REDIS_URL`
  // overrides), through node-redis for both; skipped with the reason when Redis does not answer.
  {
    id: 'express+library-redis',
    framework: 'express',
    label: 'Express 5 + this library (RedisStore, node-redis)',
    short: 'this library, Redis',
    role: 'library',
    peer: 'express+connect-redis',
    server: 'express',
    env: { BENCH_EXPRESS: 'express', BENCH_SESSION: 'library', BENCH_STORE: 'redis' },
    default: true,
    unavailable: () => redisUnavailable('redis'),
  },
  {
    id: 'express+connect-redis',
    framework: 'express',
    label: 'Express 5 + express-session + connect-redis 9 (node-redis)',
    short: 'connect-redis',
    role: 'peer',
    server: 'express',
    env: { BENCH_EXPRESS: 'express', BENCH_SESSION: 'express-session', BENCH_STORE: 'redis' },
    default: true,
    unavailable: () => redisUnavailable('redis', 'express-session', 'connect-redis'),
  },
  // Express 4 is supported too; its rows run with `--all` (they add seven minutes to a full run).
  {
    id: 'express4',
    framework: 'express4',
    label: 'Express 4, no sessions',
    short: 'Express 4',
    role: 'raw',
    server: 'express',
    env: { BENCH_EXPRESS: 'express4', BENCH_SESSION: 'none' },
    default: false,
    unavailable: () => moduleMissing('express4'),
  },
  {
    id: 'express4+library-memory',
    framework: 'express4',
    label: 'Express 4 + this library (MemoryStore)',
    short: 'this library',
    role: 'library',
    peer: 'express4+express-session-memory',
    server: 'express',
    env: { BENCH_EXPRESS: 'express4', BENCH_SESSION: 'library', BENCH_STORE: 'memory' },
    default: false,
    unavailable: () => moduleMissing('express4'),
  },
  {
    id: 'express4+express-session-memory',
    framework: 'express4',
    label: 'Express 4 + express-session (MemoryStore)',
    short: 'express-session',
    role: 'peer',
    server: 'express',
    env: { BENCH_EXPRESS: 'express4', BENCH_SESSION: 'express-session', BENCH_STORE: 'memory' },
    default: false,
    unavailable: () => moduleMissing('express4') ?? moduleMissing('express-session'),
  },
  // Fastify 5 (issue 8): raw Fastify, this library's plugin and @fastify/session with its MemoryStore.
  {
    id: 'fastify',
    framework: 'fastify',
    label: 'Fastify 5, no sessions',
    short: 'Fastify 5',
    role: 'raw',
    server: 'fastify',
    env: { BENCH_SESSION: 'none' },
    default: true,
    unavailable: () => moduleMissing('fastify'),
  },
  {
    id: 'fastify+library-memory',
    framework: 'fastify',
    label: 'Fastify 5 + this library (MemoryStore)',
    short: 'this library',
    role: 'library',
    peer: 'fastify+fastify-session-memory',
    server: 'fastify',
    env: { BENCH_SESSION: 'library', BENCH_STORE: 'memory' },
    default: true,
    unavailable: () => moduleMissing('fastify'),
  },
  {
    id: 'fastify+fastify-session-memory',
    framework: 'fastify',
    label: 'Fastify 5 + @fastify/session (MemoryStore)',
    short: '@fastify/session',
    role: 'peer',
    server: 'fastify',
    env: { BENCH_SESSION: 'fastify-session', BENCH_STORE: 'memory' },
    default: true,
    unavailable: () => moduleMissing('fastify') ?? moduleMissing('@fastify/session') ?? moduleMissing('@fastify/cookie'),
  },
  // Koa 3 (issue 8): koa-session 7 with an in-memory external store (server-side sessions, a
  // signed key in the cookie), like express-session's MemoryStore.
  {
    id: 'koa',
    framework: 'koa',
    label: 'Koa 3, no sessions',
    short: 'Koa 3',
    role: 'raw',
    server: 'koa',
    env: { BENCH_SESSION: 'none' },
    default: true,
    unavailable: () => moduleMissing('koa'),
  },
  {
    id: 'koa+library-memory',
    framework: 'koa',
    label: 'Koa 3 + this library (MemoryStore)',
    short: 'this library',
    role: 'library',
    peer: 'koa+koa-session-memory',
    server: 'koa',
    env: { BENCH_SESSION: 'library' },
    default: true,
    unavailable: () => moduleMissing('koa'),
  },
  {
    id: 'koa+koa-session-memory',
    framework: 'koa',
    label: 'Koa 3 + koa-session 7 (in-memory store)',
    short: 'koa-session',
    role: 'peer',
    server: 'koa',
    env: { BENCH_SESSION: 'koa-session' },
    default: true,
    unavailable: () => moduleMissing('koa') ?? moduleMissing('koa-session'),
  },
  // Hono 4 on @hono/node-server (issue 8). @hono/session keeps its session in an encrypted cookie;
  // the peer row gives it a Map as storage (its README's `useSessionStorage`).
  {
    id: 'hono',
    framework: 'hono',
    label: 'Hono 4 (@hono/node-server), no sessions',
    short: 'Hono 4',
    role: 'raw',
    server: 'hono',
    env: { BENCH_SESSION: 'none' },
    default: true,
    unavailable: () => moduleMissing('hono') ?? moduleMissing('@hono/node-server'),
  },
  {
    id: 'hono+library-memory',
    framework: 'hono',
    label: 'Hono 4 + this library (MemoryStore)',
    short: 'this library',
    role: 'library',
    peer: 'hono+hono-session-memory',
    server: 'hono',
    env: { BENCH_SESSION: 'library', BENCH_STORE: 'memory' },
    default: true,
    unavailable: () => moduleMissing('hono') ?? moduleMissing('@hono/node-server'),
  },
  {
    id: 'hono+hono-session-memory',
    framework: 'hono',
    label: 'Hono 4 + @hono/session 0.2 (Map storage)',
    short: '@hono/session',
    role: 'peer',
    server: 'hono',
    env: { BENCH_SESSION: 'hono-session', BENCH_STORE: 'memory' },
    default: true,
    unavailable: () => moduleMissing('hono') ?? moduleMissing('@hono/node-server') ?? moduleMissing('@hono/session'),
  },
];
