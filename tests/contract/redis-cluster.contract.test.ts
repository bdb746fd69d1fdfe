/**
 * The store contract against RedisStore on a real 3-master Redis Cluster that this file starts
 * (`redis-server --cluster-enabled yes` on free loopback ports, killed by PID afterwards), with an
 * ioredis `Cluster` and a node-redis `createCluster` client, and the small failure battery (the
 * whole one runs against standalone Redis in redis.contract.test.ts).
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Cluster, Redis } from 'ioredis';
import { createCluster } from 'redis';
import { RedisStore } from '../../src/index.js';
import { describeWithServer, startCluster, uniquePrefix, type RunningCluster } from '../support/redisServers.js';
import { runFailureContract } from './failureContract.js';
import { runStoreContract } from './storeContract.js';
import { runUserIndexContract } from './userIndexContract.js';

let cluster: RunningCluster | undefined;
let unavailable: string | undefined;
try {
  cluster = await startCluster(3);
} catch (error) {
  unavailable = `could not start a Redis Cluster (${error instanceof Error ? error.message : String(error)})`;
}

afterAll(async () => {
  await cluster?.stop();
});

describeWithServer('RedisStore on a 3-master Redis Cluster', unavailable, () => {
  let ioredis: Cluster;
  let nodeRedis: ReturnType<typeof createCluster>;

  beforeAll(async () => {
    const nodes = cluster!.nodes;
    ioredis = new Cluster(nodes);
    await new Promise<void>((resolve, reject) => {
      ioredis.once('ready', () => resolve());
      ioredis.once('error', reject);
    });
    nodeRedis = createCluster({ rootNodes: nodes.map(({ host, port }) => ({ url: `redis://${host}:${port}` })) });
    await nodeRedis.connect();
  });

  afterAll(async () => {
    await ioredis?.quit();
    await nodeRedis?.close();
  });

  const withIoredis = async () => {
    const store = new RedisStore({ client: ioredis, prefix: uniquePrefix('contract-ioredis-cluster') });
    return { store, cleanup: () => store.clear() };
  };
  const withNodeRedis = async () => {
    const store = new RedisStore({ client: nodeRedis, prefix: uniquePrefix('contract-node-redis-cluster') });
    return { store, cleanup: () => store.clear() };
  };

  runStoreContract('RedisStore + ioredis Cluster', withIoredis, { strictJson: true });
  runFailureContract('RedisStore + ioredis Cluster', withIoredis, { small: true });
  runUserIndexContract('RedisStore + ioredis Cluster', withIoredis);
  runStoreContract('RedisStore + node-redis cluster', withNodeRedis, { strictJson: true });
  runFailureContract('RedisStore + node-redis cluster', withNodeRedis, { small: true });
  runUserIndexContract('RedisStore + node-redis cluster', withNodeRedis);

  describe.each(['ioredis Cluster', 'node-redis cluster'])('SCAN over every master, %s', (label) => {
    it('length(), ids() and clear() see the sessions of all three masters', async () => {
      const store = new RedisStore({ client: label === 'ioredis Cluster' ? ioredis : nodeRedis, prefix: uniquePrefix('cluster-scan'), scanCount: 7 });
      const ids = Array.from({ length: 60 }, (_, i) => `s${i}`);
      await Promise.all(ids.map((id) => store.set(id, { id }, 30)));
      await store.destroy('s0');
      // Where the keys live, asked of each master directly.
      const perMaster = await Promise.all(
        cluster!.ports.map(async (port) => {
          const node = new Redis(port, '127.0.0.1');
          try {
            return (await node.scan('0', 'MATCH', `${store.prefix}*`, 'COUNT', 1000))[1].length;
          } finally {
            node.disconnect();
          }
        }),
      );
      expect(perMaster.every((count) => count > 0)).toBe(true);
      await expect(store.length()).resolves.toBe(59);
      const seen: string[] = [];
      for await (const id of store.ids()) seen.push(id);
      expect(seen.sort()).toEqual(ids.slice(1).sort());
      await store.clear();
      await expect(store.length()).resolves.toBe(0);
      await expect(store.load('s0')).resolves.toBeUndefined();
    });
  });

  describe.each(['ioredis Cluster', 'node-redis cluster'])('routing, %s', (label) => {
    /** MOVED and ASK redirections the masters have answered so far (INFO errorstats). */
    async function redirections(): Promise<number> {
      let total = 0;
      for (const port of cluster!.ports) {
        const node = new Redis(port, '127.0.0.1');
        try {
          const info = await node.info('errorstats');
          for (const match of info.matchAll(/^errorstat_(?:MOVED|ASK):count=(\d+)/gm)) total += Number(match[1]);
        } finally {
          node.disconnect();
        }
      }
      return total;
    }

    it('sends every session operation straight to the node that owns the key (no MOVED redirections)', async () => {
      const store = new RedisStore({ client: label === 'ioredis Cluster' ? ioredis : nodeRedis, prefix: uniquePrefix('cluster-routing') });
      const ids = Array.from({ length: 40 }, (_, i) => `r${i}`);
      await Promise.all(ids.map((id) => store.patch(id, { id }, 30))); // scripts are loaded on every master
      const before = await redirections();
      for (const id of ids) {
        await store.load(id);
        await store.increment(id, 'n', 1, 30);
        await store.set(id, { again: true }, 30);
        await store.touch(id, 30);
        await store.destroy(id);
      }
      // User indexes too: each call is one script on the user's key, sent to its node.
      const entry = (handle: string) => ({ handle, sessionKey: handle, loggedInAt: Date.now(), lastSeenAt: Date.now(), expiresAt: Date.now() + 30_000, meta: null });
      for (const userId of ids.map((id) => `user-${id}`)) {
        await store.indexSession(userId, entry('h1'));
        await store.userIndex(userId);
        await store.userRevocation(userId);
        await store.unindexSession(userId, 'h1');
        await store.revokeUser(userId, Date.now());
      }
      expect((await redirections()) - before).toBe(0);
      await store.clear();
    });
  });
});
