// `npm run bench`: throughput and p99 latency of each configuration in bench/configs.ts under each
// scenario, side by side in one run, plus memory; see docs/benchmarks.md.
//
//   npm run bench                      full run (3 s warm-up, 5 interleaved rounds of 10 s), writes
//                                      docs/benchmarks.md and docs/benchmarks.svg
//   npm run bench -- --quick           smoke run (1 s cells, 1 round, 5,000 sessions): numbers, not speed
//   npm run bench -- --profile         CPU profile of this library's returning-client server under load
//   npm run bench -- --help            every flag
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg, release } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { renderChart, type ChartBar, type ChartSection } from './chart.js';
import { CONFIGS, RAW_SCENARIO, SCENARIOS, type BenchConfig, type Scenario } from './configs.js';
import { hasCommand, pickTool, runLoad, toolVersion, type LoadResult, type LoadTool } from './load.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const HELP = `Usage: npm run bench -- [flags]

  --quick               smoke run: 1 s warm-up and 1 s per cell, 1 round, 5,000 sessions in the
                        memory figures; checks that the bench runs, not a speed; writes no docs
  --rounds N            interleaved measured rounds (default 5)
  --duration S          seconds per cell and round (default 10)
  --warmup S            seconds of warm-up per cell before the rounds (default 3)
  --connections N       concurrent connections of the load generator (default 32)
  --load auto|wrk|autocannon
                        load generator (default auto: wrk when installed, else autocannon)
  --configs a,b         only these configuration ids (see bench/configs.ts); writes no docs
  --all                 also the configurations that are off by default (Express 4)
                        (the Redis rows use REDIS_URL, default redis://127.0.0.1:6379, and are
                        skipped with the reason when it does not answer PING)
  --memory-count N      sessions stored for the heap-per-session figure (default 100000)
  --flood N             requests with made-up ids for the heap-growth figure (default 100000)
  --paired-rounds N     side-by-side rounds (default 3; 1 with --quick; 0 skips them): each
                        session cell runs at the same time as its raw framework, both servers
                        sharing one core, and the ratio of their req/s is taken (see docs)
  --paired-duration S   seconds per side-by-side run (default 5; 1 with --quick)
  --no-memory           skip the memory figures
  --no-write            do not write docs/benchmarks.md and docs/benchmarks.svg
  --profile             instead of the table: CPU-profile this library's returning-client server
                        (Express 5, MemoryStore) under the same load (warm-up, then one --duration
                        run), print the top self-time functions, and (unless --quick or --no-write)
                        put them in docs/benchmarks.md
                        --configs ID and --scenario returning|new|read profile another cell
  --profile-dir DIR     where the .cpuprofile goes (default /tmp/prof)
`;

const { values: flags } = parseArgs({
  args: process.argv.slice(2),
  options: {
    quick: { type: 'boolean', default: false },
    rounds: { type: 'string' },
    duration: { type: 'string' },
    warmup: { type: 'string' },
    connections: { type: 'string' },
    load: { type: 'string', default: 'auto' },
    configs: { type: 'string' },
    all: { type: 'boolean', default: false },
    'memory-count': { type: 'string' },
    flood: { type: 'string' },
    'no-memory': { type: 'boolean', default: false },
    'no-write': { type: 'boolean', default: false },
    profile: { type: 'boolean', default: false },
    'paired-rounds': { type: 'string' },
    'paired-duration': { type: 'string' },
    scenario: { type: 'string' },
    'profile-dir': { type: 'string', default: '/tmp/prof' },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (flags.help) {
  process.stdout.write(HELP);
  process.exit(0);
}

function numberFlag(name: string, text: string | undefined, fallback: number, integer: boolean): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!Number.isFinite(value) || value <= 0 || (integer && !Number.isInteger(value))) {
    throw new Error(`--${name} needs a positive ${integer ? 'integer' : 'number'}, got ${text}`);
  }
  return value;
}

const quick = flags.quick;
const settings = {
  rounds: numberFlag('rounds', flags.rounds, quick ? 1 : 5, true),
  duration: numberFlag('duration', flags.duration, quick ? 1 : 10, false),
  warmup: numberFlag('warmup', flags.warmup, quick ? 1 : 3, false),
  connections: numberFlag('connections', flags.connections, 32, true),
  pairedRounds: flags['paired-rounds'] === '0' ? 0 : numberFlag('paired-rounds', flags['paired-rounds'], quick ? 1 : 3, true),
  pairedDuration: numberFlag('paired-duration', flags['paired-duration'], quick ? 1 : 5, false),
  memoryCount: numberFlag('memory-count', flags['memory-count'], quick ? 5_000 : 100_000, true),
  flood: numberFlag('flood', flags.flood, quick ? 5_000 : 100_000, true),
};
const tool: LoadTool = pickTool(flags.load);
const cpuCount = availableParallelism();
/** taskset exists, there are two CPUs, and this process may use CPUs 0 and 1 (containers may forbid it). */
const pinned = ((): boolean => {
  if (!hasCommand('taskset') || cpuCount < 2) return false;
  try {
    execFileSync('taskset', ['-c', '0', 'true'], { stdio: 'ignore' });
    execFileSync('taskset', ['-c', '1', 'true'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();
const pinServer = pinned ? ['taskset', '-c', '0'] : [];
const pinLoad = pinned ? ['taskset', '-c', '1'] : [];

function log(message: string): void {
  process.stderr.write(`[bench] ${message}\n`);
}

// ---------------------------------------------------------------------------------------------
// Build: src, the servers and the memory script, compiled (no type check) to plain JS, so that the
// measured processes run what users run (no loader, no source maps). One folder per run, so that
// concurrent runs never share files.

const buildDir = path.join(ROOT, 'node_modules', '.cache', 'swarmauri-bench', `run-${process.pid}`);

function build(): void {
  rmSync(buildDir, { recursive: true, force: true });
  const tsc = path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  execFileSync(process.execPath, [tsc, '-p', path.join(ROOT, 'bench', 'tsconfig.bench.json'), '--noCheck', '--outDir', buildDir], {
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  // Under node_modules no package.json of ours applies: say that these files are ES modules.
  writeFileSync(path.join(buildDir, 'package.json'), '{ "type": "module" }\n');
}

function cleanBuild(): void {
  rmSync(buildDir, { recursive: true, force: true });
}

// ---------------------------------------------------------------------------------------------
// Server CPU time (Linux /proc): CPU per request does not depend on how busy the machine was, and
// the server's share of its core during a run shows whether something else ran there.

const CLOCK_TICKS = ((): number => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** User + system CPU milliseconds of a process (all its threads), or undefined without /proc. */
function cpuMsOf(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may contain spaces): state is field 3, utime 14, stime 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS;
  } catch {
    return undefined;
  }
}

// ---------------------------------------------------------------------------------------------
// Servers

interface RunningServer {
  child: ChildProcess;
  port: number;
  exited: Promise<number | null>;
}

function startServer(config: BenchConfig, nodeFlags: string[] = []): Promise<RunningServer> {
  const script = path.join(buildDir, 'bench', 'servers', `${config.server}.js`);
  const [command, ...args] = [...pinServer, process.execPath, ...nodeFlags, script];
  const child = spawn(command!, args, {
    cwd: ROOT,
    env: { ...process.env, NODE_ENV: 'production', ...config.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    if (stderr.length < 20_000) stderr += chunk;
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => fail(new Error(`${config.id}: the server did not start within 30 s`)), 30_000);
    const fail = (error: Error) => {
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(new Error(`${error.message}\n${stderr}`));
    };
    let stdout = '';
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
      const line = stdout.split('\n').find((text) => text.startsWith('{'));
      if (!line) return;
      clearTimeout(timer);
      resolve({ child, port: (JSON.parse(line) as { port: number }).port, exited });
    });
    child.once('exit', (code) => fail(new Error(`${config.id}: the server exited with ${code} before listening`)));
  });
}

async function stopServer(server: RunningServer): Promise<void> {
  if (server.child.exitCode !== null) return;
  server.child.kill('SIGTERM');
  const timer = setTimeout(() => server.child.kill('SIGKILL'), 15_000);
  await server.exited;
  clearTimeout(timer);
}

interface Reply {
  status: number;
  visits: unknown;
  cookie: string | undefined;
}

async function request(port: number, route: string, cookie?: string): Promise<Reply> {
  const response = await fetch(`http://127.0.0.1:${port}${route}`, { headers: cookie ? { cookie } : {} });
  const text = await response.text();
  let visits: unknown;
  try {
    visits = (JSON.parse(text) as { visits?: unknown }).visits;
  } catch {
    visits = text;
  }
  // Every cookie the response set (koa-session signs its cookie with a second, `.sig`, one).
  const pairs = response.headers.getSetCookie().map((line) => line.split(';')[0]!);
  return { status: response.status, visits, cookie: pairs.length > 0 ? pairs.join('; ') : undefined };
}

function expectReply(cell: Cell, what: string, reply: Reply, visits: number, cookie: boolean): void {
  const problems: string[] = [];
  if (reply.status !== 200) problems.push(`status ${reply.status}`);
  if (reply.visits !== visits) problems.push(`visits ${JSON.stringify(reply.visits)} instead of ${visits}`);
  if (cookie && !reply.cookie) problems.push('no Set-Cookie');
  if (problems.length) throw new Error(`${cell.config.id} / ${cell.scenario.id}: ${what}: ${problems.join(', ')}`);
}

/**
 * Checks that the cell's server does what the scenario claims, and obtains the returning client's
 * cookie (one `/count` request: the session then holds visits 1).
 */
async function prepare(cell: Cell): Promise<void> {
  const port = cell.server!.port;
  if (cell.config.role === 'raw') {
    expectReply(cell, 'GET /count', await request(port, '/count'), 1, false);
    return;
  }
  if (!cell.scenario.cookie) {
    expectReply(cell, 'first GET /count without a cookie', await request(port, '/count'), 1, true);
    expectReply(cell, 'second GET /count without a cookie', await request(port, '/count'), 1, true);
    return;
  }
  const first = await request(port, '/count');
  expectReply(cell, 'GET /count without a cookie', first, 1, true);
  const cookie = first.cookie!;
  if (cell.scenario.path === '/count') {
    expectReply(cell, 'GET /count with the cookie', await request(port, '/count', cookie), 2, false);
  } else {
    expectReply(cell, 'GET /read with the cookie', await request(port, '/read', cookie), 1, false);
    expectReply(cell, 'second GET /read with the cookie', await request(port, '/read', cookie), 1, false);
  }
  cell.headers = { Cookie: cookie };
}

// ---------------------------------------------------------------------------------------------
// Cells and rounds

interface Run extends LoadResult {
  /** Server CPU microseconds per request (undefined without /proc). */
  cpuPerRequestUs?: number;
  /** Server CPU time ÷ the run's wall time: about 1 when the server had its core to itself. */
  cpuShare?: number;
}

interface Cell {
  config: BenchConfig;
  scenario: Scenario;
  server?: RunningServer;
  headers: Record<string, string>;
  runs: Run[];
  /**
   * Side by side: per paired round, the raw framework's server CPU time per request ÷ this
   * cell's (req/s ÷ req/s without /proc), the two servers loaded at the same time on the same
   * core, so that whatever else slows the machine slows both.
   */
  paired: number[];
  /** Errors in side-by-side runs (a correct run has 0). */
  pairedErrors: number;
}

async function selectConfigs(): Promise<BenchConfig[]> {
  const named = flags.configs?.split(',').map((id) => id.trim()).filter(Boolean);
  if (named) {
    const unknown = named.filter((id) => !CONFIGS.some((config) => config.id === id));
    if (unknown.length) throw new Error(`Unknown configuration ${unknown.join(', ')}; known: ${CONFIGS.map((c) => c.id).join(', ')}`);
  }
  const chosen: BenchConfig[] = [];
  for (const config of CONFIGS) {
    if (named ? !named.includes(config.id) : !(config.default || flags.all)) continue;
    const reason = await config.unavailable?.();
    if (reason) {
      log(`skipping ${config.id}: ${reason}`);
      continue;
    }
    chosen.push(config);
  }
  // A session row needs its framework's raw row (and a library row its peer) for its ratios.
  for (const config of [...chosen]) {
    const needed = [CONFIGS.find((other) => other.framework === config.framework && other.role === 'raw'), CONFIGS.find((other) => other.id === config.peer)];
    for (const other of needed) {
      if (other && !chosen.includes(other) && !(await other.unavailable?.())) chosen.push(other);
    }
  }
  return CONFIGS.filter((config) => chosen.includes(config));
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

interface Stat {
  median: number;
  min: number;
  max: number;
}

function stat(values: number[]): Stat {
  return { median: median(values), min: Math.min(...values), max: Math.max(...values) };
}

interface Row {
  cell: Cell;
  rps: Stat;
  p99: Stat;
  cpuUs?: Stat;
  /** Per-round ratios to the raw framework in the same round (undefined for raw rows). */
  toRaw?: Stat;
  /** Per-round ratios to the peer with the same scenario in the same round (library rows). */
  toPeer?: Stat;
  /** Side by side with the raw framework (see {@link Cell.paired}). */
  pairedToRaw?: Stat;
  /** Library rows: per paired round, this row's side-by-side ratio ÷ its peer's. */
  pairedToPeer?: Stat;
  errors: number;
}

function rows(cells: Cell[]): Row[] {
  const rawOf = (cell: Cell) => cells.find((other) => other.config.framework === cell.config.framework && other.config.role === 'raw');
  const peerOf = (cell: Cell) => cells.find((other) => other.config.id === cell.config.peer && other.scenario.id === cell.scenario.id);
  const ratios = (cell: Cell, base: Cell | undefined) =>
    base && base.runs.length === cell.runs.length ? stat(cell.runs.map((run, round) => run.rps / base.runs[round]!.rps)) : undefined;
  return cells.map((cell) => {
    const row: Row = {
      cell,
      rps: stat(cell.runs.map((run) => run.rps)),
      p99: stat(cell.runs.map((run) => run.p99Ms)),
      cpuUs: cell.runs.every((run) => run.cpuPerRequestUs !== undefined) ? stat(cell.runs.map((run) => run.cpuPerRequestUs!)) : undefined,
      errors: cell.runs.reduce((sum, run) => sum + run.errors, cell.pairedErrors),
    };
    if (cell.config.role !== 'raw') row.toRaw = ratios(cell, rawOf(cell));
    if (cell.config.role === 'library') row.toPeer = ratios(cell, peerOf(cell));
    if (cell.paired.length > 0) row.pairedToRaw = stat(cell.paired);
    const peer = cell.config.role === 'library' ? peerOf(cell) : undefined;
    if (peer && peer.paired.length === cell.paired.length && cell.paired.length > 0) {
      row.pairedToPeer = stat(cell.paired.map((value, round) => value / peer.paired[round]!));
    }
    return row;
  });
}

// ---------------------------------------------------------------------------------------------
// Formatting

const int = (value: number) => Math.round(value).toLocaleString('en-US');
const ms = (value: number) => (value >= 10 ? value.toFixed(1) : value.toFixed(2));
const ratio = (value: number) => value.toFixed(2);

function withRange(value: Stat, format: (n: number) => string, rounds: number): string {
  return rounds > 1 ? `${format(value.median)} (${format(value.min)}–${format(value.max)})` : format(value.median);
}

function speedTable(table: Row[], rounds: number, pairedRounds: number): string {
  const lines = [
    `| configuration | scenario | req/s, median${rounds > 1 ? ' (min–max)' : ''} | p99 ms, median${rounds > 1 ? ' (min–max)' : ''} | server CPU µs/req | × raw framework | × peer | side by side: × raw | side by side: × peer |`,
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- |',
  ];
  for (const row of table) {
    const { config, scenario } = row.cell;
    const raw = config.role === 'raw' ? '1.00' : row.toRaw ? withRange(row.toRaw, ratio, rounds) : 'n/a';
    const peer = config.role === 'library' ? (row.toPeer ? withRange(row.toPeer, ratio, rounds) : 'n/a') : '—';
    const cpu = row.cpuUs ? int(row.cpuUs.median) : 'n/a';
    const pairedRaw = config.role === 'raw' ? '1.00' : row.pairedToRaw ? withRange(row.pairedToRaw, ratio, pairedRounds) : 'n/a';
    const pairedPeer = config.role === 'library' ? (row.pairedToPeer ? withRange(row.pairedToPeer, ratio, pairedRounds) : 'n/a') : '—';
    lines.push(
      `| ${config.label} | ${scenario.label} | ${withRange(row.rps, int, rounds)} | ${withRange(row.p99, ms, rounds)} | ${cpu} | ${raw} | ${peer} | ${pairedRaw} | ${pairedPeer} |`,
    );
  }
  return lines.join('\n');
}

interface Memory {
  library?: { count: number; bytesPerSession: number };
  peer?: { count: number; bytesPerSession: number };
  flood?: { count: number; growthBytes: number; storedSessions: number };
}

function memoryTable(memory: Memory): string {
  const lines = ['| memory | this library | express-session | this library ÷ express-session |', '| --- | --- | --- | --- |'];
  const { library, peer, flood } = memory;
  if (library) {
    const share = peer ? ratio(library.bytesPerSession / peer.bytesPerSession) : 'n/a';
    lines.push(
      `| heap bytes per stored session (${int(library.count)} sessions \`{ visits: 1, user: 'user-<i>' }\`, MemoryStore, after gc, ArrayBuffers included) | ${int(library.bytesPerSession)} B | ${peer ? `${int(peer.bytesPerSession)} B` : 'n/a'} | ${share} |`,
    );
  }
  if (flood) {
    lines.push(
      `| heap growth after ${int(flood.count)} requests with made-up ids (after gc; sessions stored: ${flood.storedSessions}) | ${(flood.growthBytes / 1024 / 1024).toFixed(2)} MB | — | — |`,
    );
  }
  return lines.join('\n');
}

// ---------------------------------------------------------------------------------------------
// Memory

function runMemory(mode: string, count: number): Record<string, number> {
  const script = path.join(buildDir, 'bench', 'memory.js');
  const out = execFileSync(process.execPath, ['--expose-gc', script, mode, String(count)], {
    cwd: ROOT,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    timeout: 300_000,
  });
  return JSON.parse(out.trim().split('\n').pop()!) as Record<string, number>;
}

function measureMemory(peerAvailable: boolean): Memory {
  log(`memory: ${int(settings.memoryCount)} sessions in each MemoryStore, ${int(settings.flood)} requests with made-up ids`);
  const memory: Memory = {};
  memory.library = runMemory('store-library', settings.memoryCount) as Memory['library'];
  if (peerAvailable) memory.peer = runMemory('store-peer', settings.memoryCount) as Memory['peer'];
  memory.flood = runMemory('flood', settings.flood) as Memory['flood'];
  return memory;
}

// ---------------------------------------------------------------------------------------------
// Machine and docs

function cpuModel(): string {
  try {
    return /model name\s*:\s*(.+)/.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1]?.trim() ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

/** `nproc` of the machine, read before the orchestrator pins itself to one CPU. */
const nprocText = ((): string => {
  try {
    return execFileSync('nproc', { encoding: 'utf8' }).trim();
  } catch {
    return String(cpuCount);
  }
})();

function commandLine(): string {
  const args = process.argv.slice(2);
  return args.length ? `npm run bench -- ${args.join(' ')}` : 'npm run bench';
}

const PROFILE_START = '<!-- profile:start -->';
const PROFILE_END = '<!-- profile:end -->';

function profileSection(existing: string | undefined): string {
  const start = existing?.indexOf(PROFILE_START) ?? -1;
  const end = existing?.indexOf(PROFILE_END) ?? -1;
  if (existing && start >= 0 && end > start) return existing.slice(start, end + PROFILE_END.length);
  return `${PROFILE_START}\nNo profile recorded yet: run \`npm run bench -- --profile\`.\n${PROFILE_END}`;
}

function writeDocs(speed: string, memoryMd: string | undefined, table: Row[], memory: Memory, machine: string[], perRound: string): void {
  const docsPath = path.join(ROOT, 'docs', 'benchmarks.md');
  const existing = existsSync(docsPath) ? readFileSync(docsPath, 'utf8') : undefined;
  const md = `# Benchmarks

Produced by \`npm run bench\` (bench/run.ts), which rewrites this file and
[benchmarks.svg](benchmarks.svg) on every full run. Targets and history: issue 6.

![Throughput ratios](benchmarks.svg)

## Results

${speed}
${memoryMd ? `\n${memoryMd}\n` : ''}
## Machine and command

${machine.map((line) => `- ${line}`).join('\n')}

## Method

- Each configuration × scenario is its own server process (compiled from \`src/\` and
  \`bench/servers/\` with \`tsc\`, run with plain \`node\`, \`NODE_ENV=production\`), pinned to CPU 0 with
  \`taskset -c 0\`; the load generator is a separate process pinned to CPU 1 (\`taskset -c 1\`), one
  thread, ${settings.connections} keep-alive connections. Without \`taskset\` (or with one CPU) nothing is pinned.
- Load: \`wrk\` when it is installed, \`autocannon\` (a dev dependency) otherwise; \`--load\` forces one.
- Routes: \`GET /count\` increments a counter in the session (this library:
  \`req.session.set('visits', (req.session.get('visits') ?? 0) + 1)\`; express-session:
  \`req.session.visits = (req.session.visits ?? 0) + 1\`, with \`resave: false, saveUninitialized: true\`),
  \`GET /read\` only reads it; both answer \`{"visits":n}\` with \`res.json\`. The raw framework answers
  \`/count\` with \`{"visits":1}\` and no middleware.
- Redis rows: the same servers with the sessions in Redis (\`REDIS_URL\`, default
  \`redis://127.0.0.1:6379\`; the rows are skipped with the reason when it does not answer), both
  through a node-redis 5 client (\`createClient\`) connected before the server listens: this library
  with \`RedisStore\` (\`maxAge: 300\`), express-session (same options as above) with connect-redis 9
  (\`new RedisStore({ client, prefix, ttl: 300 })\`). Each server process has its own key prefix and
  deletes its keys (\`SCAN\` + \`UNLINK\`) when it stops. Redis runs where the machine runs it, not
  pinned: it shares the two cores with the server and the load generator.
- Scenarios: *returning client*: every request carries the cookie that one \`/count\` request got
  before the load, so all connections share one session (as in the issue's measurement); *new
  client*: no cookie, so every request starts (and, on \`/count\`, stores) a new session; *returning
  client, read-only route*: the cookie, on \`/read\`. Before the load each server is checked to do
  what its scenario says (status 200, the counter, a Set-Cookie for new clients).
- Warm-up of ${settings.warmup} s per cell, then ${settings.rounds} interleaved rounds of ${settings.duration} s (each round visits
  every cell, starting one cell later than the round before). Figures are the median over the rounds
  with min–max. Ratios are computed per round (each cell against its raw framework, and this
  library against its peer with the same scenario, in the same round), then the median and min–max
  of those ratios are shown.
- Server CPU µs/req: the server process's user + system CPU time during a run (from
  \`/proc/<pid>/stat\`) divided by the responses of that run, median over the rounds. On a shared
  virtual machine it still moves with the host's load (raw Express measured 158 to 376 µs in one
  run here); the per-round table also shows the server's CPU share of the run's wall time: well
  below 100% means the server was not the bottleneck or something else ran on its core.
- Side by side (the last two columns): after the rounds, ${settings.pairedRounds} round(s) in which each session cell
  runs for ${settings.pairedDuration} s at the same time as its raw framework: both servers on CPU 0, two load
  generators on CPU 1. The ratio is the raw server's CPU time per request divided by the
  session server's, in the same seconds on the same core, so a slow spell of the machine slows
  both alike; the peer column divides this library's side-by-side ratio by its peer's, round by
  round. The interleaved ratios above moved by ±25% from round to round on this machine; these
  are the figures to compare.
- Memory (separate processes, \`node --expose-gc\`, \`gc()\` before each reading of
  \`process.memoryUsage()\`, \`heapUsed + arrayBuffers\`: MemoryStore keeps part of its table in typed arrays):
  the same ${int(settings.memoryCount)} sessions, ids of 54 characters and data \`{ visits: 1, user: 'user-<i>' }\`,
  stored through each library's own store API (this library: \`MemoryStore.set\`; express-session:
  \`MemoryStore.set\`), heap after minus heap before, divided by the count. The flood sends
  ${int(settings.flood)} requests, each with a new made-up id of this library's shape (bad signature) in the
  session cookie, through \`SessionMiddleware.dispatch(new Request(...))\` in process, to a route that
  reads the counter; heap growth is measured after 2,000 warm-up requests.

<details><summary>Every round</summary>

${perRound}

</details>

## CPU profile

\`npm run bench -- --profile\` runs this library's returning-client server (Express 5, MemoryStore)
under \`node --cpu-prof --cpu-prof-dir=/tmp/prof\`, with the same load (warm-up, then one run of
\`--duration\` seconds), and summarises the profile with bench/profile-summary.mjs, which can also be
run by hand on any \`.cpuprofile\`:

\`\`\`sh
npm run bench -- --profile                       # writes /tmp/prof/*.cpuprofile, prints the summary
node bench/profile-summary.mjs /tmp/prof/CPU.*.cpuprofile [--top 15]
\`\`\`

The summary sums self time per function (name + file + line) over all samples and shows each
one's share of all samples, \`(garbage collector)\`, \`(program)\` and \`(idle)\` included.

${profileSection(existing)}
`;
  writeFileSync(docsPath, md);

  // The chart shows the side-by-side ratios when the run has them (the steadier figures; see Method).
  const toRawOf = (row: Row) => row.pairedToRaw ?? row.toRaw;
  const toPeerOf = (row: Row) => row.pairedToPeer ?? row.toPeer;
  const chartSections: ChartSection[] = [];
  const frameworks = [...new Set(table.map((row) => row.cell.config.framework))];
  for (const framework of frameworks) {
    const raw = table.find((row) => row.cell.config.framework === framework && row.cell.config.role === 'raw');
    if (!raw) continue;
    const bars: ChartBar[] = [];
    for (const scenario of SCENARIOS) {
      for (const row of table) {
        const toRaw = toRawOf(row);
        if (row.cell.config.framework !== framework || row.cell.scenario.id !== scenario.id || !toRaw) continue;
        bars.push({
          label: `${row.cell.config.short}, ${scenario.short}`,
          value: toRaw.median,
          range: [toRaw.min, toRaw.max],
          kind: row.cell.config.role === 'library' ? 'library' : 'peer',
        });
      }
    }
    chartSections.push({ title: `Speed ÷ ${raw.cell.config.short} without sessions (1.00 = no session cost)`, bars });
    const versus = table.filter((row) => row.cell.config.framework === framework && toPeerOf(row));
    if (versus.length) {
      const peerShort = (row: Row) => CONFIGS.find((config) => config.id === row.cell.config.peer)?.short ?? 'peer';
      const severalPeers = new Set(versus.map((row) => row.cell.config.peer)).size > 1;
      chartSections.push({
        title: severalPeers
          ? `This library ÷ its peer on the same store, ${raw.cell.config.short} (above 1.00 = faster)`
          : `This library ÷ ${peerShort(versus[0]!)} on ${raw.cell.config.short} (above 1.00 = faster)`,
        bars: versus.map((row): ChartBar => ({
          label: severalPeers ? `${row.cell.scenario.short} (vs ${peerShort(row)})` : row.cell.scenario.short,
          value: toPeerOf(row)!.median,
          range: [toPeerOf(row)!.min, toPeerOf(row)!.max],
          kind: 'neutral',
        })),
      });
    }
  }
  if (memory.library && memory.peer) {
    chartSections.push({
      title: 'This library ÷ express-session, memory (below 1.00 = smaller)',
      bars: [{ label: 'heap bytes per stored session', value: memory.library.bytesPerSession / memory.peer.bytesPerSession, kind: 'neutral' }],
    });
  }
  const svg = renderChart({
    title: 'swarmauri-middleware-session: throughput ratios (npm run bench)',
    subtitle:
      settings.pairedRounds > 0
        ? `Side by side with the raw framework on one core, CPU time per request, median of ${settings.pairedRounds} rounds of ${settings.pairedDuration} s, whiskers min–max; ${tool}, ${settings.connections} connections`
        : `Median of ${settings.rounds} interleaved rounds of ${settings.duration} s, whiskers min–max; ${tool}, ${settings.connections} connections, server and load on separate pinned cores`,
    sections: chartSections,
    notes: machine.map((line) => line.replace(/`/g, '')),
  });
  writeFileSync(path.join(ROOT, 'docs', 'benchmarks.svg'), svg);
  log('wrote docs/benchmarks.md and docs/benchmarks.svg');
}

function perRoundTable(cells: Cell[]): string {
  const lines = [
    `| configuration | scenario | ${cells[0]!.runs.map((_, round) => `round ${round + 1}: req/s, p99 ms, server CPU share`).join(' | ')} |`,
    `| --- | --- | ${cells[0]!.runs.map(() => '---').join(' | ')} |`,
  ];
  for (const cell of cells) {
    const share = (run: Run) => (run.cpuShare === undefined ? 'n/a' : `${Math.round(run.cpuShare * 100)}%`);
    lines.push(`| ${cell.config.label} | ${cell.scenario.label} | ${cell.runs.map((run) => `${int(run.rps)}, ${ms(run.p99Ms)}, ${share(run)}`).join(' | ')} |`);
  }
  return lines.join('\n');
}

const loadAtStart = loadavg()[0]!;

/** The commit measured, and whether src/ had uncommitted changes (read before the build). */
const commit = ((): string => {
  try {
    const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--', 'src'], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    return dirty ? `${head} with uncommitted changes in src/` : head;
  } catch {
    return 'unknown (not a git checkout)';
  }
})();

function machineLines(started: Date): string[] {
  return [
    `Machine: ${nprocText} CPUs (nproc), ${cpuModel()}, Linux ${release()}`,
    `Node ${process.version}; load generator ${toolVersion(tool)}; ${pinned ? 'server on CPU 0, load on CPU 1 (taskset)' : 'not pinned (no taskset or one CPU)'}`,
    `Commit: ${commit}`,
    `Command: \`${commandLine()}\` (${settings.warmup} s warm-up, ${settings.rounds} × ${settings.duration} s, ${settings.connections} connections)`,
    `Date: ${started.toISOString().replace(/\.\d+Z$/, 'Z')}; 1-minute load average before the run ${loadAtStart.toFixed(2)} (other work on the machine shows here)`,
  ];
}

// ---------------------------------------------------------------------------------------------
// Profile mode

async function profile(): Promise<void> {
  // Default: this library's returning client; `--configs` (its first id) and `--scenario` pick
  // another cell, e.g. the raw framework, to compare profiles.
  const configId = flags.configs?.split(',')[0]?.trim() || 'express+library-memory';
  const config = CONFIGS.find((c) => c.id === configId);
  if (!config) throw new Error(`Unknown configuration ${configId}`);
  const scenario = config.role === 'raw' ? RAW_SCENARIO : SCENARIOS.find((s) => s.id === (flags.scenario ?? 'returning'));
  if (!scenario) throw new Error(`Unknown scenario ${String(flags.scenario)}`);
  const dir = path.resolve(flags['profile-dir']);
  mkdirSync(dir, { recursive: true });
  const before = new Set(readdirSync(dir));
  const cell: Cell = { config, scenario, headers: {}, runs: [], paired: [], pairedErrors: 0 };
  cell.server = await startServer(config, ['--cpu-prof', `--cpu-prof-dir=${dir}`]);
  try {
    await prepare(cell);
    const url = `http://127.0.0.1:${cell.server.port}${scenario.path}`;
    log(`profile: ${config.id} / ${scenario.id}: ${settings.warmup} s warm-up, then ${settings.duration} s`);
    await runLoad(tool, { url, headers: cell.headers, connections: settings.connections, duration: settings.warmup, pin: pinLoad });
    const result = await runLoad(tool, { url, headers: cell.headers, connections: settings.connections, duration: settings.duration, pin: pinLoad });
    log(`profile: ${int(result.rps)} req/s under the profiler`);
  } finally {
    await stopServer(cell.server);
  }
  const written = readdirSync(dir).filter((name) => name.endsWith('.cpuprofile') && !before.has(name));
  const file = written.map((name) => path.join(dir, name)).sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs)[0];
  if (!file) throw new Error(`No .cpuprofile appeared in ${dir}`);
  const summarise = (...extra: string[]) =>
    execFileSync(process.execPath, [path.join(ROOT, 'bench', 'profile-summary.mjs'), file, '--markdown', ...extra], { encoding: 'utf8' }).trim();
  const summary = summarise('--top', '15');
  const byFile = summarise('--top', '10', '--by-file');
  process.stdout.write(`Profile: ${file}\n\n${summary}\n\n${byFile}\n`);
  if (!quick && !flags['no-write']) {
    const docsPath = path.join(ROOT, 'docs', 'benchmarks.md');
    if (!existsSync(docsPath)) {
      log('docs/benchmarks.md does not exist yet: run the full bench first to get a place for the profile');
      return;
    }
    const existing = readFileSync(docsPath, 'utf8');
    const section = `${PROFILE_START}
Latest profile: ${config.label}, ${scenario.label}, \`${commandLine()}\`, ${new Date().toISOString().slice(0, 10)}
(${tool}, ${settings.connections} connections; the profile covers the server's whole life: start,
${settings.warmup} s warm-up, ${settings.duration} s run). Paths are relative to the compiled tree, which mirrors \`src/\`.

${summary}

${byFile}
${PROFILE_END}`;
    const updated = existing.includes(PROFILE_START)
      ? existing.replace(profileSection(existing), section)
      : `${existing.trimEnd()}\n\n${section}\n`;
    writeFileSync(docsPath, updated);
    log('wrote the profile into docs/benchmarks.md');
  }
}

// ---------------------------------------------------------------------------------------------
// Main

async function main(): Promise<number> {
  const started = new Date();
  const startedMs = performance.now();
  if (pinned) {
    // The orchestrator waits while the load runs; keep it (and its threads) off the server's core.
    try {
      execFileSync('taskset', ['-a', '-p', '-c', '1', String(process.pid)], { stdio: 'ignore' });
    } catch {
      log('could not pin the orchestrator itself to CPU 1 (it idles while the load runs)');
    }
  } else {
    log('taskset not found (or one CPU): server and load are not pinned');
  }
  log(`load generator: ${toolVersion(tool)}; compiling src and bench/servers`);
  build();
  try {
    if (flags.profile) {
      await profile();
      return 0;
    }
    const configs = await selectConfigs();
    const cells: Cell[] = configs.flatMap((config) =>
      (config.role === 'raw' ? [RAW_SCENARIO] : SCENARIOS).map((scenario) => ({ config, scenario, headers: {}, runs: [], paired: [], pairedErrors: 0 })),
    );
    log(`${cells.length} cells (${configs.map((c) => c.id).join(', ')}); ${settings.warmup} s warm-up each, ${settings.rounds} round(s) of ${settings.duration} s`);
    try {
      // Sequentially: they share one core, and a fast start of each keeps the run short anyway.
      for (const cell of cells) cell.server = await startServer(cell.config);
      for (const cell of cells) await prepare(cell);
      const load = async (cell: Cell, duration: number): Promise<Run> => {
        const pid = cell.server!.child.pid;
        const cpuBefore = cpuMsOf(pid);
        const wallBefore = performance.now();
        const result: Run = await runLoad(tool, {
          url: `http://127.0.0.1:${cell.server!.port}${cell.scenario.path}`,
          headers: cell.headers,
          connections: settings.connections,
          duration,
          pin: pinLoad,
        });
        const cpuAfter = cpuMsOf(pid);
        if (cpuBefore !== undefined && cpuAfter !== undefined && result.requests > 0) {
          // The wall time includes the load generator's start (a few ms): the share is a lower bound.
          result.cpuShare = (cpuAfter - cpuBefore) / (performance.now() - wallBefore);
          result.cpuPerRequestUs = ((cpuAfter - cpuBefore) * 1000) / result.requests;
        }
        return result;
      };
      for (const cell of cells) await load(cell, settings.warmup);
      for (let round = 0; round < settings.rounds; round++) {
        for (let step = 0; step < cells.length; step++) {
          const cell = cells[(round + step) % cells.length]!;
          const result = await load(cell, settings.duration);
          cell.runs[round] = result;
          const cpu = result.cpuPerRequestUs === undefined ? '' : `, ${int(result.cpuPerRequestUs)} µs CPU/req, server CPU share ${Math.round(result.cpuShare! * 100)}%`;
          log(`round ${round + 1}/${settings.rounds} ${cell.config.id} / ${cell.scenario.id}: ${int(result.rps)} req/s, p99 ${ms(result.p99Ms)} ms${cpu}${result.errors ? `, ${result.errors} errors` : ''}`);
          await new Promise((resolve) => setTimeout(resolve, 200));
        }
      }
      // Side by side: the interleaved rounds above are at the mercy of whatever else the machine
      // (a shared VM host) does during each run, which moved single ratios by ±25% here. Two
      // servers pinned to one core and loaded at once split it evenly, so the ratio of their
      // throughputs is the ratio of their costs per request, whatever happens around them.
      for (let round = 0; round < settings.pairedRounds; round++) {
        for (const cell of cells) {
          const raw = cell.config.role === 'raw' ? undefined : cells.find((other) => other.config.framework === cell.config.framework && other.config.role === 'raw');
          if (!raw) continue;
          const [mine, base] = await Promise.all([load(cell, settings.pairedDuration), load(raw, settings.pairedDuration)]);
          if (mine.errors || base.errors) {
            cell.pairedErrors += mine.errors + base.errors;
            log(`side by side ${round + 1}/${settings.pairedRounds} ${cell.config.id} / ${cell.scenario.id}: ${mine.errors + base.errors} errors`);
            continue;
          }
          // The ratio of CPU time per request: unlike req/s, it does not depend on how evenly the
          // scheduler split the core (a load generator that lagged leaves its server idle).
          const costs = mine.cpuPerRequestUs !== undefined && base.cpuPerRequestUs !== undefined;
          const value = costs ? base.cpuPerRequestUs! / mine.cpuPerRequestUs! : mine.rps / base.rps;
          cell.paired.push(value);
          const detail = costs ? `${int(mine.cpuPerRequestUs!)} µs CPU/req against ${int(base.cpuPerRequestUs!)}` : `${int(mine.rps)} req/s against ${int(base.rps)}`;
          log(`side by side ${round + 1}/${settings.pairedRounds} ${cell.config.id} / ${cell.scenario.id}: ${detail} for ${raw.config.id}, ${ratio(value)}`);
          await new Promise((resolve) => setTimeout(resolve, 200));
        }
      }
    } finally {
      await Promise.all(cells.map((cell) => (cell.server ? stopServer(cell.server) : undefined)));
    }

    const table = rows(cells);
    const memory = flags['no-memory'] ? undefined : measureMemory(configs.some((config) => config.id === 'express+express-session-memory'));
    const speed = speedTable(table, settings.rounds, settings.pairedRounds);
    const memoryMd = memory ? memoryTable(memory) : undefined;
    const machine = machineLines(started);
    process.stdout.write(`\n${speed}\n${memoryMd ? `\n${memoryMd}\n` : ''}\n${machine.map((line) => `- ${line}`).join('\n')}\n`);

    const failed = table.filter((row) => row.errors > 0);
    for (const row of failed) log(`ERROR: ${row.cell.config.id} / ${row.cell.scenario.id} had ${row.errors} non-2xx responses or socket errors`);
    if (!quick && !flags['no-write'] && !flags.configs && !failed.length) {
      writeDocs(speed, memoryMd, table, memory ?? {}, machine, perRoundTable(cells));
    }
    log(`done in ${((performance.now() - startedMs) / 1000).toFixed(1)} s`);
    return failed.length ? 1 : 0;
  } finally {
    cleanBuild();
  }
}

process.exitCode = await main();
