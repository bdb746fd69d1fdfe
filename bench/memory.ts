// Memory figures of `npm run bench`, one measurement per process (`node --expose-gc`):
//   node --expose-gc memory.js store-library <count>   heap bytes per session in this library's MemoryStore
//   node --expose-gc memory.js store-peer <count>      the same data in express-session's MemoryStore
//   node --expose-gc memory.js flood <count>           heap growth after <count> requests with made-up ids
// Prints one JSON line. Both stores get the same ids (54 characters, the shape of this library's ids)
// and the same data, `{ visits: 1, user: 'user-<i>' }`, through their own store API.
import { createHash, randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { MemoryStore, SessionMiddleware } from '../src/index.js';

const require = createRequire(import.meta.url);
const SECRET = 'bench-secret-not-for-production-0123456789abcdef';

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('Run with node --expose-gc');

/**
 * heapUsed plus ArrayBuffer memory after full collections (a few, so that weak references and
 * finalizers settle too). The buffers count too: MemoryStore's table keeps part of itself in
 * typed arrays, whose bytes live outside the V8 heap.
 */
async function heapUsed(): Promise<number> {
  for (let i = 0; i < 3; i++) {
    gc!();
    await new Promise((resolve) => setImmediate(resolve));
  }
  const { heapUsed: heap, arrayBuffers } = process.memoryUsage();
  return heap + arrayBuffers;
}

/** A flat (not concatenated, not sliced) 54-character string, the same for both stores. */
function idOf(i: number): string {
  return createHash('sha512').update(String(i)).digest().subarray(0, 40).toString('base64url');
}

async function storeLibrary(count: number): Promise<Record<string, number>> {
  const before = await heapUsed();
  const store = new MemoryStore({ maxEntries: Math.max(count, 100_000), sweepIntervalSeconds: 0 });
  for (let i = 0; i < count; i++) await store.set(idOf(i), { visits: 1, user: `user-${i}` }, 3600);
  const after = await heapUsed();
  const stored = await store.length();
  if (stored !== count) throw new Error(`MemoryStore holds ${stored} sessions, expected ${count}`);
  return { count, bytesPerSession: (after - before) / count };
}

interface PeerStore {
  sessions: Record<string, string>;
  set(id: string, session: object, callback: (error?: unknown) => void): void;
}

async function storePeer(count: number): Promise<Record<string, number>> {
  const { MemoryStore: PeerMemoryStore } = require('express-session') as { MemoryStore: new () => PeerStore };
  const before = await heapUsed();
  const store = new PeerMemoryStore();
  for (let i = 0; i < count; i++) {
    await new Promise<void>((resolve, reject) =>
      store.set(idOf(i), { visits: 1, user: `user-${i}` }, (error) => (error ? reject(error) : resolve())),
    );
  }
  const after = await heapUsed();
  const stored = Object.keys(store.sessions).length;
  if (stored !== count) throw new Error(`express-session's MemoryStore holds ${stored} sessions, expected ${count}`);
  return { count, bytesPerSession: (after - before) / count };
}

/** An id of this library's shape (`random.start.signature`) that no secret signed. */
function madeUpId(): string {
  return `${randomBytes(16).toString('base64url')}.${Math.floor(Date.now() / 1000).toString(36)}.${randomBytes(18).toString('base64url')}`;
}

async function flood(count: number): Promise<Record<string, number>> {
  const store = new MemoryStore({ sweepIntervalSeconds: 0 });
  const middleware = new SessionMiddleware({ secret: SECRET, sessionStorage: store });
  // The returning client's read-only route: reads the counter, writes nothing.
  const route = async (request: Request): Promise<Response> =>
    Response.json({ visits: (middleware.sessionOf(request)?.get('visits') as number | undefined) ?? 0 });
  const send = async (): Promise<void> => {
    const request = new Request('http://localhost/read', { headers: { cookie: `session_id=${madeUpId()}` } });
    const response = await middleware.dispatch(request, route);
    if (response.status !== 200) throw new Error(`status ${response.status}`);
    await response.arrayBuffer();
  };
  const warm = Math.min(2_000, count);
  for (let i = 0; i < warm; i++) await send();
  const before = await heapUsed();
  for (let i = 0; i < count; i++) await send();
  const after = await heapUsed();
  return { count, growthBytes: after - before, storedSessions: await store.length() };
}

const [mode, countText] = process.argv.slice(2);
const count = Number(countText ?? 100_000);
if (!Number.isInteger(count) || count < 1) throw new Error(`Bad count ${countText}`);
const measure = { 'store-library': storeLibrary, 'store-peer': storePeer, flood }[mode as string];
if (!measure) throw new Error(`Unknown mode ${mode}: store-library, store-peer or flood`);
process.stdout.write(`${JSON.stringify(await measure(count))}\n`);
