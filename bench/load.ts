// The load generators of `npm run bench`: wrk when it is installed, autocannon (a dev dependency)
// otherwise. Each runs as its own process, pinned to the load core when taskset exists.
import { execFile, execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';

export type LoadTool = 'wrk' | 'autocannon';

export interface LoadOptions {
  url: string;
  /** Extra request headers (the session cookie of a returning client). */
  headers: Record<string, string>;
  connections: number;
  /** Seconds. */
  duration: number;
  /** Command prefix that pins the load generator, e.g. ['taskset', '-c', '1'], or []. */
  pin: string[];
}

export interface LoadResult {
  /** Responses received, all statuses. */
  requests: number;
  /** Requests per second over the measured interval. */
  rps: number;
  /** 99th percentile latency, milliseconds. */
  p99Ms: number;
  /** Responses outside 2xx plus socket errors and timeouts (a correct run has 0). */
  errors: number;
}

export function hasCommand(command: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** `auto` picks wrk when it is on the PATH, autocannon otherwise. */
export function pickTool(wanted: string): LoadTool {
  if (wanted === 'wrk' || wanted === 'autocannon') return wanted;
  if (wanted !== 'auto') throw new Error(`--load must be auto, wrk or autocannon (got ${wanted})`);
  return hasCommand('wrk') ? 'wrk' : 'autocannon';
}

export function toolVersion(tool: LoadTool): string {
  if (tool === 'autocannon') {
    const require = createRequire(import.meta.url);
    return `autocannon ${(require('autocannon/package.json') as { version: string }).version}`;
  }
  try {
    execFileSync('wrk', ['-v'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (error) {
    // wrk -v prints its version and exits 1.
    const out = `${(error as { stdout?: string }).stdout ?? ''}`.trim();
    const match = /wrk\s+(\S+)/.exec(out);
    if (match) return `wrk ${match[1]}`;
  }
  return 'wrk';
}

function run(command: string[], timeoutMs: number): Promise<string> {
  const [file, ...args] = command as [string, ...string[]];
  return new Promise((resolve, reject) => {
    execFile(file, args, { timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${command.join(' ')} failed: ${error.message}\n${stderr}`));
      else resolve(stdout);
    });
  });
}

export async function runLoad(tool: LoadTool, options: LoadOptions): Promise<LoadResult> {
  return tool === 'wrk' ? runWrk(options) : runAutocannon(options);
}

async function runWrk({ url, headers, connections, duration, pin }: LoadOptions): Promise<LoadResult> {
  const args = ['wrk', '-t1', `-c${connections}`, `-d${Math.max(1, Math.round(duration))}s`, '--latency', '--timeout', '10s'];
  for (const [name, value] of Object.entries(headers)) args.push('-H', `${name}: ${value}`);
  args.push(url);
  const out = await run([...pin, ...args], (duration + 30) * 1000);
  return parseWrk(out);
}

const UNIT_MS: Record<string, number> = { us: 0.001, ms: 1, s: 1000, m: 60_000 };

/** Parses wrk's report (with --latency). */
export function parseWrk(out: string): LoadResult {
  const rps = /Requests\/sec:\s+([\d.]+)/.exec(out);
  const total = /(\d+) requests in/.exec(out);
  const p99 = /^\s*99%\s+([\d.]+)(us|ms|s|m)\s*$/m.exec(out);
  if (!rps || !total || !p99) throw new Error(`Could not read wrk's report:\n${out}`);
  const non2xx = Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(out)?.[1] ?? 0);
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const socketErrors = socket ? socket.slice(1).reduce((sum, n) => sum + Number(n), 0) : 0;
  return {
    requests: Number(total[1]),
    rps: Number(rps[1]),
    p99Ms: Number(p99[1]) * (UNIT_MS[p99[2] as string] ?? 1),
    errors: non2xx + socketErrors,
  };
}

async function runAutocannon({ url, headers, connections, duration, pin }: LoadOptions): Promise<LoadResult> {
  const require = createRequire(import.meta.url);
  const cli = require.resolve('autocannon/autocannon.js');
  const args = [process.execPath, cli, '-j', '-n', '-c', String(connections), '-d', String(duration)];
  for (const [name, value] of Object.entries(headers)) args.push('-H', `${name}=${value}`);
  args.push(url);
  const out = await run([...pin, ...args], (duration + 30) * 1000);
  return parseAutocannon(out);
}

interface AutocannonJson {
  requests: { total: number };
  latency: { p99: number };
  duration: number;
  errors: number;
  timeouts: number;
  non2xx: number;
}

/** Parses autocannon's `--json` result (the last JSON line it prints). */
export function parseAutocannon(out: string): LoadResult {
  const line = out.trim().split('\n').reverse().find((text) => text.startsWith('{'));
  if (!line) throw new Error(`Could not read autocannon's report:\n${out}`);
  const json = JSON.parse(line) as AutocannonJson;
  return {
    requests: json.requests.total,
    rps: json.requests.total / json.duration,
    p99Ms: json.latency.p99,
    errors: json.non2xx + json.errors + json.timeouts,
  };
}
