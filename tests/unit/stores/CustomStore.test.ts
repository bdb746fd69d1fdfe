/**
 * Proves the contract suite is reusable: a store written from scratch against the public
 * `SessionStore` API only (no MemoryStore code) runs the same suite.
 *
 * Unlike MemoryStore it keeps parsed objects (structured clones of their JSON form), keeps
 * tombstones in a separate map, and yields to the event loop between reading and writing, as a
 * networked store would; a per-id lock makes `patch`/`increment` atomic anyway.
 */
import { describe, expect, it } from '@jest/globals';
import { SessionError, SessionStore, type SessionChanges, type SessionData, type StoredSession } from '../../../src/index.js';
import { runStoreContract } from '../../contract/storeContract.js';

interface Row {
  data: SessionData;
  expiresAt: number;
}

/** A Map-based store implementing the contract with its own code. */
class ClonedMapStore extends SessionStore {
  readonly #rows = new Map<string, Row>();
  readonly #tombstones = new Map<string, number>();
  readonly #locks = new Map<string, Promise<unknown>>();

  async load(id: string): Promise<StoredSession | undefined> {
    this.checkId(id);
    await this.#io();
    if (this.#tombstone(id)) return { state: 'destroyed' };
    const row = this.#row(id);
    return row ? { state: 'active', data: structuredClone(row.data), expiresAt: row.expiresAt } : undefined;
  }

  async set(id: string, data: SessionData, ttlSeconds?: number): Promise<void> {
    this.checkId(id);
    const record = ClonedMapStore.#record(data);
    const ttl = this.ttlOrDefault(ttlSeconds);
    await this.#locked(id, async () => {
      this.#tombstones.delete(id);
      this.#rows.set(id, { data: record, expiresAt: Date.now() + ttl * 1000 });
    });
  }

  async destroy(id: string): Promise<void> {
    this.checkId(id);
    await this.#locked(id, async () => {
      if (this.#tombstone(id)) return;
      const row = this.#row(id);
      this.#rows.delete(id);
      this.#tombstones.set(id, row ? row.expiresAt : Date.now() + this.defaultTtlSeconds * 1000);
    });
  }

  async touch(id: string, ttlSeconds: number): Promise<void> {
    this.checkId(id);
    const ttl = this.ttlOrDefault(ttlSeconds);
    await this.#locked(id, async () => {
      const row = this.#row(id);
      if (row) row.expiresAt = Date.now() + ttl * 1000;
    });
  }

  async patch(id: string, changes: SessionChanges, ttlSeconds: number): Promise<void> {
    this.checkId(id);
    const ttl = this.ttlOrDefault(ttlSeconds);
    const cleaned: Array<[string, unknown]> = Object.entries(changes).map(([key, value]) => {
      ClonedMapStore.#key(key);
      return [key, value === undefined ? undefined : ClonedMapStore.#json(value)];
    });
    await this.#locked(id, async () => {
      if (this.#tombstone(id)) return;
      const data = structuredClone(this.#row(id)?.data ?? {});
      await this.#io(); // a read-modify-write with a gap: only the lock keeps it safe
      for (const [key, value] of cleaned) {
        if (value === undefined) delete data[key];
        else data[key] = value;
      }
      this.#rows.set(id, { data, expiresAt: Date.now() + ttl * 1000 });
    });
  }

  async increment(id: string, key: string, by: number, ttlSeconds: number): Promise<number> {
    this.checkId(id);
    ClonedMapStore.#key(key);
    const ttl = this.ttlOrDefault(ttlSeconds);
    return this.#locked(id, async () => {
      const data = structuredClone(this.#row(id)?.data ?? {});
      await this.#io();
      const current = Object.hasOwn(data, key) ? data[key] : 0;
      if (typeof current !== 'number') throw new SessionError('not-a-number', `"${key}" is not a number`);
      const next = current + by;
      if (this.#tombstone(id)) return next;
      data[key] = next;
      this.#rows.set(id, { data, expiresAt: Date.now() + ttl * 1000 });
      return next;
    });
  }

  async clear(): Promise<void> {
    this.#rows.clear();
    this.#tombstones.clear();
  }

  async length(): Promise<number> {
    let n = 0;
    for await (const _ of this.ids()) n++;
    return n;
  }

  async *ids(): AsyncIterable<string> {
    for (const id of [...this.#rows.keys()]) if (this.#row(id)) yield id;
  }

  /** Simulated I/O latency: lets other calls interleave. */
  #io(): Promise<void> {
    return new Promise((resolve) => setImmediate(resolve));
  }

  /** Runs `work` after every earlier call on `id` finished. */
  async #locked<T>(id: string, work: () => Promise<T>): Promise<T> {
    const previous = this.#locks.get(id) ?? Promise.resolve();
    const run = previous.then(work, work);
    const settled = run.catch(() => undefined);
    this.#locks.set(id, settled);
    try {
      return await run;
    } finally {
      if (this.#locks.get(id) === settled) this.#locks.delete(id);
    }
  }

  #row(id: string): Row | undefined {
    const row = this.#rows.get(id);
    if (row && row.expiresAt <= Date.now()) {
      this.#rows.delete(id);
      return undefined;
    }
    return row;
  }

  #tombstone(id: string): boolean {
    const until = this.#tombstones.get(id);
    if (until === undefined) return false;
    if (until > Date.now()) return true;
    this.#tombstones.delete(id);
    return false;
  }

  static #key(key: string): void {
    if (key === '' || key === '__proto__') throw new SessionError('invalid-key', 'reserved or empty key');
  }

  static #json(value: unknown): unknown {
    let text: string | undefined;
    try {
      text = JSON.stringify(value);
    } catch (cause) {
      throw new SessionError('invalid-value', 'not JSON-serializable', { cause });
    }
    return text === undefined ? null : structuredClone(JSON.parse(text));
  }

  static #record(data: unknown): SessionData {
    if (typeof data !== 'object' || data === null || Array.isArray(data)) {
      throw new SessionError('invalid-value', 'session data must be a plain object');
    }
    for (const key of Object.keys(data)) ClonedMapStore.#key(key);
    return ClonedMapStore.#json(data) as SessionData;
  }
}

runStoreContract('custom ClonedMapStore (a user-written SessionStore subclass)', async () => ({
  store: new ClonedMapStore(),
  cleanup: async () => undefined,
}));

describe('custom store', () => {
  it('inherits get() and defaultTtlSeconds from SessionStore', async () => {
    const store = new ClonedMapStore();
    expect(store).toBeInstanceOf(SessionStore);
    expect(store.defaultTtlSeconds).toBe(3600);
    await store.patch('a', { x: 1 }, 10);
    await expect(store.get('a')).resolves.toEqual({ x: 1 });
  });
});
