/**
 * adapters/node.ts: `nodeView` over real `http.IncomingMessage` objects, and the response hold of
 * `dispatchNode` (session headers added at `writeHead`, `end` held until the store write) through
 * real `node:http` servers. The plain request/response flows are in tests/integration/node-http.
 */
import http, { IncomingMessage, type ServerResponse } from 'node:http';
import { Socket } from 'node:net';
import { TLSSocket } from 'node:tls';
import { afterEach, describe, expect, it } from '@jest/globals';
import { dispatchNode, nodeView } from '../../../src/adapters/node.js';
import { SessionRegistry } from '../../../src/engine/state.js';
import type { RequestView } from '../../../src/engine/SessionEngine.js';
import { createSession } from '../../../src/concrete/Session.js';
import { SessionLifecycle } from '../../../src/engine/lifecycle.js';
import { SessionEngine } from '../../../src/engine/SessionEngine.js';
import { resolveOptions } from '../../../src/engine/options.js';
import { MemoryStore, type Session, type SessionChanges, type SessionMiddlewareOptions } from '../../../src/index.js';
import { ISSUED_ID, listenHandler, sleep, type Running } from '../../support/http.js';

const SECRET = 'test-secret-of-at-least-32-characters!!';

/** A request object over a socket that never connected, with the given headers. */
function incoming(headers: http.IncomingHttpHeaders, socket: Socket = new Socket()): IncomingMessage {
  const req = new IncomingMessage(socket);
  req.headers = headers;
  return req;
}

/** A MemoryStore whose patch lands only after `delayMs` and records when it did. */
class SlowPatchStore extends MemoryStore {
  readonly landed: string[] = [];
  constructor(readonly delayMs: number) {
    super({ sweepIntervalSeconds: 0 });
  }
  override async patch(id: string, changes: SessionChanges, ttlSeconds: number): Promise<void> {
    await sleep(this.delayMs);
    await super.patch(id, changes, ttlSeconds);
    this.landed.push(id);
  }
}

/** A MemoryStore whose patch always fails (reads work). */
class FailingPatchStore extends MemoryStore {
  patches = 0;
  constructor() {
    super({ sweepIntervalSeconds: 0 });
  }
  override async patch(): Promise<void> {
    this.patches++;
    throw new Error('READONLY replica');
  }
}

type Route = (req: IncomingMessage, res: ServerResponse, session: Session) => void | Promise<void>;

interface Harness {
  server: Running;
  store: MemoryStore;
  /** Errors passed to `next`. */
  errors: unknown[];
}

/** What a `node:http` client saw: the head, the body received, and whether the response completed. */
interface Seen {
  status: number;
  statusMessage: string;
  headers: http.IncomingHttpHeaders;
  body: string;
  complete: boolean;
}

/** One GET through `node:http` (no keep-alive), resolving on close whether or not the response completed. */
function get(url: string, headers: http.OutgoingHttpHeaders = {}): Promise<Seen> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { headers: { connection: 'close', ...headers }, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('error', () => {
        // An aborted response: reported through `complete: false` on close.
      });
      res.on('close', () =>
        resolve({
          status: res.statusCode ?? 0,
          statusMessage: res.statusMessage ?? '',
          headers: res.headers,
          body: Buffer.concat(chunks).toString('utf8'),
          complete: res.complete,
        }),
      );
    });
    req.on('error', reject);
  });
}

/** Waits for `promise`, at most `ms` (the timer is cleared, so nothing is left running). */
async function within(promise: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([promise, new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)))]);
  clearTimeout(timer);
}

/** The `Set-Cookie` lines of what a client saw. */
function cookiesOf(seen: Seen): string[] {
  return seen.headers['set-cookie'] ?? [];
}

describe('adapters/node', () => {
  const cleanups: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0)) await cleanup();
  });

  /** A `node:http` server running `dispatchNode` then `route`; errors given to `next` answer 500. */
  async function serve(route: Route, store: MemoryStore = new MemoryStore({ sweepIntervalSeconds: 0 }), options: SessionMiddlewareOptions = {}): Promise<Harness> {
    const resolved = resolveOptions({ secret: SECRET, ...options });
    store.defaultTtlSeconds = resolved.maxAge;
    const engine = new SessionEngine(resolved, store, createSession);
    const lifecycle = new SessionLifecycle(engine, new SessionRegistry());
    const errors: unknown[] = [];
    const server = await listenHandler((req, res) => {
      void dispatchNode(lifecycle, req, res, (error) => {
        if (error) {
          errors.push(error);
          res.statusCode = 500;
          res.end('next-error');
          return;
        }
        Promise.resolve(route(req, res, lifecycle.sessionOf(req) as Session)).catch((routeError: unknown) => {
          errors.push(routeError);
          res.destroy();
        });
      });
    });
    cleanups.push(() => server.close(), () => store.close());
    return { server, store, errors };
  }

  describe('nodeView', () => {
    it('reads headers by their lower-case name and joins array values with ", "', () => {
      const view = nodeView(
        incoming({
          'x-session-id': 'abcdefgh12345',
          'x-forwarded-proto': ['https', 'http'],
          'x-many': ['a', 'b', 'c'],
          'x-one': ['only'],
        }),
      );
      expect(view.header('x-session-id')).toBe('abcdefgh12345');
      expect(view.header('x-forwarded-proto')).toBe('https, http');
      expect(view.header('x-many')).toBe('a, b, c');
      expect(view.header('x-one')).toBe('only');
    });

    it('returns undefined for a header the request does not have', () => {
      const view = nodeView(incoming({ cookie: 'session_id=abc' }));
      expect(view.header('x-session-id')).toBeUndefined();
      expect(view.header('cookie')).toBe('session_id=abc');
    });

    it('reads the headers when asked, not when the view is made', () => {
      const req = incoming({});
      const view = nodeView(req);
      req.headers['x-session-id'] = 'late-header-1';
      expect(view.header('x-session-id')).toBe('late-header-1');
    });

    it('is not encrypted over a plain socket', () => {
      expect(nodeView(incoming({})).encrypted).toBe(false);
    });

    it('is encrypted over a TLS socket (req.socket.encrypted)', () => {
      const socket = new TLSSocket(new Socket());
      cleanups.push(() => void socket.destroy());
      const req = incoming({}, socket);
      expect((req.socket as TLSSocket).encrypted).toBe(true);
      expect(nodeView(req).encrypted).toBe(true);
    });

    it('sees the headers of a real request as Node parsed them (repeated headers already joined)', async () => {
      let view: RequestView | undefined;
      const server = await listenHandler((req, res) => {
        view = nodeView(req);
        res.end('ok');
      });
      cleanups.push(() => server.close());
      await new Promise<void>((resolve, reject) => {
        const req = http.request(server.url, { headers: { connection: 'close', 'X-Session-ID': ['first-id-1', 'second-id-2'], cookie: 'a=1' }, agent: false }, (res) => {
          res.resume();
          res.on('end', resolve);
        });
        req.on('error', reject);
        req.end();
      });
      expect(view).toBeDefined();
      expect(view!.header('x-session-id')).toBe('first-id-1, second-id-2');
      expect(view!.header('cookie')).toBe('a=1');
      expect(view!.header('x-absent')).toBeUndefined();
      expect(view!.encrypted).toBe(false);
    });
  });

  describe('dispatchNode: the response hold', () => {
    it('a handler that writes first still gets the session headers (added at writeHead), and the write lands before the end reaches the client', async () => {
      const store = new SlowPatchStore(250);
      const h = await serve(async (_req, res, session) => {
        session.set('streamed', 'yes');
        res.setHeader('content-type', 'text/plain');
        res.write('part1,');
        await sleep(20);
        res.end('part2');
      }, store);
      const seen = await get(h.server.url);
      expect(seen.status).toBe(200);
      expect(seen.complete).toBe(true);
      expect(seen.body).toBe('part1,part2');
      const id = seen.headers['x-session-id'] as string;
      expect(id).toMatch(ISSUED_ID);
      expect(cookiesOf(seen)).toEqual([`session_id=${id}; Max-Age=3600; Path=/; HttpOnly; SameSite=Lax`]);
      // The client has the whole response, so the slow write has landed already.
      expect(store.landed).toEqual([id]);
      expect(await store.get(id)).toEqual({ streamed: 'yes' });
      expect(h.errors).toEqual([]);
    });

    it('holds end until the commit: the response finishes only after the store write completed', async () => {
      const store = new SlowPatchStore(200);
      const order: string[] = [];
      let finished!: Promise<void>;
      const h = await serve((_req, res, session) => {
        session.set('k', 1);
        // 'finish' and the client's end of the response race in one event loop: wait for both.
        finished = new Promise((resolve) =>
          res.on('finish', () => {
            order.push(`finish (landed: ${store.landed.length})`);
            resolve();
          }),
        );
        res.end('done');
        order.push('end returned');
      }, store);
      const seen = await get(h.server.url);
      expect(seen.body).toBe('done');
      await within(finished, 5000);
      expect(order).toEqual(['end returned', 'finish (landed: 1)']);
    });

    it("keeps the application's cookie with writeHead(status, statusMessage, { 'Set-Cookie': ... })", async () => {
      const h = await serve((_req, res, session) => {
        session.set('x', 1);
        res.writeHead(200, 'Fine Thanks', { 'Set-Cookie': 'a=b', 'content-type': 'text/plain' });
        res.end('ok');
      });
      const seen = await get(h.server.url);
      expect(seen.status).toBe(200);
      expect(seen.statusMessage).toBe('Fine Thanks');
      expect(seen.headers['content-type']).toBe('text/plain');
      const id = seen.headers['x-session-id'] as string;
      expect(id).toMatch(ISSUED_ID);
      expect(cookiesOf(seen)).toEqual(['a=b', `session_id=${id}; Max-Age=3600; Path=/; HttpOnly; SameSite=Lax`]);
      expect(await h.store.get(id)).toEqual({ x: 1 });
    });

    it('keeps every cookie of an array-valued set-cookie given to writeHead', async () => {
      const h = await serve((_req, res) => {
        res.writeHead(201, { 'set-cookie': ['one=1', 'two=2'] });
        res.end();
      });
      const seen = await get(h.server.url);
      expect(seen.status).toBe(201);
      const id = seen.headers['x-session-id'] as string;
      expect(cookiesOf(seen)).toEqual(['one=1', 'two=2', `session_id=${id}; Max-Age=3600; Path=/; HttpOnly; SameSite=Lax`]);
    });

    it('keeps Set-Cookie lines set with setHeader before an implicit writeHead', async () => {
      const h = await serve((_req, res) => {
        res.setHeader('Set-Cookie', ['pre1=1', 'pre2=2']);
        res.end('x');
      });
      const seen = await get(h.server.url);
      const id = seen.headers['x-session-id'] as string;
      expect(cookiesOf(seen)).toEqual(['pre1=1', 'pre2=2', `session_id=${id}; Max-Age=3600; Path=/; HttpOnly; SameSite=Lax`]);
    });

    it("does not modify the application's headers object: a shared constant never carries one client's cookie to the next", async () => {
      const shared: Record<string, string | string[]> = { 'Set-Cookie': 'theme=dark' };
      const h = await serve((_req, res) => {
        res.writeHead(200, shared);
        res.end('ok');
      });
      const first = await get(h.server.url);
      const second = await get(h.server.url);
      const firstId = first.headers['x-session-id'] as string;
      const secondId = second.headers['x-session-id'] as string;
      expect(firstId).not.toBe(secondId);
      expect(cookiesOf(first)).toEqual(['theme=dark', `session_id=${firstId}; Max-Age=3600; Path=/; HttpOnly; SameSite=Lax`]);
      expect(cookiesOf(second)).toEqual(['theme=dark', `session_id=${secondId}; Max-Age=3600; Path=/; HttpOnly; SameSite=Lax`]);
      expect(shared).toEqual({ 'Set-Cookie': 'theme=dark' });
    });

    it('keeps the session cookie and the application cookies with the flat-array form writeHead(status, [name, value, ...])', async () => {
      const h = await serve((_req, res) => {
        res.writeHead(200, ['Set-Cookie', 'a=b', 'Content-Type', 'text/plain', 'Set-Cookie', 'c=d']);
        res.end('ok');
      });
      const seen = await get(h.server.url);
      const id = seen.headers['x-session-id'] as string;
      expect(id).toMatch(ISSUED_ID);
      expect(seen.headers['content-type']).toBe('text/plain');
      expect(cookiesOf(seen)).toEqual(['a=b', 'c=d', `session_id=${id}; Max-Age=3600; Path=/; HttpOnly; SameSite=Lax`]);
    });

    it('a commit that fails after the headers went out destroys the socket: the client sees an aborted response, not a clean 200', async () => {
      const store = new FailingPatchStore();
      const h = await serve(async (_req, res, session) => {
        session.set('k', 'v');
        res.setHeader('content-type', 'text/plain');
        res.write('partial,');
        await sleep(20);
        res.end('rest');
      }, store);
      const seen = await get(h.server.url);
      expect(seen.status).toBe(200);
      expect(seen.complete).toBe(false);
      expect(seen.body).not.toContain('rest');
      expect(store.patches).toBe(1);
      expect(await store.length()).toBe(0);
      // The error could not reach next() (the response had started), so it went nowhere else.
      expect(h.errors).toEqual([]);
    });

    it('a commit that fails before the headers went out goes to next(error), which can still answer', async () => {
      const store = new FailingPatchStore();
      const h = await serve((_req, res, session) => {
        session.set('k', 'v');
        res.end('would-be success');
      }, store);
      const seen = await get(h.server.url);
      expect(seen.status).toBe(500);
      expect(seen.complete).toBe(true);
      expect(seen.body).toBe('next-error');
      expect(seen.headers['x-session-id']).toBeUndefined();
      expect(h.errors).toHaveLength(1);
    });

    describe('Cache-Control on responses carrying the id (no shared cache may store them)', () => {
      /** The `Cache-Control` lines a client saw (Node joins repeated ones; count the raw lines). */
      function cacheControlLines(url: string): Promise<{ lines: string[]; cookies: string[]; id: string | undefined }> {
        return new Promise((resolve, reject) => {
          const req = http.get(url, { headers: { connection: 'close' }, agent: false }, (res) => {
            res.resume();
            res.on('end', () =>
              resolve({
                lines: res.rawHeaders.filter((_v, i) => i % 2 === 1 && res.rawHeaders[i - 1]!.toLowerCase() === 'cache-control'),
                cookies: res.headers['set-cookie'] ?? [],
                id: res.headers['x-session-id'] as string | undefined,
              }),
            );
          });
          req.on('error', reject);
        });
      }

      it('the flat-array writeHead form gets both rewrites, in a copy: the cookie joins, public becomes private', async () => {
        const shared = Object.freeze(['Set-Cookie', 'a=b', 'Cache-Control', 'public, max-age=60', 'Content-Type', 'text/plain']);
        const h = await serve((_req, res) => {
          res.writeHead(200, 'Fine', shared as unknown as string[]);
          res.end('ok');
        });
        const seen = await cacheControlLines(h.server.url);
        expect(seen.id).toMatch(ISSUED_ID);
        expect(seen.cookies).toEqual(['a=b', `session_id=${seen.id}; Max-Age=3600; Path=/; HttpOnly; SameSite=Lax`]);
        expect(seen.lines).toEqual(['private, max-age=60']);
        expect(shared).toEqual(['Set-Cookie', 'a=b', 'Cache-Control', 'public, max-age=60', 'Content-Type', 'text/plain']);
      });

      it('repeated Cache-Control pairs in the flat form are judged together and sent as one line', async () => {
        const h = await serve((_req, res) => {
          res.writeHead(200, ['Cache-Control', 'max-age=5', 'cache-control', 'private']);
          res.end('ok');
        });
        expect((await cacheControlLines(h.server.url)).lines).toEqual(['max-age=5, private']);
      });

      it('a value set with setHeader before a held end is made private once the commit is done', async () => {
        const store = new SlowPatchStore(30);
        const h = await serve((_req, res, session) => {
          session.set('k', 1);
          res.setHeader('Cache-Control', 'public, s-maxage=600, max-age=60');
          res.end('ok');
          // Changed after the end: undone, the client gets what the handler ended with, made private.
          res.setHeader('Cache-Control', 'public, max-age=1');
        }, store);
        expect((await cacheControlLines(h.server.url)).lines).toEqual(['private, max-age=60']);
      });

      it('no-store where the app set none, on an implicit writeHead from write', async () => {
        const h = await serve((_req, res) => {
          res.write('a');
          res.end('b');
        });
        expect((await cacheControlLines(h.server.url)).lines).toEqual(['no-store']);
      });

      it('cacheControl: false leaves Cache-Control alone', async () => {
        const h = await serve(
          (_req, res) => {
            res.writeHead(200, { 'Cache-Control': 'public, max-age=60' });
            res.end('ok');
          },
          undefined,
          { cacheControl: false },
        );
        const seen = await cacheControlLines(h.server.url);
        expect(seen.id).toMatch(ISSUED_ID);
        expect(seen.lines).toEqual(['public, max-age=60']);
      });
    });

    it('calls the callback given to end once the held end went through', async () => {
      const store = new SlowPatchStore(100);
      let landedWhenCalled: number | undefined;
      let called!: Promise<void>;
      const h = await serve((_req, res, session) => {
        session.set('k', 1);
        called = new Promise((resolve) =>
          res.end('ok', () => {
            landedWhenCalled = store.landed.length;
            resolve();
          }),
        );
      }, store);
      const seen = await get(h.server.url);
      expect(seen.body).toBe('ok');
      // No short sleep racing the server: wait for the callback itself (bounded, so a missing call fails).
      await within(called, 5000);
      expect(landedWhenCalled).toBe(1);
    });
  });
});
