// What `npm run bench` measures, as data: a new configuration (Redis, Fastify, Koa, Hono, ...) is
// one more entry in CONFIGS (plus its server file under bench/servers/ when it needs a new one).
import net from 'node:net';

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

/** The Redis of the Redis rows (and of the tests): `REDIS_URL`, or the machine's default. */
export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

/**
 * Undefined when the Redis at `url` answers `PING` within a second (`+PONG`, or `-NOAUTH` for a
 * server that wants the password the URL carries), else why not. Plain TCP: a failed probe leaves
 * no client retrying. The same check as tests/support/redisServers.ts (which imports jest).
 */
export function probeRedis(url: string = REDIS_URL): Promise<string | undefined> {
  let host: string;
  let port: number;
  try {
    const parsed = new URL(url);
    host = parsed.hostname.replace(/^\[|\]$/g, '') || '127.0.0.1';
    port = Number(parsed.port || 6379);
  } catch {
    return Promise.resolve(`REDIS_URL ${url} is not a URL`);
  }
  return new Promise((resolve) => {
    const socket = net.connect(port, host);
    let answer = '';
    const done = (reason: string | undefined): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(reason);
    };
    const timer = setTimeout(() => done(`Redis at ${url} did not answer PING within 1 s`), 1000);
    socket.on('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk: Buffer) => {
      answer += chunk.toString('latin1');
      if (!answer.includes('\r\n')) return;
      done(/^(\+PONG|-NOAUTH)/.test(answer) ? undefined : `Redis at ${url} answered ${JSON.stringify(answer.trim())} to PING`);
    });
    socket.on('error', (error) => done(`Redis at ${url} is unreachable (${error.message}; set REDIS_URL)`));
  });
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
  // Later rows, for the issues that add them (each against its peer), look like:
  // { id: 'fastify', framework: 'fastify', role: 'raw', server: 'fastify', env: { BENCH_SESSION: 'none' }, ... },
  // { id: 'fastify+library-memory', framework: 'fastify', role: 'library', peer: 'fastify+fastify-session-memory', ... },
  // and likewise Koa (koa-session) and Hono (@hono/session).
];
