import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from '@jest/globals';

const run = promisify(execFile);

// What npm consumers get: the compiled ESM build in dist/, imported by plain Node (no tsx, no jest).
describe('published build', () => {
  it('compiles to dist/ and serves a session from plain Node ESM', async () => {
    await run(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json'], { timeout: 60_000 });
    const script = `
      const lib = await import(${JSON.stringify(new URL('../../dist/index.js', import.meta.url).href)});
      const mw = new lib.SessionMiddleware({ secret: 'a-secret-of-at-least-thirty-two-chars' });
      const res = await mw.dispatch(new Request('http://x/'), async (req) => {
        await mw.sessionOf(req).increment('n');
        return new Response('ok');
      });
      const id = res.headers.get('x-session-id');
      console.log(JSON.stringify({ exports: Object.keys(lib).sort(), data: await mw.sessionStorage.get(id) }));
    `;
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], { timeout: 30_000 });
    const result = JSON.parse(stdout) as { exports: string[]; data: unknown };
    expect(result.data).toEqual({ n: 1 });
    expect(result.exports).toEqual(
      ['MemoryStore', 'MiddlewareBase', 'Session', 'SessionError', 'SessionMiddleware', 'SessionStore', 'TYPES', 'sessionModule'].sort(),
    );
  });
});
