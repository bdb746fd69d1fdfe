import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from '@jest/globals';

const run = promisify(execFile);

// What npm consumers get: the compiled ESM build in dist/, imported by plain Node (no tsx, no jest).
describe('published build', () => {
  beforeAll(async () => {
    // The package's own build script (prepack runs it): empties dist/ first, so files of old
    // builds (source maps, removed modules) cannot ship.
    await run('npm', ['run', 'build', '--silent'], { timeout: 60_000 });
  }, 90_000);

  it('compiles to dist/ and serves a session from plain Node ESM', async () => {
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
      [
        'ExpressSessionStoreAdapter',
        'MemoryStore',
        'MiddlewareBase',
        'RecordStore',
        'RedisStore',
        'Session',
        'SessionError',
        'SessionLifecycle',
        'SessionMiddleware',
        'SessionStore',
        'SessionTurn',
        'TYPES',
        'expressSession',
        'sessionModule',
      ].sort(),
    );
  });

  it('publishes typings that compile in a consumer with skipLibCheck: false (no dangling reference to a stripped internal)', async () => {
    const { mkdtemp, writeFile, symlink } = await import('node:fs/promises');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const dir = await mkdtemp(join(tmpdir(), 'consumer-'));
    const root = new URL('../../', import.meta.url).pathname;
    await symlink(join(root, 'node_modules'), join(dir, 'node_modules'));
    await symlink(join(root, 'dist'), join(dir, 'dist'));
    await writeFile(join(dir, 'package.json'), '{"type":"module"}');
    await writeFile(
      join(dir, 'app.ts'),
      "import { SessionMiddleware, MemoryStore, RedisStore, SessionLifecycle, type Session } from './dist/index.js';\n" +
        "const mw = new SessionMiddleware({ sessionStorage: new MemoryStore() });\n" +
        'export const s: Session | undefined = mw.sessionOf({});\n' +
        'export const l: SessionLifecycle<Session> = mw.lifecycle;\n' +
        'void RedisStore;\n',
    );
    const tsc = join(root, 'node_modules/typescript/bin/tsc');
    let output = '';
    try {
      await run(process.execPath, [tsc, '--strict', '--module', 'nodenext', '--noEmit', '--skipLibCheck', 'false', '--types', 'node', 'app.ts'], { cwd: dir, timeout: 120_000 });
    } catch (error) {
      output = String((error as { stdout?: string }).stdout ?? error);
    }
    // Errors inside third-party typings (@types/koa's own, at the time of writing) are not ours.
    const ours = output.split('\n').filter((line) => /^(dist|app\.ts)/.test(line));
    expect(ours).toEqual([]);
  }, 150_000);

  it("keeps the engine's internals out of the published typings of Session and SessionTurn", async () => {
    const { readFile } = await import('node:fs/promises');
    const session = await readFile(new URL('../../dist/concrete/Session.d.ts', import.meta.url), 'utf8');
    expect(session).toMatch(/increment\(/);
    for (const internal of ['commit(', 'markSent(', 'cookieMaxAge(', 'commitNow(', 'closeIfIdle(', 'get cookieDue', 'get idle', 'constructor(', 'createSession']) {
      expect([internal, session.includes(internal)]).toEqual([internal, false]);
    }
    const lifecycle = await readFile(new URL('../../dist/engine/lifecycle.d.ts', import.meta.url), 'utf8');
    expect(lifecycle).toMatch(/headers\(/);
    for (const internal of ['settle(', 'finishLater(', 'sessionHeaders(', 'constructor(']) {
      expect([internal, lifecycle.includes(internal)]).toEqual([internal, false]);
    }
  });

  it('packs dist JS and typings, README, LICENSE and the docs guides; no source maps, no docs/api, no src', async () => {
    const { stdout } = await run('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { timeout: 60_000 });
    const [packed] = JSON.parse(stdout) as Array<{ files: Array<{ path: string }> }>;
    const files = packed!.files.map((file) => file.path).sort();

    expect(files).toEqual(expect.arrayContaining(['LICENSE', 'README.md', 'package.json', 'docs/guide.md', 'docs/design.md', 'docs/benchmarks.md', 'docs/benchmarks.svg', 'dist/index.js', 'dist/index.d.ts']));
    // Nothing else: no .map (they pointed at ../src, which is not shipped), no docs/api, no src/ or tests/.
    expect(files.filter((path) => !/^(package\.json|README\.md|LICENSE|docs\/[^/]+\.(md|svg)|dist\/.+\.(js|cjs|d\.ts|d\.cts))$/.test(path))).toEqual([]);
    const js = files.filter((path) => path.endsWith('.js'));
    expect(js.filter((path) => !files.includes(path.replace(/\.js$/, '.d.ts')))).toEqual([]);
    for (const path of js) expect(await readFile(path, 'utf8')).not.toContain('sourceMappingURL');
    expect(await readFile('LICENSE', 'utf8')).toMatch(/^\s*Apache License\s+Version 2\.0, January 2004[\s\S]*END OF TERMS AND CONDITIONS/);
  }, 60_000);

  it('declares repository, homepage, bugs and inversify as a peer dependency', async () => {
    const pkg = JSON.parse(await readFile('package.json', 'utf8')) as Record<string, any>;
    expect(pkg.repository).toEqual({ type: 'git', url: 'git+https://github.com/swarmauri/swarmauri-middleware-session.git' });
    expect(pkg.homepage).toBe('https://github.com/swarmauri/swarmauri-middleware-session#readme');
    expect(pkg.bugs).toEqual({ url: 'https://github.com/swarmauri/swarmauri-middleware-session/issues' });
    expect(pkg.license).toBe('Apache-2.0');
    // A peer, so the app's inversify is the one the package decorates for (one copy, no dropped options).
    expect(pkg.peerDependencies).toEqual({
      inversify: '^7.0.0 || ^8.0.0',
      'reflect-metadata': '^0.2.2',
      ioredis: '^5.0.0',
      redis: '^5.0.0',
      express: '^4.18.0 || ^5.0.0',
      fastify: '^5.0.0',
      koa: '^3.0.0',
      hono: '^4.0.0',
      '@opentelemetry/api': '^1.4.0',
    });
    // The Redis clients, the frameworks and OpenTelemetry are optional: an app installs what it uses.
    const optional = { optional: true };
    expect(pkg.peerDependenciesMeta).toEqual({ ioredis: optional, redis: optional, express: optional, fastify: optional, koa: optional, hono: optional, '@opentelemetry/api': optional });
    expect(pkg.dependencies?.inversify).toBeUndefined();
    // Says what ships, no more.
    expect(pkg.description).toMatch(/MemoryStore, RedisStore/);
  });
});
