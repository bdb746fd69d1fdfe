/**
 * Apps typed against @types/express-session compile unchanged against the drop-in: their
 * `declare module 'express-session' { interface SessionData }` still types `req.session`; store
 * factories typed `(session: typeof import('express-session'))` take the drop-in; custom stores
 * on `session.Store`; express-session's option types. Each fixture under
 * tests/fixtures/types/dropin-* is its own program (the augmentation would leak into the repo's
 * main type check), compiled with `skipLibCheck: false`; `@ts-expect-error` lines fail the
 * compile when the error they expect is gone.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from '@jest/globals';

const run = promisify(execFile);

/**
 * The diagnostics of compiling `fixture` that concern the drop-in: in the fixture, in src/, or in
 * express's and express-session's typings (where a clash with ours would show). Other packages'
 * typings are not the subject here.
 */
async function compile(fixture: string): Promise<{ relevant: string[]; output: string }> {
  let output = '';
  try {
    await run(process.execPath, ['node_modules/typescript/bin/tsc', '-p', `tests/fixtures/types/${fixture}/tsconfig.json`], { timeout: 120_000 });
  } catch (error) {
    output = String((error as { stdout?: string }).stdout ?? error);
  }
  const heads = output.split('\n').filter((line) => /^\S+\(\d+,\d+\): error/.test(line));
  const relevant = heads.filter((line) => !line.startsWith('node_modules/') || line.startsWith('node_modules/@types/express'));
  return { relevant, output };
}

describe('typings of the express-session drop-in', () => {
  it('compile an ES module app typed with @types/express-session, its SessionData, store factories and custom stores', async () => {
    const { relevant, output } = await compile('dropin-express-session');
    expect([relevant, output]).toEqual([[], expect.any(String)]);
  }, 120_000);

  it('compile a CommonJS app that requires the drop-in', async () => {
    const { relevant, output } = await compile('dropin-require');
    expect([relevant, output]).toEqual([[], expect.any(String)]);
  }, 120_000);
});
