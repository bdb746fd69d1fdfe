import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from '@jest/globals';

const run = promisify(execFile);

// `npm run docs` must stay warning-free: typedoc.json treats warnings as errors and requires
// every export to be documented, so an undocumented export fails this test.
describe('API reference', () => {
  it('builds with TypeDoc without a warning', async () => {
    const { stdout, stderr } = await run(process.execPath, ['node_modules/typedoc/bin/typedoc', '--logLevel', 'Warn'], { timeout: 120_000 });
    expect(`${stdout}${stderr}`).not.toMatch(/warning|error/i);
  }, 120_000);
});
