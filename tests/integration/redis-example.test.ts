/**
 * Runs examples/redis.ts with `npx tsx` against the machine's Redis (`REDIS_URL` overrides) and
 * checks what it prints and what it left in Redis.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { expect, it } from '@jest/globals';
import { Redis } from 'ioredis';
import { REDIS_URL, describeWithServer, probeRedis } from '../support/redisServers.js';
import { hashedKeyOf } from '../../src/core/storageKey.js';

const run = promisify(execFile);
const unavailable = await probeRedis();

describeWithServer('examples/redis.ts', unavailable, () => {
  it('swaps in a RedisStore through the container and counts visits 1 then 2 on one session', async () => {
    const { stdout } = await run('npx', ['tsx', 'examples/redis.ts'], { timeout: 30_000, env: { ...process.env, REDIS_URL } });
    const lines = stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { store: string; session_id: string; visits: number });
    expect(lines.map(({ store, visits }) => ({ store, visits }))).toEqual([
      { store: 'redis', visits: 1 },
      { store: 'redis', visits: 2 },
    ]);
    const id = lines[0]!.session_id;
    expect(lines[1]!.session_id).toBe(id);

    const redis = new Redis(REDIS_URL);
    try {
      // Ids are hashed at rest: the key names the hash of the id, never the id.
      const key = `example:session:${hashedKeyOf(id)}`;
      expect(await redis.exists(`example:session:${id}`)).toBe(0);
      expect(await redis.type(key)).toBe('hash');
      expect(await redis.hget(key, 'visits')).toBe('2');
      const pttl = await redis.pttl(key);
      expect(pttl).toBeGreaterThan(590_000);
      expect(pttl).toBeLessThanOrEqual(600_000);
      await redis.del(key);
    } finally {
      await redis.quit();
    }
  });
});
