/**
 * The seam between {@link RedisStore} and the two Redis client libraries it accepts (ioredis 5
 * and node-redis 5), standalone or cluster. Only the shapes of the clients are described here
 * (`import type` would do too, but these structural interfaces keep the published declarations
 * free of both libraries): nothing in this package imports `ioredis` or `redis` at runtime, so an
 * application that installed neither can still import the package.
 */
import { SessionError } from '../../core/SessionError.js';

/** What an ioredis `Redis` (a connection to one server or to one node of a cluster) offers the store. */
export interface IoRedisLike {
  /** `false` for a `Redis`, `true` for a `Cluster` (ioredis sets it on both). */
  readonly isCluster: boolean;
  /** ioredis's `call`: sends any command with its arguments and resolves the raw reply. */
  call(command: string, ...args: Array<string | number>): Promise<unknown>;
}

/** What an ioredis `Cluster` offers the store: commands routed by key, and its master nodes for `SCAN`. */
export interface IoRedisClusterLike extends IoRedisLike {
  /** The connections to the cluster's master nodes. */
  nodes(role: 'master'): IoRedisLike[];
}

/** What a node-redis 5 client (`createClient()`, connected) offers the store. */
export interface NodeRedisClientLike {
  /** Sends any command as an array of arguments and resolves the raw reply. */
  sendCommand(args: ReadonlyArray<string>): Promise<unknown>;
}

/** What a node-redis 5 cluster (`createCluster()`, connected) offers the store. */
export interface NodeRedisClusterLike {
  /** The cluster's master nodes (node-redis's `cluster.masters`). */
  readonly masters: readonly object[];
  /** The client connected to one of {@link NodeRedisClusterLike.masters}. */
  nodeClient(node: object): Promise<NodeRedisClientLike>;
  /** Sends any command to the node that owns `firstKey`, resolving the raw reply. */
  sendCommand(firstKey: string | undefined, isReadonly: boolean | undefined, args: string[]): Promise<unknown>;
}

/**
 * A Redis client {@link RedisStore} accepts, connected by the application: an ioredis `Redis` or
 * `Cluster`, or a node-redis 5 client (`createClient`) or cluster (`createCluster`). The store
 * tells them apart by their shape.
 */
export type RedisStoreClient = IoRedisLike | IoRedisClusterLike | NodeRedisClientLike | NodeRedisClusterLike;

/** Runs one command on one server (a standalone server, or one master of a cluster). */
export type NodeCommand = (args: string[]) => Promise<unknown>;

/**
 * The few operations the store needs, one implementation per client library.
 * @internal
 */
export interface RedisSeam {
  /** Which client this is, for messages. */
  readonly label: string;
  /** `EVALSHA sha 1 key ...args`, routed to the node that owns `key`. */
  evalsha(sha: string, key: string, args: readonly string[]): Promise<unknown>;
  /** `EVAL script 1 key ...args`, routed to the node that owns `key`. */
  eval(script: string, key: string, args: readonly string[]): Promise<unknown>;
  /** A command runner per master (one for a standalone server): `SCAN` runs on each. */
  masters(): Promise<NodeCommand[]>;
  /** Removes `keys` (`UNLINK`); in a cluster, key by key, each on its own node. */
  unlink(keys: readonly string[]): Promise<void>;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return (typeof value === 'object' || typeof value === 'function') && value !== null;
}

/** Arguments of an `EVAL`/`EVALSHA` with one key. */
function evalArgs(command: 'EVAL' | 'EVALSHA', scriptOrSha: string, key: string, args: readonly string[]): string[] {
  return [command, scriptOrSha, '1', key, ...args];
}

/** The seam over an ioredis `Redis` or `Cluster`. */
class IoRedisSeam implements RedisSeam {
  readonly label: string;
  readonly #client: IoRedisLike;
  readonly #cluster: IoRedisClusterLike | undefined;

  constructor(client: IoRedisLike) {
    this.#client = client;
    this.#cluster = client.isCluster ? (client as IoRedisClusterLike) : undefined;
    this.label = this.#cluster ? 'ioredis Cluster' : 'ioredis';
  }

  evalsha(sha: string, key: string, args: readonly string[]): Promise<unknown> {
    return this.#client.call('EVALSHA', sha, 1, key, ...args);
  }

  eval(script: string, key: string, args: readonly string[]): Promise<unknown> {
    return this.#client.call('EVAL', script, 1, key, ...args);
  }

  async masters(): Promise<NodeCommand[]> {
    const nodes = this.#cluster ? this.#cluster.nodes('master') : [this.#client];
    return nodes.map((node) => (args: string[]) => node.call(args[0] as string, ...args.slice(1)));
  }

  async unlink(keys: readonly string[]): Promise<void> {
    if (keys.length === 0) return;
    if (this.#cluster) {
      const cluster = this.#cluster;
      await Promise.all(keys.map((key) => cluster.call('UNLINK', key)));
    } else {
      await this.#client.call('UNLINK', ...keys);
    }
  }
}

/** The seam over a node-redis client or cluster. */
class NodeRedisSeam implements RedisSeam {
  readonly label: string;
  readonly #client: NodeRedisClientLike | undefined;
  readonly #cluster: NodeRedisClusterLike | undefined;

  constructor(client: NodeRedisClientLike | NodeRedisClusterLike, cluster: boolean) {
    if (cluster) this.#cluster = client as NodeRedisClusterLike;
    else this.#client = client as NodeRedisClientLike;
    this.label = cluster ? 'node-redis cluster' : 'node-redis';
  }

  #send(key: string, args: string[]): Promise<unknown> {
    return this.#cluster ? this.#cluster.sendCommand(key, false, args) : this.#client!.sendCommand(args);
  }

  evalsha(sha: string, key: string, args: readonly string[]): Promise<unknown> {
    return this.#send(key, evalArgs('EVALSHA', sha, key, args));
  }

  eval(script: string, key: string, args: readonly string[]): Promise<unknown> {
    return this.#send(key, evalArgs('EVAL', script, key, args));
  }

  async masters(): Promise<NodeCommand[]> {
    const cluster = this.#cluster;
    if (!cluster) {
      const client = this.#client!;
      return [(args) => client.sendCommand(args)];
    }
    const clients = await Promise.all(cluster.masters.map((master) => cluster.nodeClient(master)));
    return clients.map((client) => (args: string[]) => client.sendCommand(args));
  }

  async unlink(keys: readonly string[]): Promise<void> {
    if (keys.length === 0) return;
    const cluster = this.#cluster;
    if (cluster) await Promise.all(keys.map((key) => cluster.sendCommand(key, false, ['UNLINK', key])));
    else await this.#client!.sendCommand(['UNLINK', ...keys]);
  }
}

const EXPECTED = 'a connected ioredis Redis or Cluster, or a node-redis 5 client or cluster';

/**
 * Picks the seam for `client` by its shape: ioredis clients have a boolean `isCluster` and
 * `call`; a node-redis cluster has `masters`, `nodeClient` and `sendCommand`; a node-redis client
 * has `sendCommand`. Refuses anything else, and an ioredis client with a `keyPrefix` (which ioredis
 * would add to the keys of commands but not to what `SCAN` matches: use the store's `prefix`).
 * @internal
 */
export function seamOf(client: unknown): RedisSeam {
  if (!isObject(client)) throw SessionError.invalidOption('client', EXPECTED, client);
  if (typeof client.isCluster === 'boolean' && typeof client.call === 'function') {
    const options = client.options;
    if (isObject(options) && typeof options.keyPrefix === 'string' && options.keyPrefix !== '') {
      throw SessionError.invalidOption('client', 'an ioredis client without keyPrefix (use the RedisStore prefix option)', options.keyPrefix);
    }
    if (client.isCluster && typeof client.nodes !== 'function') throw SessionError.invalidOption('client', EXPECTED, client);
    return new IoRedisSeam(client as unknown as IoRedisLike);
  }
  if (typeof client.sendCommand === 'function') {
    const cluster = typeof client.nodeClient === 'function' && 'masters' in client;
    return new NodeRedisSeam(client as unknown as NodeRedisClientLike | NodeRedisClusterLike, cluster);
  }
  throw SessionError.invalidOption('client', EXPECTED, client);
}
