/**
 * Real Redis servers for tests: the machine's Redis (127.0.0.1:6379, or `REDIS_URL`), and Redis
 * Clusters that a test starts itself (`redis-server` processes on free loopback ports, stopped by
 * PID).
 *
 * Policy: without `CI`, a suite whose server is unreachable is skipped with a printed reason; with
 * `CI` set (to anything but `false`/`0`) it fails instead, never skips.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net, { type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import { describe, it } from '@jest/globals';
import { probeRedis, REDIS_URL } from './redisProbe.js';

export { probeRedis, REDIS_URL };

const run = promisify(execFile);

/** True when running under CI (then an unreachable server fails the suite). */
export const IN_CI = process.env.CI !== undefined && process.env.CI !== '' && process.env.CI !== 'false' && process.env.CI !== '0';

/** A prefix no other test run uses: `test:<label>:<uuid>:`. */
export function uniquePrefix(label: string): string {
  return `test:${label}:${randomUUID()}:`;
}

/**
 * Declares `name` with `body` when `unavailable` is undefined. Otherwise, under CI, a suite with
 * one failing test that gives the reason; without CI, a skipped suite and the reason printed.
 */
export function describeWithServer(name: string, unavailable: string | undefined, body: () => void): void {
  if (unavailable === undefined) {
    describe(name, body);
  } else if (IN_CI) {
    describe(name, () => {
      it('has its server (CI never skips)', () => {
        throw new Error(`${name}: ${unavailable}`);
      });
    });
  } else {
    console.warn(`Skipping "${name}": ${unavailable} (set REDIS_URL, or CI=true to fail instead)`);
    describe.skip(name, () => {
      it('needs its server', () => undefined);
    });
  }
}

/** Free loopback TCP ports (held open together so they differ, then released). */
export async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<net.Server>((resolve, reject) => {
          const server = net.createServer();
          server.once('error', reject);
          server.listen(0, '127.0.0.1', () => resolve(server));
        }),
    ),
  );
  const ports = servers.map((server) => (server.address() as AddressInfo).port);
  await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  return ports;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function redisCli(...args: string[]): Promise<string> {
  const { stdout } = await run('redis-cli', args, { timeout: 10_000 });
  return stdout;
}

/** Polls `check` every 50 ms until it resolves true, or throws `what` after `ms`. */
async function waitFor(what: string, ms: number, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await check().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

/** A Redis Cluster of loopback `redis-server` processes started by a test. */
export interface RunningCluster {
  /** The masters' client ports on 127.0.0.1. */
  readonly ports: number[];
  /** `{ host, port }` of every master, for ioredis `Cluster` and node-redis `createCluster`. */
  readonly nodes: Array<{ host: string; port: number }>;
  /** Kills every server by PID and removes their directory. */
  stop(): Promise<void>;
}

const running = new Set<ChildProcess>();
// A safety net: a test process that ends without afterAll still takes its servers with it.
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/**
 * Starts a cluster of `masters` masters and no replicas: `redis-server --cluster-enabled yes` on
 * free loopback ports (no persistence, in a temporary directory), `redis-cli --cluster create`,
 * then waits until every node reports `cluster_state:ok`.
 */
export async function startCluster(masters = 3): Promise<RunningCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'redis-cluster-'));
  const ports = await freePorts(masters * 2);
  const clientPorts = ports.slice(0, masters);
  const children: ChildProcess[] = [];
  const stop = async (): Promise<void> => {
    await Promise.all(
      children.map(
        (child) =>
          new Promise<void>((resolve) => {
            running.delete(child);
            if (child.exitCode !== null || child.signalCode !== null) return resolve();
            child.once('exit', () => resolve());
            child.kill('SIGKILL');
          }),
      ),
    );
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    for (let i = 0; i < masters; i++) {
      const port = clientPorts[i]!;
      const child = spawn(
        'redis-server',
        [
          '--port', String(port),
          '--bind', '127.0.0.1',
          '--cluster-enabled', 'yes',
          '--cluster-port', String(ports[masters + i]),
          '--cluster-config-file', join(dir, `nodes-${port}.conf`),
          '--save', '',
          '--appendonly', 'no',
          '--dir', dir,
        ],
        { stdio: 'ignore' },
      );
      children.push(child);
      running.add(child);
      await new Promise<void>((resolve, reject) => {
        child.once('spawn', resolve);
        child.once('error', reject);
      });
    }
    for (const port of clientPorts) {
      await waitFor(`redis-server on port ${port}`, 5_000, async () => (await redisCli('-p', String(port), 'ping')).trim() === 'PONG');
    }
    await redisCli('--cluster', 'create', ...clientPorts.map((port) => `127.0.0.1:${port}`), '--cluster-replicas', '0', '--cluster-yes');
    for (const port of clientPorts) {
      await waitFor(`cluster_state:ok on port ${port}`, 10_000, async () =>
        (await redisCli('-p', String(port), 'cluster', 'info')).includes('cluster_state:ok'),
      );
    }
  } catch (error) {
    await stop();
    throw error;
  }
  return { ports: clientPorts, nodes: clientPorts.map((port) => ({ host: '127.0.0.1', port })), stop };
}

/**
 * Resolves `undefined` when `redis-server` can be run (`redis-server --version`), else why not:
 * the reason a suite that starts its own servers is skipped (or, under CI, fails).
 */
export async function redisServerMissing(): Promise<string | undefined> {
  try {
    const { stdout } = await run('redis-server', ['--version'], { timeout: 10_000 });
    return /Redis server v=/.test(stdout) ? undefined : `redis-server --version answered ${JSON.stringify(stdout.trim())}`;
  } catch (error) {
    return `redis-server is not installed or cannot run (${error instanceof Error ? error.message : String(error)})`;
  }
}

/** One `redis-server` process started by a test, on a free loopback port, controlled by PID. */
export interface RedisProcess {
  /** Its client port on 127.0.0.1 (kept across {@link RedisProcess.restart}). */
  readonly port: number;
  /** `redis://127.0.0.1:<port>` */
  readonly url: string;
  /** The PID of the current process (a new one after each restart). */
  readonly pid: number;
  /** Its working directory (where an append-only file goes), removed by {@link RedisProcess.stop}. */
  readonly dir: string;
  /** Sends `signal` to the process by PID (`SIGSTOP`, `SIGCONT`, ...). */
  signal(signal: NodeJS.Signals): void;
  /** SIGKILL by PID; resolves once the process has exited. */
  kill(): Promise<void>;
  /** Starts the server again with the same port, arguments and directory; resolves once it answers PING. */
  restart(): Promise<void>;
  /** Kills the process (SIGCONT first, in case it was stopped) and removes its directory. */
  stop(): Promise<void>;
}

/**
 * Starts a standalone `redis-server` on a free loopback port in a temporary directory, and waits
 * until it answers PING. Without `persistent`, no RDB and no AOF; with it, `appendonly yes` and
 * `appendfsync always` (every acknowledged write is on disk), so a restart after a kill reloads
 * what the server acknowledged.
 */
export async function startRedisServer(options: { persistent?: boolean } = {}): Promise<RedisProcess> {
  const dir = mkdtempSync(join(tmpdir(), 'redis-server-'));
  const [port] = await freePorts(1);
  const args = [
    '--port', String(port),
    '--bind', '127.0.0.1',
    '--save', '',
    '--dir', dir,
    ...(options.persistent ? ['--appendonly', 'yes', '--appendfsync', 'always'] : ['--appendonly', 'no']),
  ];
  const url = `redis://127.0.0.1:${port}`;
  let child: ChildProcess | undefined;
  const exited = (c: ChildProcess): boolean => c.exitCode !== null || c.signalCode !== null;
  const kill = async (): Promise<void> => {
    const current = child;
    if (!current) return;
    running.delete(current);
    if (exited(current)) return;
    await new Promise<void>((resolve) => {
      current.once('exit', () => resolve());
      process.kill(current.pid!, 'SIGKILL');
    });
  };
  const launch = async (): Promise<void> => {
    const started = spawn('redis-server', args, { stdio: 'ignore' });
    child = started;
    running.add(started);
    await new Promise<void>((resolve, reject) => {
      started.once('spawn', resolve);
      started.once('error', reject);
    });
    await waitFor(`redis-server on port ${port}`, 10_000, async () => {
      if (exited(started)) throw new Error(`redis-server on port ${port} exited`);
      return (await probeRedis(url)) === undefined;
    });
  };
  const server: RedisProcess = {
    port: port!,
    url,
    get pid() {
      return child?.pid ?? -1;
    },
    dir,
    signal(signal) {
      if (child && !exited(child)) process.kill(child.pid!, signal);
    },
    kill,
    async restart() {
      await kill();
      await launch();
    },
    async stop() {
      if (child && !exited(child)) process.kill(child.pid!, 'SIGCONT');
      await kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  try {
    await launch();
  } catch (error) {
    await server.stop();
    throw error;
  }
  return server;
}
