/**
 * Type tests that need a program of their own (a global augmentation would leak into the repo's
 * main type check): each fixture under tests/fixtures/types is compiled on its own, with
 * `skipLibCheck: true` as most apps have it (the library's sources are .ts here, so their errors,
 * a clash with @types/express-session among them, are still reported).
 * `@ts-expect-error` lines in them fail the compile when the error they expect is gone.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from '@jest/globals';

const run = promisify(execFile);

async function compile(fixture: string): Promise<string> {
  try {
    await run(process.execPath, ['node_modules/typescript/bin/tsc', '-p', `tests/fixtures/types/${fixture}/tsconfig.json`], { timeout: 120_000 });
    return '';
  } catch (error) {
    return String((error as { stdout?: string }).stdout ?? error);
  }
}

describe('typings in programs of their own', () => {
  it('compile alongside @types/express-session, whose req.session type then wins (an app migrating from it)', async () => {
    expect(await compile('with-express-session')).toBe('');
  });

  it('type req.session as the library Session when alone, refusing express-session-style use', async () => {
    expect(await compile('alone')).toBe('');
  });

  it("make req.session possibly undefined once an app registers onStoreError: 'continue'", async () => {
    expect(await compile('continue')).toBe('');
  });
});
