/**
 * Whether a Redis answers, with no test framework imported: the tests (tests/support/redisServers.ts)
 * and the bench (bench/configs.ts) share it.
 */
import net from 'node:net';

/** The Redis the tests use: `REDIS_URL`, or the machine's default. */
export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

/**
 * Resolves `undefined` when a Redis at `url` answers `PING` within a second (`+PONG`, or `-NOAUTH`
 * for a server that wants the password the URL carries), else why not. Plain TCP, so a failed
 * probe leaves no client retrying or timer running.
 */
export function probeRedis(url: string = REDIS_URL): Promise<string | undefined> {
  let host: string;
  let port: number;
  try {
    const parsed = new URL(url);
    host = parsed.hostname.replace(/^\[|\]$/g, '') || '127.0.0.1';
    port = Number(parsed.port || 6379);
  } catch {
    return Promise.resolve(`REDIS_URL ${url} is not a URL`);
  }
  return new Promise((resolve) => {
    const socket = net.connect(port, host);
    let answer = '';
    const done = (reason: string | undefined): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(reason);
    };
    const timer = setTimeout(() => done(`Redis at ${url} did not answer PING within 1 s`), 1000);
    socket.on('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk: Buffer) => {
      answer += chunk.toString('latin1');
      if (!answer.includes('\r\n')) return;
      done(/^(\+PONG|-NOAUTH)/.test(answer) ? undefined : `Redis at ${url} answered ${JSON.stringify(answer.trim())} to PING`);
    });
    socket.on('error', (error) => done(`Redis at ${url} is unreachable (${error.message})`));
  });
}
