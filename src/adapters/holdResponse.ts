import { OutgoingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { privateCacheControl } from '../core/cacheControl.js';
import { CLEAR_COOKIES } from '../engine/lifecycle.js';
import type { SessionResponseHeaders } from '../engine/SessionEngine.js';
import type { ConnectNext } from './node.js';

/** What the hold needs from the session layer. */
export interface HoldHooks {
  /** Writes the session; the response waits for it. */
  commit(): Promise<void>;
  /**
   * Stores the session now if that can be done without waiting (nothing to write, or a store
   * that works synchronously); true then, and the response need not be held.
   */
  settle(): boolean;
  /** After a response that was not held: the last commit, closing the session (a change made right after `end()` still lands). */
  finishLater(): void;
  /** The id header and cookie for the session as it stands; asked once, as the headers go out. */
  sessionHeaders(): SessionResponseHeaders;
  /** The id header's name, or `false`. */
  readonly headerName: string | false;
  /** Keep responses that carry the id out of shared caches (the `cacheControl` option). */
  readonly cacheControl: boolean;
}

type Method = (...args: unknown[]) => unknown;

// Node's own getters: the hold answers `true` while it holds and defers to them otherwise. The
// properties it defines on `res` stay (a `delete` would turn `res` into a slow dictionary object).
const headersSentOf = Object.getOwnPropertyDescriptor(OutgoingMessage.prototype, 'headersSent')!.get!;
const writableEndedOf = Object.getOwnPropertyDescriptor(OutgoingMessage.prototype, 'writableEnded')!.get!;

/** Per socket (kept alive across requests): whether a response on it is held, and a destroy it asked for meanwhile. */
interface SocketHold {
  holding: boolean;
  destroyLater: (() => void) | undefined;
}
const socketHolds = new WeakMap<Socket, SocketHold>();

/**
 * The hold state of `socket`, whose `destroy` is wrapped once for its whole life (not per
 * request): while a response on it is held, a plain `destroy()` (Express's final handler does
 * that for an error thrown after the response) waits until the held response is out.
 */
function holdOf(socket: Socket): SocketHold {
  let hold = socketHolds.get(socket);
  if (hold) return hold;
  const state: SocketHold = { holding: false, destroyLater: undefined };
  const destroy = socket.destroy;
  socket.destroy = function (this: Socket, error?: Error) {
    // Only a destroy asked for while the client is still there (not Node reacting to its leaving).
    if (state.holding && error === undefined && !socket.readableEnded) {
      state.destroyLater = () => destroy.call(socket);
      return this;
    }
    return destroy.call(this, error);
  };
  socketHolds.set(socket, state);
  hold = state;
  return hold;
}
interface Sent {
  statusCode: number;
  statusMessage: string;
}

/**
 * The one place that delays a Node response until the session is stored (B5):
 * - `writeHead` (explicit or implicit) gains the id header and cookie, keeping the app's cookies,
 *   and, with `cacheControl`, a `Cache-Control` no shared cache may store (see `privateCacheControl`);
 * - the first `end` is held until `commit` settles. Meanwhile the response counts as sent
 *   (`headersSent`, `writableEnded`), later `end`, `write`, `writeHead` and header changes are ignored
 *   and a status change undone, so the client gets exactly what the handler sent first;
 *   a socket `destroy()` asked for meanwhile (Express's final handler does that for an error
 *   thrown after the response) waits until the held response is out;
 * - a body written with `write` under a `Content-Length` keeps its last byte for the held `end`
 *   (`res.sendFile` streams that way), so no client has the whole body before the write;
 * - a failed commit goes to `next` while nothing was sent, else the connection is cut, so the
 *   client never takes a partial answer for success.
 */
export function holdResponseUntilCommitted(res: ServerResponse, hooks: HoldHooks, next: ConnectNext): void {
  const writeHead = res.writeHead as unknown as Method;
  const write = res.write as unknown as Method;
  const end = res.end as unknown as Method;
  let headersAdded = false;
  let held = false;
  let holding = false;
  let bodyBytes = 0;
  let lastByte: Buffer | undefined;

  const addHeaders = (writeHeadArgs?: unknown[]): void => {
    if (headersAdded || res.headersSent) return;
    headersAdded = true;
    const { sessionId, setCookie, clearSiteData } = hooks.sessionHeaders();
    if (clearSiteData) res.setHeader('clear-site-data', CLEAR_COOKIES);
    if (hooks.headerName !== false && sessionId !== undefined) res.setHeader(hooks.headerName, sessionId);
    if (setCookie !== undefined && !appendToWriteHeadCookies(writeHeadArgs, setCookie)) appendSetCookie(res, setCookie);
    // A shared cache storing this response would hand the id to the next visitor.
    if (hooks.cacheControl && (sessionId !== undefined || setCookie !== undefined) && !privatizeWriteHeadCacheControl(writeHeadArgs)) {
      const value = privateCacheControl(res.getHeader('cache-control'));
      if (value !== undefined) res.setHeader('cache-control', value);
    }
  };
  const release = (): void => {
    holding = false;
    // Only put back what is still ours: a wrapper installed after ours (on-headers) stays.
    if (res.writeHead === ourWriteHead) res.writeHead = writeHead as unknown as ServerResponse['writeHead'];
    if (res.write === ourWrite) res.write = write as unknown as ServerResponse['write'];
    if (res.end === ourEnd) res.end = end as unknown as ServerResponse['end'];
  };
  const releaseSocket = (socket: SocketHold | undefined): (() => void) | undefined => {
    if (!socket) return undefined;
    socket.holding = false;
    const later = socket.destroyLater;
    socket.destroyLater = undefined;
    return later;
  };
  const fail = (error: unknown): void => {
    release();
    try {
      if (!res.headersSent) next(error);
      else res.destroy(error instanceof Error ? error : undefined);
    } catch {
      res.destroy();
    }
  };
  const finish = async (args: unknown[], sent: Sent | undefined, socket: SocketHold | undefined): Promise<void> => {
    try {
      await hooks.commit();
    } catch (error) {
      releaseSocket(socket);
      fail(error);
      return;
    }
    try {
      release();
      const destroyLater = releaseSocket(socket);
      if (sent) restore(res, sent);
      addHeaders();
      if (destroyLater) res.once('finish', destroyLater);
      if (lastByte) write.call(res, lastByte);
      end.apply(res, args);
    } catch (error) {
      fail(error);
    }
  };

  const ourWriteHead = function (this: ServerResponse, ...args: unknown[]) {
    if (holding) return this;
    addHeaders(args);
    return writeHead.apply(this, args);
  } as ServerResponse['writeHead'];
  const ourWrite = function (this: ServerResponse, chunk: unknown, ...rest: unknown[]) {
    if (holding) return false;
    const length = lastByte === undefined ? Number(res.getHeader('content-length')) : NaN;
    if (length > 0 && (typeof chunk === 'string' || chunk instanceof Uint8Array)) {
      const encoding = (typeof rest[0] === 'string' ? rest[0] : 'utf8') as BufferEncoding;
      const size = typeof chunk === 'string' ? Buffer.byteLength(chunk, encoding) : chunk.byteLength;
      bodyBytes += size;
      if (size > 0 && bodyBytes >= length) {
        const bytes = typeof chunk === 'string' ? Buffer.from(chunk, encoding) : Buffer.from(chunk.buffer, chunk.byteOffset, size);
        lastByte = bytes.subarray(size - 1);
        const callback = rest.find((arg) => typeof arg === 'function');
        return write.call(this, bytes.subarray(0, size - 1), callback);
      }
    }
    return write.call(this, chunk, ...rest);
  } as ServerResponse['write'];
  const ourEnd = function (this: ServerResponse, ...args: unknown[]) {
    if (held) return this;
    held = true;
    if (hooks.settle()) {
      // Stored already (or nothing to store): no reason to make the client wait. A change made
      // right after end() in the same tick is still stored (after the response), by the commit
      // that closes the session.
      release();
      addHeaders();
      queueMicrotask(() => hooks.finishLater());
      if (lastByte) write.call(res, lastByte);
      return end.apply(this, args) as ServerResponse;
    }
    holding = true;
    const sent = res.headersSent ? undefined : { statusCode: res.statusCode, statusMessage: res.statusMessage };
    if (!heldBefore(res)) {
      Object.defineProperty(res, 'headersSent', { configurable: true, get: () => holding || headersSentOf.call(res) });
      Object.defineProperty(res, 'writableEnded', { configurable: true, get: () => holding || writableEndedOf.call(res) });
      // Header changes while held are ignored (the client gets what the handler ended with);
      // cheaper than copying every header to put them back.
      const { setHeader, removeHeader, appendHeader } = res;
      res.setHeader = function (this: ServerResponse, ...args: Parameters<ServerResponse['setHeader']>) {
        return holding ? this : setHeader.apply(this, args);
      };
      res.removeHeader = function (this: ServerResponse, name: string) {
        if (!holding) removeHeader.call(this, name);
      };
      res.appendHeader = function (this: ServerResponse, ...args: Parameters<ServerResponse['appendHeader']>) {
        return holding ? this : appendHeader.apply(this, args);
      };
    }
    const socket = res.socket ? holdOf(res.socket) : undefined;
    if (socket) socket.holding = true;
    void finish(args, sent, socket);
    return this;
  } as ServerResponse['end'];

  res.writeHead = ourWriteHead;
  res.write = ourWrite;
  res.end = ourEnd;
}

/** True once `res` has the hold's own `headersSent` (a second mount's hold must not stack another). */
function heldBefore(res: ServerResponse): boolean {
  return Object.hasOwn(res, 'headersSent');
}

/** Puts back the status the handler ended with, undoing later changes (header changes were ignored). */
function restore(res: ServerResponse, sent: Sent): void {
  res.statusCode = sent.statusCode;
  res.statusMessage = sent.statusMessage;
}

/**
 * `writeHead(status, [message,] headers)` replaces a `Set-Cookie` set earlier with `setHeader`,
 * so when the application passes its own there, ours joins that list, in a copy (the app may
 * reuse its headers object for every response).
 */
function appendToWriteHeadCookies(args: unknown[] | undefined, cookie: string): boolean {
  if (!args) return false;
  const index = headersIndex(args);
  const headers = args[index];
  if (Array.isArray(headers)) {
    // Flat [name, value, ...] form: Node sets each pair over the earlier ones, so every cookie
    // (the application's and ours) goes into one set-cookie entry.
    if (headers.length % 2 !== 0) return false;
    const cookies: unknown[] = [];
    const rest: unknown[] = [];
    for (let i = 0; i < headers.length; i += 2) {
      if (String(headers[i]).toLowerCase() === 'set-cookie') cookies.push(...[headers[i + 1]].flat());
      else rest.push(headers[i], headers[i + 1]);
    }
    if (cookies.length === 0) return false;
    args[index] = [...rest, 'set-cookie', [...cookies, cookie]];
    return true;
  }
  if (typeof headers !== 'object' || headers === null) return false;
  const record = headers as Record<string, unknown>;
  const key = Object.keys(record).find((name) => name.toLowerCase() === 'set-cookie');
  if (key === undefined) return false;
  const previous = record[key];
  args[index] = { ...record, [key]: [...(Array.isArray(previous) ? previous : [String(previous)]), cookie] };
  return true;
}

/** Where `writeHead(status, [message,] headers)` has its headers: the third argument unless the second is them. */
function headersIndex(args: unknown[]): number {
  return typeof args[1] === 'string' || (args[2] !== undefined && args[2] !== null) ? 2 : 1;
}

/**
 * `Cache-Control` passed to `writeHead` overrides one set with `setHeader`, so when the
 * application passes its own there, it is made private there, in a copy (as for cookies).
 * Several entries (`Cache-Control` and `cache-control` keys, or repeated pairs in the flat
 * form) become one with their joined value: Node versions differ on whether the last one wins
 * or all are sent, and the private value must not depend on that. Returns false when the
 * headers carry no `Cache-Control`, leaving the one set with `setHeader` to be judged.
 */
function privatizeWriteHeadCacheControl(args: unknown[] | undefined): boolean {
  if (!args) return false;
  const index = headersIndex(args);
  const headers = args[index];
  if (Array.isArray(headers)) {
    if (headers.length % 2 !== 0) return false;
    const values: string[] = [];
    const rest: unknown[] = [];
    for (let i = 0; i < headers.length; i += 2) {
      if (String(headers[i]).toLowerCase() === 'cache-control' && headers[i + 1] !== undefined) values.push(...[headers[i + 1]].flat().map(String));
      else rest.push(headers[i], headers[i + 1]);
    }
    if (values.length === 0) return false;
    const value = privateCacheControl(values);
    if (value !== undefined || values.length > 1) args[index] = [...rest, 'cache-control', value ?? values.join(', ')];
    return true;
  }
  if (typeof headers !== 'object' || headers === null) return false;
  const record = headers as Record<string, unknown>;
  const keys = Object.keys(record).filter((name) => name.toLowerCase() === 'cache-control' && record[name] !== undefined);
  if (keys.length === 0) return false;
  const values = keys.flatMap((key) => [record[key]].flat().map(String));
  const value = privateCacheControl(values);
  if (value !== undefined || keys.length > 1) {
    const copy = { ...record };
    for (const key of keys) delete copy[key];
    copy['cache-control'] = value ?? values.join(', ');
    args[index] = copy;
  }
  return true;
}

/** Adds a `Set-Cookie` line, keeping any the application set. */
function appendSetCookie(res: ServerResponse, cookie: string): void {
  const previous = res.getHeader('set-cookie');
  if (previous === undefined) res.setHeader('set-cookie', cookie);
  else res.setHeader('set-cookie', Array.isArray(previous) ? [...previous, cookie] : [String(previous), cookie]);
}
