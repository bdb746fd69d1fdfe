/**
 * The store contract and the failure battery against RedisStore on the machine's Redis
 * (`REDIS_URL` overrides), once with an ioredis client and once with a node-redis client. Every test gets its own key prefix, cleared
 * afterwards. The cluster runs are in redis-cluster.contract.test.ts.
 */
import { afterAll, beforeAll } from '@jest/globals';
import { Redis } from 'ioredis';
import { createClient } from 'redis';
import { RedisStore } from '../../src/index.js';
import { REDIS_URL, describeWithServer, probeRedis, uniquePrefix } from '../support/redisServers.js';
import { runFailureContract } from './failureContract.js';
import { runStoreContract } from './storeContract.js';
import { runUserIndexContract } from './userIndexContract.js';

const unavailable = await probeRedis();

describeWithServer('RedisStore on a standalone Redis', unavailable, () => {
  let ioredis: Redis;
  let nodeRedis: ReturnType<typeof createClient>;

  beforeAll(async () => {
    ioredis = new Redis(REDIS_URL);
    nodeRedis = createClient({ url: REDIS_URL });
    await nodeRedis.connect();
  });

  afterAll(async () => {
    await ioredis.quit();
    await nodeRedis.close();
  });

  const withIoredis = async () => {
    const store = new RedisStore({ client: ioredis, prefix: uniquePrefix('contract-ioredis') });
    return { store, cleanup: () => store.clear() };
  };
  const withNodeRedis = async () => {
    const store = new RedisStore({ client: nodeRedis, prefix: uniquePrefix('contract-node-redis') });
    return { store, cleanup: () => store.clear() };
  };

  runStoreContract('RedisStore + ioredis', withIoredis, { strictJson: true });
  runFailureContract('RedisStore + ioredis', withIoredis);
  runUserIndexContract('RedisStore + ioredis', withIoredis);
  runStoreContract('RedisStore + node-redis', withNodeRedis, { strictJson: true });
  runFailureContract('RedisStore + node-redis', withNodeRedis);
  runUserIndexContract('RedisStore + node-redis', withNodeRedis);
});
