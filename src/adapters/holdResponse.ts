import { OutgoingMessage, ServerResponse } from 'node:http';
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

// Node's own getters: the hold answers `true` while it holds and defers to them otherwise.
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

/** Where a response's hold rides (one property per request instead of three wrapper closures). */
const HOLD = Symbol('swarmauri-middleware-session/hold');
/** On a framework response prototype that carries the hold's methods: the prototype above it (Node's). */
const LAYERED = Symbol('swarmauri-middleware-session/hold-layer');
/** Marks one that also carries the hold's `headersSent`/`setHeader`/... (added at the first held response). */
const LAYERED_HELD = Symbol('swarmauri-middleware-session/hold-layer-held');

type HeldResponse = ServerResponse & { [HOLD]?: ResponseHold; [LAYERED]?: ServerResponse; [LAYERED_HELD]?: true };

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
 *
 * How it hooks in: under Express, the response's framework prototype (Express's `response`
 * object, shared by its apps) carries `writeHead`, `write` and `end` methods, installed once,
 * that defer to Node's unless the response has a hold. Per request that is one property on
 * `res`. Giving every response three wrapper closures of its own cost about 10 µs a request
 * (7% of an Express 5 request, two servers measured side by side on one core). A bare
 * `node:http` response (whose prototype is Node's own, which a library must not patch), one
 * whose framework prototype defines these methods itself, and a second hold on one response
 * (two middleware instances) get own wrappers, as before.
 */
export function holdResponseUntilCommitted(res: ServerResponse, hooks: HoldHooks, next: ConnectNext): void {
  const held = res as HeldResponse;
  if (held[HOLD] === undefined) {
    const layer = held[LAYERED] ?? addLayer(held);
    if (layer !== undefined) {
      held[HOLD] = new ResponseHold(held, hooks, next, layer.writeHead as Method, layer.write as Method, layer.end as Method, false);
      return;
    }
  }
  const hold = new ResponseHold(held, hooks, next, res.writeHead as unknown as Method, res.write as unknown as Method, res.end as unknown as Method, true);
  hold.wrapOwn();
}

/** What the layer defines on the framework prototype (some only from the first held response). */
const LAYER_NAMES = ['writeHead', 'write', 'end', 'headersSent', 'writableEnded', 'setHeader', 'removeHeader', 'appendHeader'];

/**
 * Installs the hold's methods on the response's framework prototype: the last one before Node's
 * `ServerResponse.prototype` (Express's `response`, which every app's `app.response` and a
 * sub-app's, that Express switches to inside it, inherit). Undefined for a bare Node response.
 */
function addLayer(res: HeldResponse): ServerResponse | undefined {
  let proto = Object.getPrototypeOf(res) as object | null;
  let top: object | undefined;
  while (proto !== null && proto !== ServerResponse.prototype) {
    top = proto;
    proto = Object.getPrototypeOf(proto) as object | null;
  }
  if (proto === null || top === undefined || Object.isFrozen(top)) return undefined;
  // A prototype with methods of its own there would lose them under ours: wrap per response.
  if (LAYER_NAMES.some((name) => Object.hasOwn(top, name))) return undefined;
  const parent = proto as ServerResponse & Record<string, Method>;
  const methods = {
    writeHead(this: HeldResponse, ...args: unknown[]): unknown {
      const hold = this[HOLD];
      return hold === undefined ? parent.writeHead.apply(this, args as never) : hold.writeHead(args);
    },
    write(this: HeldResponse, ...args: unknown[]): unknown {
      const hold = this[HOLD];
      return hold === undefined ? (parent.write as Method).apply(this, args) : hold.write(args);
    },
    end(this: HeldResponse, ...args: unknown[]): unknown {
      const hold = this[HOLD];
      return hold === undefined ? (parent.end as Method).apply(this, args) : hold.end(args);
    },
  };
  for (const [name, value] of Object.entries(methods)) {
    Object.defineProperty(top, name, { value, writable: true, configurable: true, enumerable: false });
  }
  Object.defineProperty(top, LAYERED, { value: parent });
  return parent;
}

/**
 * While a response is held it counts as sent and header changes are ignored: on a layered
 * prototype, getters and methods that ask the hold (installed at the first held response, so
 * that an app whose store never holds keeps Node's own); on a bare response, own properties.
 */
function freezeWhileHolding(res: HeldResponse, layered: boolean): void {
  let target: object = res;
  if (layered) {
    target = Object.getPrototypeOf(res) as object;
    while (!Object.hasOwn(target, LAYERED)) target = Object.getPrototypeOf(target) as object;
    if (Object.hasOwn(target, LAYERED_HELD)) return;
    Object.defineProperty(target, LAYERED_HELD, { value: true });
  } else if (Object.hasOwn(res, 'headersSent')) {
    return; // a second hold on this response: the first one's properties ask every hold
  }
  const parent = Object.getPrototypeOf(target) as ServerResponse;
  const holding = (response: HeldResponse): boolean => response[HOLD]?.holding === true || (!layered && ownHolding(response));
  Object.defineProperty(target, 'headersSent', {
    configurable: true,
    get(this: HeldResponse) {
      return holding(this) || (layered ? Reflect.get(parent, 'headersSent', this) : headersSentOf.call(this));
    },
  });
  Object.defineProperty(target, 'writableEnded', {
    configurable: true,
    get(this: HeldResponse) {
      return holding(this) || (layered ? Reflect.get(parent, 'writableEnded', this) : writableEndedOf.call(this));
    },
  });
  // Header changes while held are ignored (the client gets what the handler ended with);
  // cheaper than copying every header to put them back.
  const { setHeader, removeHeader, appendHeader } = layered ? parent : res;
  const changes = {
    setHeader(this: HeldResponse, name: string, value: number | string | readonly string[]) {
      return holding(this) ? this : setHeader.call(this, name, value);
    },
    removeHeader(this: HeldResponse, name: string) {
      if (!holding(this)) removeHeader.call(this, name);
    },
    appendHeader(this: HeldResponse, name: string, value: string | readonly string[]) {
      return holding(this) ? this : appendHeader.call(this, name, value);
    },
  };
  for (const [name, value] of Object.entries(changes)) {
    Object.defineProperty(target, name, { value, writable: true, configurable: true, enumerable: !layered });
  }
}

/** Own-wrapper holds of bare responses (several when two middleware instances hold one response). */
const ownHolds = new WeakMap<ServerResponse, ResponseHold[]>();
function ownHolding(res: ServerResponse): boolean {
  return ownHolds.get(res)?.some((hold) => hold.holding) === true;
}

/** One response's hold: see {@link holdResponseUntilCommitted}. */
class ResponseHold {
  holding = false;
  #headersAdded = false;
  #held = false;
  #bodyBytes = 0;
  #lastByte: Buffer | undefined;
  readonly #res: HeldResponse;
  readonly #hooks: HoldHooks;
  readonly #next: ConnectNext;
  readonly #writeHead: Method;
  readonly #write: Method;
  readonly #end: Method;
  /** Own wrappers on `res` (bare response, second hold) rather than the prototype's methods. */
  readonly #own: boolean;
  #ownWrappers: { writeHead: Method; write: Method; end: Method } | undefined;

  constructor(res: HeldResponse, hooks: HoldHooks, next: ConnectNext, writeHead: Method, write: Method, end: Method, own: boolean) {
    this.#res = res;
    this.#hooks = hooks;
    this.#next = next;
    this.#writeHead = writeHead;
    this.#write = write;
    this.#end = end;
    this.#own = own;
  }

  wrapOwn(): void {
    const res = this.#res;
    const wrappers = {
      writeHead: (...args: unknown[]) => this.writeHead(args),
      write: (...args: unknown[]) => this.write(args),
      end: (...args: unknown[]) => this.end(args),
    };
    this.#ownWrappers = wrappers;
    res.writeHead = wrappers.writeHead as unknown as ServerResponse['writeHead'];
    res.write = wrappers.write as unknown as ServerResponse['write'];
    res.end = wrappers.end as unknown as ServerResponse['end'];
    const holds = ownHolds.get(res);
    if (holds) holds.push(this);
    else ownHolds.set(res, [this]);
  }

  writeHead(args: unknown[]): unknown {
    const res = this.#res;
    if (this.holding) return res;
    this.#addHeaders(args);
    return this.#writeHead.apply(res, args);
  }

  write(args: unknown[]): unknown {
    const res = this.#res;
    if (this.holding) return false;
    const chunk = args[0];
    const length = this.#lastByte === undefined ? Number(res.getHeader('content-length')) : NaN;
    if (length > 0 && (typeof chunk === 'string' || chunk instanceof Uint8Array)) {
      const encoding = (typeof args[1] === 'string' ? args[1] : 'utf8') as BufferEncoding;
      const size = typeof chunk === 'string' ? Buffer.byteLength(chunk, encoding) : chunk.byteLength;
      this.#bodyBytes += size;
      if (size > 0 && this.#bodyBytes >= length) {
        const bytes = typeof chunk === 'string' ? Buffer.from(chunk, encoding) : Buffer.from(chunk.buffer, chunk.byteOffset, size);
        this.#lastByte = bytes.subarray(size - 1);
        const callback = args.find((arg) => typeof arg === 'function');
        return this.#write.call(res, bytes.subarray(0, size - 1), callback);
      }
    }
    return this.#write.apply(res, args);
  }

  end(args: unknown[]): unknown {
    const res = this.#res;
    if (this.#held) return res;
    this.#held = true;
    const hooks = this.#hooks;
    if (hooks.settle()) {
      // Stored already (or nothing to store): no reason to make the client wait. A change made
      // right after end() in the same tick is still stored (after the response), by the commit
      // that closes the session.
      this.#release();
      this.#addHeaders(undefined);
      queueMicrotask(() => hooks.finishLater());
      if (this.#lastByte) this.#write.call(res, this.#lastByte);
      return this.#end.apply(res, args);
    }
    this.holding = true;
    const sent = res.headersSent ? undefined : { statusCode: res.statusCode, statusMessage: res.statusMessage };
    freezeWhileHolding(res, !this.#own);
    const socket = res.socket ? holdOf(res.socket) : undefined;
    if (socket) socket.holding = true;
    void this.#finish(args, sent, socket);
    return res;
  }

  #addHeaders(writeHeadArgs: unknown[] | undefined): void {
    const res = this.#res;
    if (this.#headersAdded || res.headersSent) return;
    this.#headersAdded = true;
    const hooks = this.#hooks;
    const { sessionId, setCookie, clearSiteData } = hooks.sessionHeaders();
    if (clearSiteData) res.setHeader('clear-site-data', CLEAR_COOKIES);
    if (hooks.headerName !== false && sessionId !== undefined) res.setHeader(hooks.headerName, sessionId);
    if (setCookie !== undefined && !appendToWriteHeadCookies(writeHeadArgs, setCookie)) appendSetCookie(res, setCookie);
    // A shared cache storing this response would hand the id to the next visitor.
    if (hooks.cacheControl && (sessionId !== undefined || setCookie !== undefined) && !privatizeWriteHeadCacheControl(writeHeadArgs)) {
      const value = privateCacheControl(res.getHeader('cache-control'));
      if (value !== undefined) res.setHeader('cache-control', value);
    }
  }

  #release(): void {
    this.holding = false;
    const res = this.#res;
    const own = this.#ownWrappers;
    if (own === undefined) {
      // Node's methods from now on (the property stays: a `delete` would make `res` a slow dictionary object).
      if (res[HOLD] === this) res[HOLD] = undefined;
      return;
    }
    // Only put back what is still ours: a wrapper installed after ours (on-headers) stays.
    if ((res.writeHead as unknown) === own.writeHead) res.writeHead = this.#writeHead as unknown as ServerResponse['writeHead'];
    if ((res.write as unknown) === own.write) res.write = this.#write as unknown as ServerResponse['write'];
    if ((res.end as unknown) === own.end) res.end = this.#end as unknown as ServerResponse['end'];
  }

  #fail(error: unknown): void {
    this.#release();
    const res = this.#res;
    try {
      if (!res.headersSent) this.#next(error);
      else res.destroy(error instanceof Error ? error : undefined);
    } catch {
      res.destroy();
    }
  }

  async #finish(args: unknown[], sent: Sent | undefined, socket: SocketHold | undefined): Promise<void> {
    try {
      await this.#hooks.commit();
    } catch (error) {
      releaseSocket(socket);
      this.#fail(error);
      return;
    }
    const res = this.#res;
    try {
      this.#release();
      const destroyLater = releaseSocket(socket);
      if (sent) restore(res, sent);
      this.#addHeaders(undefined);
      if (destroyLater) res.once('finish', destroyLater);
      if (this.#lastByte) this.#write.call(res, this.#lastByte);
      this.#end.apply(res, args);
    } catch (error) {
      this.#fail(error);
    }
  }
}

function releaseSocket(socket: SocketHold | undefined): (() => void) | undefined {
  if (!socket) return undefined;
  socket.holding = false;
  const later = socket.destroyLater;
  socket.destroyLater = undefined;
  return later;
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
