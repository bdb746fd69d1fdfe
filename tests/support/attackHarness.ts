/**
 * One tiny app, the same on every framework adapter, over a real socket, for the attack battery
 * (tests/integration/attacks-*.test.ts): Express 5 (`sessionMiddleware.express()`), the Fastify 5
 * plugin, Koa 3, Hono 4 on @hono/node-server and plain `node:http`.
 *
 * Routes (GET, JSON answers):
 * - `/count`: `await session.increment('count')` → `{ id, count }`
 * - `/login?user=u`: `await session.login(u)` → `{ id, userId, handle }`
 * - `/logout`: `await session.destroy()` → `{ destroyed: true }`
 * - `/whoami`: → `{ id, isNew, userId, data }` (reads only)
 * - `/set?k=v&...`: `session.set(k, v)` for each pair → `{ id }`
 * - `/regenerate`: `await session.regenerate()` → `{ id }`
 * - `/nothing`: → `{ ok: true }` (does not touch the session)
 * Any route given `?hold=<name>` waits at that gate ({@link AttackApp.gate}) after the session was
 * opened and before it does its work, so a test can line requests up on a loaded session.
 *
 * Also:
 * - `Stores`: MemoryStore (`WatchedMemoryStore`, which counts destroys) or RedisStore (ioredis, a
 *   unique prefix each), cleaned up at the end, and `footprint()`: what a store holds, tombstones
 *   included;
 * - `flood()`: a flood client in a child process (plain JavaScript, keep-alive, pipelined, a few
 *   connections) presenting made-up well-formed ids;
 * - `floodServer()`: Express + MemoryStore in a process of its own (tsx, `--expose-gc`) flooded by
 *   that client, reporting what the store holds and how much the heap grew;
 * - `KeepAliveClient`: one light client per connection, for hundreds of parallel clients;
 * - `collectGarbage()`: a full GC in this process (`--expose-gc` turned on at run time).
 * This module imports no jest API, so the flood server process can load it.
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import net from 'node:net';
import { runInNewContext } from 'node:vm';
import v8 from 'node:v8';
import express from 'express';
import Fastify from 'fastify';
import Koa from 'koa';
import { Hono } from 'hono';
import { serve } from '@hono/node-server';
import { Redis } from 'ioredis';
import { MemoryStore, RedisStore, SessionError, SessionMiddleware, type Session, type SessionMiddlewareOptions, type SessionStore } from '../../src/index.js';
import { cookieValue, listenApp, listenHandler, rawRequest, type Running } from './http.js';
import { REDIS_URL } from './redisProbe.js';

/** At least 32 characters, as the guide asks. */
export const SECRET = 'attack-battery-secret-of-at-least-32-chars!';
export const OLD_SECRET = 'attack-battery-OLD-secret-of-32-chars-or-more';
export const NEW_SECRET = 'attack-battery-NEW-secret-of-32-chars-or-more';

export const FRAMEWORKS = ['express', 'fastify', 'koa', 'hono', 'node:http'] as const;
export type Framework = (typeof FRAMEWORKS)[number];
export type StoreKind = 'memory' | 'redis';

/** Requests lined up on a loaded session, released together. */
export class Gate {
  #arrived = 0;
  #open = false;
  #waiters: Array<() => void> = [];
  #watchers: Array<{ count: number; resolve: () => void }> = [];

  get arrived(): number {
    return this.#arrived;
  }

  /** Called by a request: resolves once the gate is released. */
  pass(): Promise<void> {
    this.#arrived++;
    this.#watchers = this.#watchers.filter((w) => (this.#arrived >= w.count ? (w.resolve(), false) : true));
    if (this.#open) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  /** Resolves once `count` requests wait at the gate. */
  until(count: number): Promise<void> {
    if (this.#arrived >= count) return Promise.resolve();
    return new Promise((resolve) => this.#watchers.push({ count, resolve }));
  }

  release(): void {
    this.#open = true;
    for (const resolve of this.#waiters.splice(0)) resolve();
  }
}

/** A running app of one framework. */
export interface AttackApp {
  readonly framework: Framework;
  readonly mw: SessionMiddleware;
  readonly store: SessionStore;
  readonly port: number;
  readonly url: string;
  /** Errors that reached the framework's error path. */
  readonly errors: unknown[];
  /** The gate named `name` (made on first use), for `?hold=name`. */
  gate(name: string): Gate;
  get(path: string, headers?: Record<string, string>): Promise<Response>;
  /** A raw exchange over `node:net` (the text should say `Connection: close`). */
  raw(text: string): Promise<string>;
  /** Stops the server (not the store, which the caller owns). */
  close(): Promise<void>;
}

interface Answer {
  status: number;
  body: Record<string, unknown>;
}

/** The app's routes, free of the framework. */
async function answer(session: Session | undefined, url: string, gates: Map<string, Gate>): Promise<Answer> {
  const { pathname, searchParams } = new URL(url, 'http://app.invalid');
  if (pathname === '/nothing') return { status: 200, body: { ok: true } };
  if (!session) return { status: 503, body: { error: 'no session' } };
  const hold = searchParams.get('hold');
  if (hold !== null) await gateOf(gates, hold).pass();
  switch (pathname) {
    case '/count': {
      const count = await session.increment('count');
      return { status: 200, body: { id: session.id, count } };
    }
    case '/login': {
      await session.login(searchParams.get('user') ?? 'user');
      return { status: 200, body: { id: session.id, userId: session.userId, handle: session.handle } };
    }
    case '/logout':
      await session.destroy();
      return { status: 200, body: { destroyed: true } };
    case '/whoami':
      return { status: 200, body: { id: session.id, isNew: session.isNew, userId: session.userId ?? null, data: session.toJSON() } };
    case '/set':
      for (const [key, value] of searchParams) if (key !== 'hold') session.set(key, value);
      return { status: 200, body: { id: session.id } };
    case '/regenerate':
      await session.regenerate();
      return { status: 200, body: { id: session.id } };
    default:
      return { status: 404, body: { error: 'not found' } };
  }
}

function gateOf(gates: Map<string, Gate>, name: string): Gate {
  let gate = gates.get(name);
  if (!gate) gates.set(name, (gate = new Gate()));
  return gate;
}

function failure(error: unknown): Answer {
  return SessionError.is(error) ? { status: error.status, body: { error: error.kind } } : { status: 500, body: { error: error instanceof Error ? error.message : String(error) } };
}

async function safely(run: () => Promise<Answer>, errors: unknown[]): Promise<Answer> {
  try {
    return await run();
  } catch (error) {
    errors.push(error);
    return failure(error);
  }
}

/** Starts the app on `framework`, with a middleware over `store` (the caller owns and closes the store). */
export async function startApp(framework: Framework, store: SessionStore, options: SessionMiddlewareOptions = {}): Promise<AttackApp> {
  const mw = new SessionMiddleware({ secret: SECRET, ...options, sessionStorage: store });
  const gates = new Map<string, Gate>();
  const errors: unknown[] = [];
  let running: Running;
  let stop: (() => Promise<void>) | undefined;
  switch (framework) {
    case 'express': {
      const app = express();
      app.use(mw.express());
      app.use(async (req, res) => {
        const { status, body } = await safely(() => answer(req.session, req.originalUrl, gates), errors);
        res.status(status).json(body);
      });
      app.use((error: unknown, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
        errors.push(error);
        const { status, body } = failure(error);
        res.status(status).json(body);
      });
      running = await listenApp(app);
      break;
    }
    case 'node:http': {
      const handle = mw.express();
      running = await listenHandler((req, res) => {
        const send = ({ status, body }: Answer): void => {
          res.statusCode = status;
          res.setHeader('content-type', 'application/json');
          res.end(JSON.stringify(body));
        };
        handle(req, res, (error) => {
          if (error !== undefined) {
            errors.push(error);
            return send(failure(error));
          }
          void safely(() => answer(mw.sessionOf(req), req.url ?? '/', gates), errors).then(send);
        });
      });
      break;
    }
    case 'fastify': {
      const app = Fastify();
      app.setErrorHandler((error, _request, reply) => {
        errors.push(error);
        const { status, body } = failure(error);
        void reply.code(status).send(body);
      });
      await app.register(mw.fastify());
      app.route({
        method: ['GET', 'POST'],
        url: '/*',
        handler: async (request, reply) => {
          const { status, body } = await safely(() => answer(request.session, request.url, gates), errors);
          return reply.code(status).send(body);
        },
      });
      const address = await app.listen({ port: 0, host: '127.0.0.1' });
      const port = Number(new URL(address).port);
      running = { server: app.server, port, url: `http://127.0.0.1:${port}`, close: async () => undefined };
      stop = async () => {
        app.server.closeAllConnections();
        await app.close();
      };
      break;
    }
    case 'koa': {
      const app = new Koa();
      app.silent = true;
      app.on('error', (error: unknown) => errors.push(error));
      app.use(async (ctx, next) => {
        try {
          await next();
        } catch (error) {
          errors.push(error);
          const { status, body } = failure(error);
          ctx.status = status;
          ctx.body = body;
        }
      });
      app.use(mw.koa());
      app.use(async (ctx) => {
        const { status, body } = await safely(() => answer(ctx.session, ctx.url, gates), errors);
        ctx.status = status;
        ctx.body = body;
      });
      running = await listenApp(app);
      break;
    }
    case 'hono': {
      const app = new Hono();
      app.use(mw.hono());
      app.all('*', async (c) => {
        const { status, body } = await safely(() => answer(c.get('session'), c.req.url, gates), errors);
        return c.json(body, status as 200);
      });
      app.onError((error, c) => {
        errors.push(error);
        const { status, body } = failure(error);
        return c.json(body, status as 500);
      });
      running = await listenApp({ listen: (port, hostname) => serve({ fetch: app.fetch, port, hostname }) as Server });
      break;
    }
  }
  const { port, url } = running;
  return {
    framework,
    mw,
    store,
    port,
    url,
    errors,
    gate: (name) => gateOf(gates, name),
    get: (path, headers = {}) => fetch(url + path, { headers, redirect: 'manual' }),
    raw: (text) => rawRequest(port, text),
    close: stop ?? (() => running.close()),
  };
}

/**
 * A `MemoryStore` that counts the destroys reaching it (each leaves a tombstone, which `length()`
 * does not count). Overriding `destroySession` keeps the store's synchronous request path.
 */
export class WatchedMemoryStore extends MemoryStore {
  destroys = 0;
  protected override async destroySession(id: string): Promise<void> {
    this.destroys++;
    return super.destroySession(id);
  }
}

/** Makes stores of one kind and cleans them all up at the end. */
export class Stores {
  #redis: Redis | undefined;
  readonly #made: SessionStore[] = [];
  readonly #prefixes = new Map<SessionStore, string>();

  constructor(readonly kind: StoreKind) {}

  make(): SessionStore {
    let store: SessionStore;
    if (this.kind === 'memory') {
      store = new WatchedMemoryStore({ sweepIntervalSeconds: 0 });
    } else {
      this.#redis ??= new Redis(REDIS_URL, { lazyConnect: false, maxRetriesPerRequest: 1 });
      const prefix = `test:attacks:${randomUUID()}:`;
      store = new RedisStore({ client: this.#redis, prefix });
      this.#prefixes.set(store, prefix);
    }
    this.#made.push(store);
    return store;
  }

  /**
   * Everything `store` holds, tombstones included (which `length()` does not count): the Redis
   * keys under its prefix, or the live sessions plus the destroys of a watched memory store.
   */
  async footprint(store: SessionStore): Promise<number> {
    const prefix = this.#prefixes.get(store);
    if (prefix === undefined) return (await store.length()) + (store as WatchedMemoryStore).destroys;
    let keys = 0;
    let cursor = '0';
    do {
      const [next, found] = await this.#redis!.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      cursor = next;
      keys += found.length;
    } while (cursor !== '0');
    return keys;
  }

  async close(): Promise<void> {
    for (const store of this.#made.splice(0)) {
      if (store instanceof MemoryStore) store.close();
      else await store.clear();
    }
    if (this.#redis) await this.#redis.quit();
    this.#redis = undefined;
  }
}

/** The id a response hands out (`X-Session-ID`, else the session cookie's value), if any. */
export function handedId(response: Response): string | undefined {
  const header = response.headers.get('x-session-id');
  if (header !== null) return header;
  const cookie = cookieValue(response, 'session_id');
  return cookie === '' ? undefined : cookie;
}

/** Like {@link handedId}, but the response must hand one out. */
export function sid(response: Response): string {
  const id = handedId(response);
  if (id === undefined) throw new Error(`no session id on a ${response.status} response`);
  return id;
}

export async function json<T = Record<string, unknown>>(response: Response): Promise<T> {
  return (await response.json()) as T;
}

/** A well-formed id of our shape (`random.start.signature`) that no server issued. */
export function forgedId(seed = 0): string {
  const random = `${seed.toString(36)}${'Q'.repeat(22)}`.slice(0, 22);
  return `${random}.${Math.floor(Date.now() / 1000).toString(36)}.${'Z'.repeat(24)}`;
}

/** The cookie header presenting `id`. */
export const cookie = (id: string): Record<string, string> => ({ cookie: `session_id=${id}` });

/** Runs a full garbage collection in this process (`--expose-gc` turned on at run time). */
export function collectGarbage(): void {
  v8.setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as (() => void) | undefined;
  if (typeof gc !== 'function') throw new Error('gc is not available');
  gc();
  gc();
}

/** What the flood client reports. */
export interface FloodReport {
  requests: number;
  ok: number;
  /** Distinct ids handed out (every response but the logouts'). */
  distinct: number;
  /** Logouts answered with a clearing cookie and no id. */
  logouts: number;
  /** The first few responses that broke a rule, described. */
  failures: string[];
  ms: number;
}

/** How a flood request presents its made-up id. */
export interface FloodOptions {
  port: number;
  count: number;
  connections?: number;
  /** Requests in flight per connection (HTTP/1.1 pipelining). */
  depth?: number;
  /** Paths, used in turn (`/logout` expects a clearing cookie and no id). */
  paths?: string[];
}

/**
 * The flood client, plain JavaScript run by `node --input-type=module`: `count` requests over a
 * few keep-alive connections, each presenting a made-up well-formed id (our shape with a bogus
 * signature, or a client-chosen name; in the header or in the cookie, in turn). Every response must
 * be 200 and hand out a fresh id of our shape (in the header to header clients, in the cookie only
 * to cookie clients), never the id sent.
 */
const FLOOD_CLIENT = String.raw`
import net from 'node:net';
const { port, count, connections, depth, paths } = JSON.parse(process.env.FLOOD);
const ISSUED = /^[A-Za-z0-9_-]{22}\.[0-9a-z]{1,10}\.[A-Za-z0-9_-]{24}$/;
const start36 = Math.floor(Date.now() / 1000).toString(36);
const stamp = Date.now().toString(36);
const distinct = new Set();
const failures = [];
let ok = 0;
let logouts = 0;
const fail = (what) => { if (failures.length < 5) failures.push(what); };
function madeUp(i) {
  const n = (i.toString(36) + stamp).padEnd(22, 'x').slice(0, 22);
  switch (i % 4) {
    case 0: return { id: n + '.' + start36 + '.' + 'Z'.repeat(24), via: 'header' };
    case 1: return { id: n + '.' + start36 + '.' + 'Y'.repeat(24), via: 'cookie' };
    case 2: return { id: 'flood-' + i + '-' + stamp, via: 'header' };
    default: return { id: 'flood~' + i + '.' + stamp, via: 'cookie' };
  }
}
function check(head, sent) {
  if (!head.startsWith('HTTP/1.1 200')) return fail('status: ' + head.slice(0, 40) + ' for ' + sent.id);
  const lines = head.split('\r\n');
  let header, cookieId, cookieLine;
  for (const line of lines) {
    const lower = line.toLowerCase();
    if (lower.startsWith('x-session-id:')) header = line.slice(13).trim();
    else if (lower.startsWith('set-cookie: session_id=')) { cookieLine = line; cookieId = line.slice(23).split(';')[0]; }
  }
  if (sent.path === '/logout') {
    // A logout presenting a made-up id: no id handed out, the cookie cleared, nothing stored.
    if (header !== undefined || cookieId !== '' || !/Max-Age=0/.test(cookieLine)) return fail('logout answered ' + head);
    logouts++;
    ok++;
    return;
  }
  const id = header ?? cookieId;
  if (id === undefined || !ISSUED.test(id)) return fail('no fresh id for ' + sent.id + ': ' + head);
  if (id === sent.id) return fail('adopted ' + sent.id);
  if (sent.via === 'cookie' && header !== undefined) return fail('id header to a cookie client');
  if (cookieId !== undefined && cookieId !== id) return fail('header and cookie disagree');
  distinct.add(id);
  ok++;
}
function run(first, n) {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.setNoDelay(true);
    const queue = [];
    let next = 0, done = 0, buffer = Buffer.alloc(0);
    const pump = () => {
      let text = '';
      while (next < n && next - done < depth) {
        const i = first + next++;
        const sent = madeUp(i);
        const path = paths[i % paths.length];
        sent.path = path;
        queue.push(sent);
        text += 'GET ' + path + ' HTTP/1.1\r\nHost: flood\r\n' + (sent.via === 'header' ? 'X-Session-ID: ' : 'Cookie: a=b; session_id=') + sent.id + '\r\n\r\n';
      }
      if (text) socket.write(text, 'latin1');
    };
    socket.on('data', (chunk) => {
      buffer = buffer.length === 0 ? chunk : Buffer.concat([buffer, chunk]);
      let at = 0;
      for (;;) {
        const end = buffer.indexOf('\r\n\r\n', at, 'latin1');
        if (end === -1) break;
        const head = buffer.toString('latin1', at, end);
        let bodyEnd;
        const length = /\r\ncontent-length: *(\d+)/i.exec(head);
        if (length) {
          bodyEnd = end + 4 + Number(length[1]);
          if (buffer.length < bodyEnd) break;
        } else if (/\r\ntransfer-encoding: *chunked/i.test(head)) {
          let p = end + 4;
          bodyEnd = -1;
          for (;;) {
            const lineEnd = buffer.indexOf('\r\n', p, 'latin1');
            if (lineEnd === -1) break;
            const size = parseInt(buffer.toString('latin1', p, lineEnd), 16);
            if (size === 0) { if (buffer.length >= lineEnd + 4) bodyEnd = lineEnd + 4; break; }
            p = lineEnd + 2 + size + 2;
            if (p > buffer.length) break;
          }
          if (bodyEnd === -1) break;
        } else {
          bodyEnd = end + 4;
        }
        check(head, queue[done]);
        done++;
        at = bodyEnd;
      }
      buffer = at === buffer.length ? Buffer.alloc(0) : buffer.subarray(at);
      if (done === n) { socket.end(); resolve(); } else pump();
    });
    socket.on('error', reject);
    socket.on('close', () => { if (done < n) reject(new Error('connection closed after ' + done + ' of ' + n)); });
    socket.on('connect', pump);
  });
}
const t0 = Date.now();
const per = Math.ceil(count / connections);
await Promise.all(Array.from({ length: connections }, (_, c) => run(c * per, Math.max(0, Math.min(per, count - c * per)))));
process.stdout.write(JSON.stringify({ requests: count, ok, distinct: distinct.size, logouts, failures, ms: Date.now() - t0 }));
`;

/** Runs the flood client in a child process against `port`; resolves its report. */
export function flood(options: FloodOptions): Promise<FloodReport> {
  const settings = { connections: 4, depth: 32, paths: ['/nothing', '/whoami', '/logout'], ...options };
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', FLOOD_CLIENT], {
      env: { ...process.env, FLOOD: JSON.stringify(settings) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`flood client exited with ${code}: ${err}`));
      try {
        resolve(JSON.parse(out) as FloodReport);
      } catch {
        reject(new Error(`flood client said: ${out} ${err}`));
      }
    });
  });
}

/** A response read off a raw socket. */
export interface RawResponse {
  status: number;
  /** Header lines, names lower-cased, in order. */
  headers: Array<[string, string]>;
  body: string;
}

/** The value of the session cookie a raw response sets, if any (`''` for a clearing one). */
export function rawCookie(response: RawResponse, name = 'session_id'): string | undefined {
  const line = response.headers.find(([header, value]) => header === 'set-cookie' && value.startsWith(`${name}=`));
  return line?.[1].slice(name.length + 1).split(';')[0];
}

/** The first complete response at the start of `buffer` and where it ends, or `undefined` while it is incomplete. */
function takeResponse(buffer: Buffer): { response: RawResponse; end: number } | undefined {
  const headEnd = buffer.indexOf('\r\n\r\n', 0, 'latin1');
  if (headEnd === -1) return undefined;
  const [statusLine, ...lines] = buffer.toString('latin1', 0, headEnd).split('\r\n');
  const headers = lines.map((line): [string, string] => {
    const colon = line.indexOf(':');
    return [line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim()];
  });
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine ?? '')?.[1] ?? NaN);
  const length = headers.find(([name]) => name === 'content-length')?.[1];
  if (length !== undefined) {
    const end = headEnd + 4 + Number(length);
    if (buffer.length < end) return undefined;
    return { response: { status, headers, body: buffer.toString('utf8', headEnd + 4, end) }, end };
  }
  if (headers.some(([name, value]) => name === 'transfer-encoding' && /chunked/i.test(value))) {
    const parts: Buffer[] = [];
    let at = headEnd + 4;
    for (;;) {
      const lineEnd = buffer.indexOf('\r\n', at, 'latin1');
      if (lineEnd === -1) return undefined;
      const size = parseInt(buffer.toString('latin1', at, lineEnd), 16);
      if (size === 0) {
        if (buffer.length < lineEnd + 4) return undefined;
        return { response: { status, headers, body: Buffer.concat(parts).toString('utf8') }, end: lineEnd + 4 };
      }
      if (buffer.length < lineEnd + 2 + size + 2) return undefined;
      parts.push(buffer.subarray(lineEnd + 2, lineEnd + 2 + size));
      at = lineEnd + 2 + size + 2;
    }
  }
  return { response: { status, headers, body: '' }, end: headEnd + 4 };
}

/**
 * One client on one keep-alive connection, one request at a time: much lighter than `fetch` when
 * hundreds of clients share this process with the server under test.
 */
export class KeepAliveClient {
  readonly #socket: net.Socket;
  #buffer: Buffer = Buffer.alloc(0);
  #waiting: { resolve: (response: RawResponse) => void; reject: (error: Error) => void } | undefined;
  #failed: Error | undefined;

  constructor(port: number) {
    this.#socket = net.connect(port, '127.0.0.1');
    this.#socket.setNoDelay(true);
    this.#socket.on('data', (chunk: Buffer) => {
      this.#buffer = this.#buffer.length === 0 ? chunk : Buffer.concat([this.#buffer, chunk]);
      const taken = takeResponse(this.#buffer);
      if (!taken) return;
      this.#buffer = this.#buffer.subarray(taken.end);
      const waiting = this.#waiting;
      this.#waiting = undefined;
      waiting?.resolve(taken.response);
    });
    const fail = (error: Error): void => {
      this.#failed ??= error;
      this.#waiting?.reject(error);
      this.#waiting = undefined;
    };
    this.#socket.on('error', fail);
    this.#socket.on('close', () => fail(new Error('connection closed')));
  }

  request(path: string, headers: Record<string, string> = {}): Promise<RawResponse> {
    if (this.#failed) return Promise.reject(this.#failed);
    if (this.#waiting) return Promise.reject(new Error('one request at a time'));
    return new Promise((resolve, reject) => {
      this.#waiting = { resolve, reject };
      const lines = Object.entries(headers).map(([name, value]) => `${name}: ${value}\r\n`).join('');
      this.#socket.write(`GET ${path} HTTP/1.1\r\nHost: client\r\n${lines}\r\n`, 'latin1');
    });
  }

  close(): void {
    this.#failed ??= new Error('closed');
    this.#socket.destroy();
  }
}

/** What the flood server process reports. */
export interface FloodServerReport {
  warm: FloodReport;
  report: FloodReport;
  /** `store.length()` and `store.bytes` after the flood, and the destroys (tombstones) that reached the store. */
  length: number;
  bytes: number;
  destroys: number;
  /** Heap growth across the flood, after a full GC before and after. */
  growth: number;
  errors: string[];
}

/**
 * Runs Express + `sessionMiddleware.express()` + MemoryStore in a process of its own (through
 * tsx, with `--expose-gc`), floods it with `count` made-up ids from the flood client (a third
 * process), and reports what the store holds and how much the heap grew. Both sides then have a
 * core of their own, and jest's process stays free for the other tests meanwhile.
 */
export interface FloodServerRun {
  /** The report, once the flood is over. */
  readonly result: Promise<FloodServerReport>;
  /** Kills the flood server (by its PID) if it still runs; its client then ends on the closed connections. */
  stop(): void;
}

export function floodServer(count: number, connections = 4, depth = 32): FloodServerRun {
  const harness = new URL(import.meta.url).href;
  const code = `
    const { WatchedMemoryStore, collectGarbage, flood, startApp } = await import(${JSON.stringify(harness)});
    const store = new WatchedMemoryStore({ sweepIntervalSeconds: 0 });
    const app = await startApp('express', store);
    const warm = await flood({ port: app.port, count: 2000 });
    collectGarbage();
    const before = process.memoryUsage().heapUsed;
    const report = await flood({ port: app.port, count: ${count}, connections: ${connections}, depth: ${depth} });
    collectGarbage();
    const growth = process.memoryUsage().heapUsed - before;
    const length = await store.length();
    const bytes = store.bytes;
    const destroys = store.destroys;
    await app.close();
    store.close();
    process.stdout.write(JSON.stringify({ warm, report, length, bytes, destroys, growth, errors: app.errors.map(String) }));
    process.exit(0);
  `;
  const child = spawn(process.execPath, ['--expose-gc', '--import', 'tsx', '--input-type=module', '-e', code], {
    cwd: process.cwd(),
    env: { ...process.env, NODE_OPTIONS: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const result = new Promise<FloodServerReport>((resolve, reject) => {
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (code !== 0) return reject(new Error(`flood server exited with ${code ?? signal}: ${err}`));
      try {
        resolve(JSON.parse(out) as FloodServerReport);
      } catch {
        reject(new Error(`flood server said: ${out} ${err}`));
      }
    });
  });
  result.catch(() => undefined);
  return {
    result,
    stop: () => {
      if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) process.kill(child.pid, 'SIGKILL');
    },
  };
}
