import { execFile } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { promisify } from 'node:util';
import { describe, expect, it } from '@jest/globals';

const run = promisify(execFile);

/** Runs an example as `npm start` does (tsx) and parses the JSON line it prints per request. */
async function runExample(file: string): Promise<Array<Record<string, unknown>>> {
  const { stdout } = await run(process.execPath, ['--import', 'tsx', `examples/${file}`], { timeout: 30_000 });
  return stdout
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

describe('examples', () => {
  it('greet.ts prints visits 1 then visits 2 for one session_id (the Python example)', async () => {
    const [first, second] = await runExample('greet.ts');
    expect(first?.visits).toBe(1);
    expect(second?.visits).toBe(2);
    expect(first?.session_id).toMatch(/^[A-Za-z0-9_-]{22}\.[0-9a-z]+\.[A-Za-z0-9_-]{24}$/);
    expect(second?.session_id).toBe(first?.session_id);
  });

  it.each(['session-increment.ts', 'web-dispatch.ts', 'node-http.ts', 'own-framework.ts'])('%s counts 1 then 2 on one session', async (file) => {
    const [first, second] = await runExample(file);
    expect([first?.visits, second?.visits]).toEqual([1, 2]);
    expect(second?.session_id).toBe(first?.session_id);
  });

  it('dependency-injection.ts resolves the configured middleware and counts on the swapped store', async () => {
    const lines = await runExample('dependency-injection.ts');
    expect(lines).toEqual([
      { maxAge: 1800, visits: 1 },
      { maxAge: 1800, visits: 2 },
    ]);
  });

  it('devices.ts: two browsers, one user; the other device is logged out; a flash survives the redirect', async () => {
    const lines = await runExample('devices.ts');
    expect(lines).toEqual([
      { user: 'alice', flashes: ['Welcome back'] },
      [
        { current: false, userAgent: 'Phone/2.0' },
        { current: true, userAgent: 'Laptop/1.0' },
      ],
      { phoneAfterRevoke: { user: null, flashes: [] } },
      [{ current: true, userAgent: 'Laptop/1.0' }],
    ]);
  });

  it('every example file is covered above', () => {
    expect(readdirSync('examples').sort()).toEqual(
      // redis.ts runs against the local Redis in tests/integration/redis-example.test.ts; fastify.ts,
      // koa.ts and hono.ts in their framework's test file; passport.ts with the express-session drop-in's tests.
      [
        'dependency-injection.ts',
        'devices.ts',
        'fastify.ts',
        'greet.ts',
        'hono.ts',
        'koa.ts',
        'node-http.ts',
        'own-framework.ts',
        'passport.ts',
        'redis.ts',
        'session-increment.ts',
        'web-dispatch.ts',
      ].sort(),
    );
  });
});
