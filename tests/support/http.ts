/**
 * Test helpers for real HTTP servers on real sockets: start/stop, a cookie-keeping fetch wrapper,
 * and raw requests over `node:net` / `node:http` for what `fetch` refuses to send.
 */
import http, { type IncomingHttpHeaders, type Server } from 'node:http';
import net, { type AddressInfo } from 'node:net';

/** A listening server and how to reach and stop it. */
export interface Running {
  readonly server: Server;
  readonly port: number;
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  /** Closes the server, cutting keep-alive connections so jest exits cleanly. */
  close(): Promise<void>;
}

/** A plain `node:http` request listener. */
export type Listener = (req: http.IncomingMessage, res: http.ServerResponse) => void;

async function runningOf(server: Server): Promise<Running> {
  if (!server.listening) await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  const { port } = server.address() as AddressInfo;
  return {
    server,
    port,
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** Starts an Express app with `app.listen(0, '127.0.0.1')`. */
export async function listenApp(app: { listen(port: number, host: string): Server }): Promise<Running> {
  return runningOf(app.listen(0, '127.0.0.1'));
}

/** Starts a plain `node:http` server around `listener`. */
export async function listenHandler(listener: Listener): Promise<Running> {
  const server = http.createServer(listener);
  server.listen(0, '127.0.0.1');
  return runningOf(server);
}

/** The `Set-Cookie` lines of a response. */
export function setCookies(response: Response): string[] {
  return response.headers.getSetCookie();
}

/** The `Set-Cookie` line for cookie `name`, if any. */
export function cookieLine(response: Response, name: string): string | undefined {
  return setCookies(response).find((line) => line.startsWith(`${name}=`));
}

/** The value of cookie `name` set by the response (`''` for a clearing cookie). */
export function cookieValue(response: Response, name: string): string | undefined {
  const line = cookieLine(response, name);
  if (line === undefined) return undefined;
  return line.slice(name.length + 1).split(';')[0];
}

/** A `fetch` wrapper that keeps cookies between requests, like a browser (no domain/path rules). */
export class CookieClient {
  readonly cookies = new Map<string, string>();

  constructor(readonly baseUrl: string) {}

  async fetch(path: string, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    if (this.cookies.size > 0 && !headers.has('cookie')) {
      headers.set('cookie', [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; '));
    }
    const response = await fetch(this.baseUrl + path, { ...init, headers, redirect: init.redirect ?? 'manual' });
    for (const line of setCookies(response)) {
      const [pair, ...attributes] = line.split(';');
      const eq = pair!.indexOf('=');
      const name = pair!.slice(0, eq).trim();
      const value = pair!.slice(eq + 1).trim();
      const cleared = attributes.some((a) => /^\s*max-age=0\s*$/i.test(a));
      if (cleared || value === '') this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
    return response;
  }
}

/** A raw HTTP exchange over `node:net`: the whole response text (the request should say `Connection: close`). */
export function rawRequest(port: number, requestText: string, timeoutMs = 3000): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`raw request timed out; got so far: ${Buffer.concat(chunks).toString('latin1')}`));
    }, timeoutMs);
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', (error) => {
      clearTimeout(timer);
      // A reset after a full answer still counts as the answer.
      if (chunks.length > 0) resolve(Buffer.concat(chunks).toString('latin1'));
      else reject(error);
    });
    socket.on('end', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks).toString('latin1'));
    });
    socket.write(requestText, 'latin1');
  });
}

/** Splits a raw response into status, header lines (lower-cased names) and body. */
export function parseRaw(text: string): { status: number; headers: Array<[string, string]>; body: string } {
  const split = text.indexOf('\r\n\r\n');
  const head = split === -1 ? text : text.slice(0, split);
  const body = split === -1 ? '' : text.slice(split + 4);
  const [statusLine, ...lines] = head.split('\r\n');
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine ?? '')?.[1] ?? NaN);
  const headers = lines.map((line): [string, string] => {
    const colon = line.indexOf(':');
    return [line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim()];
  });
  return { status, headers, body };
}

/** A request through `node:http` (which, unlike fetch, sends repeated headers from an array value). */
export function nodeRequest(
  url: string,
  headers: http.OutgoingHttpHeaders,
): Promise<{ status: number; headers: IncomingHttpHeaders; rawHeaders: string[]; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: 'GET', headers: { connection: 'close', ...headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, rawHeaders: res.rawHeaders, body: Buffer.concat(chunks).toString('utf8') }),
      );
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

/** Runs `tasks` with at most `size` in flight at once, in order of batches. */
export async function inBatches<T>(count: number, size: number, task: (index: number) => Promise<T>): Promise<T[]> {
  const results: T[] = [];
  for (let start = 0; start < count; start += size) {
    const batch = await Promise.all(Array.from({ length: Math.min(size, count - start) }, (_, i) => task(start + i)));
    results.push(...batch);
  }
  return results;
}

/** The shape of ids this library issues. */
export const ISSUED_ID = /^[A-Za-z0-9_-]{22}\.[0-9a-z]{1,10}\.[A-Za-z0-9_-]{24}$/;

/** Flips one character of `id` at `index` to another character of the base64url alphabet. */
export function flipChar(id: string, index: number): string {
  const c = id[index]!;
  const replacement = c === 'A' ? 'B' : 'A';
  return id.slice(0, index) + replacement + id.slice(index + 1);
}

/** Resolves after `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
