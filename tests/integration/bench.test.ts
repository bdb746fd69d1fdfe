// `npm run bench -- --quick` is a smoke run: it must run every configuration × scenario and print
// numbers. It never checks a speed (the machine running the tests may be busy with other tests).
// The Redis rows need the machine's Redis (`REDIS_URL` overrides): when it answers they must be
// there with their numbers; when it does not, the bench must skip them with the reason (and, as
// for every Redis suite, under `CI` the test fails instead).
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from '@jest/globals';
import { CONFIGS, RAW_SCENARIO, SCENARIOS, type BenchConfig } from '../../bench/configs.js';
import { IN_CI, probeRedis } from '../support/redisServers.js';

const redisUnavailable = await probeRedis();
const needsRedis = (config: BenchConfig) => config.env.BENCH_STORE === 'redis';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function runQuickBench(): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      'npm',
      ['run', '--silent', 'bench', '--', '--quick'],
      // 34 cells of 2 s each, 30 side-by-side runs of 1 s and the memory figures: about two and a
      // half minutes on a busy 2-core machine.
      { timeout: 300_000, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) =>
        resolve({
          code: error ? Number(error.code ?? 1) || 1 : 0,
          stdout,
          // A run killed at the timeout says so (it would otherwise fail with no reason printed).
          stderr: error?.killed ? `${stderr}\n(killed by ${String(error.signal)} after the 300 s timeout)` : stderr,
        }),
    );
  });
}

/** The cells of a Markdown table row, trimmed. */
function cells(line: string): string[] {
  return line.split('|').slice(1, -1).map((cell) => cell.trim());
}

/** The leading number of a cell such as `7,009`, `0.52` or `0.52 (0.50–0.55)`; NaN when there is none. */
function leadingNumber(cell: string): number {
  const match = /^(\d[\d,]*(?:\.\d+)?)/.exec(cell);
  return match ? Number(match[1]!.replace(/,/g, '')) : Number.NaN;
}

const readDoc = (file: string) => (existsSync(file) ? readFileSync(file, 'utf8') : undefined);

describe('npm run bench -- --quick', () => {
  it(
    'exits 0 and prints req/s, p99 and ratios for every default configuration × scenario (the Redis rows when Redis answers), plus the memory figures, without touching docs/',
    async () => {
      if (redisUnavailable !== undefined && IN_CI) throw new Error(`The bench's Redis rows need Redis (CI never skips): ${redisUnavailable}`);
      const docsBefore = [readDoc('docs/benchmarks.md'), readDoc('docs/benchmarks.svg')];
      const run = await runQuickBench();
      expect({ code: run.code, stderr: run.code === 0 ? '' : run.stderr }).toEqual({ code: 0, stderr: '' });

      const lines = run.stdout.split('\n');
      const header = cells(lines.find((line) => line.startsWith('| configuration |')) ?? '|');
      const column = (name: string) => header.findIndex((cell) => cell.startsWith(name));
      const columns = {
        rps: column('req/s'),
        p99: column('p99'),
        toRaw: column('× raw'),
        toPeer: column('× peer'),
        pairedToRaw: column('side by side: × raw'),
        pairedToPeer: column('side by side: × peer'),
      };
      expect(Object.values(columns).every((index) => index >= 2)).toBe(true);
      const speedRows = lines.filter((line) => line.startsWith('| ') && !line.startsWith('| ---') && !line.startsWith('| configuration') && !line.startsWith('| memory'));
      const byKey = new Map(speedRows.map((line) => cells(line)).filter((row) => row.length === header.length).map((row) => [`${row[0]} / ${row[1]}`, row]));

      const redisConfigs = CONFIGS.filter((config) => config.default && needsRedis(config));
      expect(redisConfigs.map((config) => config.id).sort()).toEqual(['express+connect-redis', 'express+library-redis']);
      if (redisUnavailable !== undefined) {
        console.warn(`bench --quick: Redis rows not checked: ${redisUnavailable} (set REDIS_URL, or CI=true to fail instead)`);
        for (const config of redisConfigs) expect(run.stderr).toContain(`skipping ${config.id}: `);
      }
      const expected = CONFIGS.filter((config) => config.default && (redisUnavailable === undefined || !needsRedis(config))).flatMap((config) =>
        (config.role === 'raw' ? [RAW_SCENARIO] : SCENARIOS).map((scenario) => ({ config, scenario })),
      );
      expect(expected.length).toBeGreaterThanOrEqual(redisUnavailable === undefined ? 13 : 7);
      for (const { config, scenario } of expected) {
        const row = byKey.get(`${config.label} / ${scenario.label}`);
        expect([config.id, scenario.id, row !== undefined]).toEqual([config.id, scenario.id, true]);
        expect(leadingNumber(row![columns.rps]!)).toBeGreaterThan(0);
        expect(leadingNumber(row![columns.p99]!)).toBeGreaterThan(0);
        // Ratios are numbers (what they are is not checked: a smoke run measures nothing reliably).
        expect(leadingNumber(row![columns.toRaw]!)).toBeGreaterThan(0);
        if (config.role === 'library') expect(leadingNumber(row![columns.toPeer]!)).toBeGreaterThan(0);
        expect(leadingNumber(row![columns.pairedToRaw]!)).toBeGreaterThan(0);
        if (config.role === 'library') expect(leadingNumber(row![columns.pairedToPeer]!)).toBeGreaterThan(0);
      }

      const perSession = lines.find((line) => line.startsWith('| heap bytes per stored session'));
      expect(perSession).toBeDefined();
      const [, library, peer, share] = cells(perSession!);
      expect([leadingNumber(library!), leadingNumber(peer!), leadingNumber(share!)].every((n) => n > 0)).toBe(true);
      const growth = lines.find((line) => line.startsWith('| heap growth after'));
      expect(growth).toBeDefined();
      expect(Number.isFinite(Number.parseFloat(cells(growth!)[1]!))).toBe(true);

      // A quick run never rewrites the published results.
      expect([readDoc('docs/benchmarks.md'), readDoc('docs/benchmarks.svg')]).toEqual(docsBefore);
    },
    330_000,
  );
});
