import { execFile } from 'node:child_process';
import { cp, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../../', import.meta.url));
const pkg = JSON.parse(await readFile(join(root, 'package.json'), 'utf8')) as {
  peerDependencies: Record<string, string>;
  devDependencies: Record<string, string>;
};
/** The version an aliased devDependency (`"npm:inversify@7.0.0"`) pins. */
const aliasVersion = (alias: string): string => pkg.devDependencies[alias]!.replace(/^npm:inversify@/, '');
const secret = 'a-secret-of-at-least-thirty-two-characters-for-the-range-test';

// The peer range `inversify: ^7.0.0 || ^8.0.0` is what an app really gets: the compiled build,
// installed as a copy under an app's node_modules, imports the app's inversify. Each app here is
// a temporary directory whose node_modules/inversify is one aliased devDependency (the lowest and
// highest supported versions, and inversify 6 which must fail loudly), run by plain Node.
describe('inversify peer range', () => {
  let work: string;
  let built: string;

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'swarmauri-inversify-range-'));
    built = join(work, 'package');
    // Our own outDir: no race with other tests building dist/.
    await run(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json', '--outDir', join(built, 'dist')], {
      cwd: root,
      timeout: 60_000,
    });
    await writeFile(join(built, 'package.json'), JSON.stringify(pkg));
  }, 90_000);

  afterAll(async () => {
    if (work) await rm(work, { recursive: true, force: true });
  });

  /** An app directory with a copy of the package and `inversify` linked to `alias`; runs `script` there. */
  async function runApp(name: string, alias: string, script: string, setup?: (dir: string) => Promise<void>): Promise<Record<string, unknown>> {
    const dir = join(work, name);
    const modules = join(dir, 'node_modules');
    await mkdir(modules, { recursive: true });
    await cp(built, join(modules, 'swarmauri-middleware-session'), { recursive: true });
    // Node follows the links to the real paths, where each inversify finds its own dependencies.
    await symlink(join(root, 'node_modules', alias), join(modules, 'inversify'), 'dir');
    await symlink(join(root, 'node_modules', 'reflect-metadata'), join(modules, 'reflect-metadata'), 'dir');
    await setup?.(dir);
    await writeFile(join(dir, 'app.mjs'), script);
    const { stdout } = await run(process.execPath, ['app.mjs'], { cwd: dir, timeout: 30_000 });
    return JSON.parse(stdout.trim().split('\n').at(-1)!) as Record<string, unknown>;
  }

  /** Loads sessionModule, binds options by hand, runs one Web request; prints what it saw. */
  const supportedApp = (containerFrom = 'inversify') => `
    import { readFile } from 'node:fs/promises';
    import { Container } from ${JSON.stringify(containerFrom)};
    import * as linked from 'inversify';
    import { MemoryStore, SessionMiddleware, TYPES, sessionModule } from 'swarmauri-middleware-session';
    const secret = ${JSON.stringify(secret)};
    const inversify = JSON.parse(await readFile(new URL('./node_modules/inversify/package.json', import.meta.url), 'utf8')).version;

    const container = new Container();
    await container.load(sessionModule({ maxAge: 7, secret })); // a Promise in inversify 7
    const middleware = container.get(SessionMiddleware);
    const response = await middleware.dispatch(new Request('http://x/'), async (request) => {
      await middleware.sessionOf(request).increment('visits');
      return new Response('ok');
    });
    const stored = await middleware.sessionStorage.get(response.headers.get('x-session-id'));

    const byHand = new Container();
    const store = new MemoryStore({ sweepIntervalSeconds: 0 });
    byHand.bind(TYPES.SessionOptions).toConstantValue({ maxAge: 9, secret, sessionHeader: 'X-Hand-Bound' });
    byHand.bind(TYPES.SessionStore).toConstantValue(store);
    byHand.bind(SessionMiddleware).toSelf();
    const hand = byHand.get(SessionMiddleware);
    middleware.sessionStorage.close();
    console.log(JSON.stringify({
      inversify,
      copies: linked.Container === Container ? 1 : 2,
      module: {
        maxAge: middleware.maxAge,
        sameByToken: container.get(TYPES.SessionMiddleware) === middleware,
        storeTtl: middleware.sessionStorage.defaultTtlSeconds,
      },
      request: { status: response.status, body: await response.text(), stored },
      byHand: { maxAge: hand.maxAge, sessionHeader: hand.sessionHeader, injectedStore: hand.sessionStorage === store },
    }));
  `;

  const honoured = (inversify: string, copies = 1) => ({
    inversify,
    copies,
    module: { maxAge: 7, sameByToken: true, storeTtl: 7 },
    request: { status: 200, body: 'ok', stored: { visits: 1 } },
    byHand: { maxAge: 9, sessionHeader: 'X-Hand-Bound', injectedStore: true },
  });

  it('declares the range and pins its two ends as aliased devDependencies', () => {
    expect(pkg.peerDependencies.inversify).toBe('^7.0.0 || ^8.0.0');
    expect(aliasVersion('inversify-lowest')).toBe('7.0.0');
    expect(aliasVersion('inversify-highest')).toMatch(/^8\.\d+\.\d+$/);
    expect(aliasVersion('inversify6')).toMatch(/^6\./);
  });

  it.each([
    ['lowest', 'inversify-lowest'],
    ['highest', 'inversify-highest'],
  ])('works with the %s supported inversify: module options, hand-bound options, a Web request', async (name, alias) => {
    const result = await runApp(name, alias, supportedApp());
    expect(result).toEqual(honoured(aliasVersion(alias)));
  }, 30_000);

  it('honours options with two copies of inversify 8 (decorators from one, Container from the other)', async () => {
    // The package imports node_modules/inversify; the app's Container comes from a second, copied
    // inversify 8 with its own @inversifyjs/* modules (symlinks would resolve to the same files).
    const result = await runApp('two-copies', 'inversify-highest', supportedApp('./second/node_modules/inversify/lib/index.js'), async (dir) => {
      const second = join(dir, 'second/node_modules');
      await cp(join(root, 'node_modules/inversify-highest'), join(second, 'inversify'), { recursive: true, dereference: true });
      await cp(join(root, 'node_modules/@inversifyjs'), join(second, '@inversifyjs'), { recursive: true, dereference: true });
    });
    expect(result).toEqual(honoured(aliasVersion('inversify-highest'), 2));
  }, 30_000);

  it('throws a clear SessionError when inversify 6 loads sessionModule, instead of a TypeError or nothing bound', async () => {
    const result = await runApp(
      'inversify6',
      'inversify6',
      `
      import 'reflect-metadata';
      import { readFile } from 'node:fs/promises';
      import { Container } from 'inversify';
      import { SessionError, SessionMiddleware, sessionModule } from 'swarmauri-middleware-session';
      const inversify = JSON.parse(await readFile(new URL('./node_modules/inversify/package.json', import.meta.url), 'utf8')).version;
      const container = new Container();
      try {
        container.load(sessionModule({ maxAge: 7, secret: ${JSON.stringify(secret)} }));
        console.log(JSON.stringify({ inversify, loaded: true, maxAge: container.get(SessionMiddleware).maxAge }));
      } catch (error) {
        console.log(JSON.stringify({ inversify, isSessionError: SessionError.is(error), kind: error.kind, option: error.option, message: error.message }));
      }
    `,
    );
    expect(result).toMatchObject({ inversify: aliasVersion('inversify6'), isSessionError: true, kind: 'invalid-option', option: 'inversify' });
    expect(result.message).toContain(`inversify ${pkg.peerDependencies.inversify}`);
    expect(result.message).toMatch(/inversify 6/);
  }, 30_000);
});
