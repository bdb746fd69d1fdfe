/**
 * Proves the contract suites are reusable: a store written from scratch against the public
 * `SessionStore` API only (no MemoryStore code) implements the protected primitives, checks
 * nothing itself, and passes the same store contract (strict JSON included: the base checks
 * every value) and the same failure battery as the library's stores.
 *
 * Unlike MemoryStore it keeps parsed objects (structured clones of their JSON form), keeps
 * tombstones in a separate map, and yields to the event loop between reading and writing, as a
 * networked store would; a per-id lock makes `patchSession`/`incrementField` atomic anyway.
 */
import { describe, expect, it } from '@jest/globals';
import { SessionError, SessionStore, type SessionData, type StoredSession } from '../../../src/index.js';
import { runFailureContract } from '../../contract/failureContract.js';
import { runStoreContract } from '../../contract/storeContract.js';
import { expectNoUserIndex } from '../../contract/userIndexContract.js';

interface Row {
  data: SessionData;
  expiresAt: number;
}

/** A Map-based store implementing the primitives with its own code; the base checks the arguments. */
class ClonedMapStore extends SessionStore {
  readonly #rows = new Map<string, Row>();
  readonly #tombstones = new Map<string, number>();
  readonly #locks = new Map<string, Promise<unknown>>();
  /** Every primitive call, by name (to show what reaches the store). */
  readonly calls: string[] = [];

  protected async loadSession(id: string): Promise<StoredSession | undefined> {
    this.calls.push('loadSession');
    await this.#io();
    if (this.#tombstone(id)) return { state: 'destroyed' };
    const row = this.#row(id);
    return row ? { state: 'active', data: structuredClone(row.data), expiresAt: row.expiresAt } : undefined;
  }

  protected async writeSession(id: string, json: string, ttlSeconds: number): Promise<void> {
    this.calls.push('writeSession');
    const data = JSON.parse(json) as SessionData;
    await this.#locked(id, async () => {
      this.#tombstones.delete(id);
      this.#rows.set(id, { data, expiresAt: Date.now() + ttlSeconds * 1000 });
    });
  }

  protected async destroySession(id: string): Promise<void> {
    this.calls.push('destroySession');
    await this.#locked(id, async () => {
      if (this.#tombstone(id)) return;
      const row = this.#row(id);
      this.#rows.delete(id);
      this.#tombstones.set(id, row ? row.expiresAt : Date.now() + this.defaultTtlSeconds * 1000);
    });
  }

  protected async touchSession(id: string, ttlSeconds: number): Promise<void> {
    this.calls.push('touchSession');
    await this.#locked(id, async () => {
      const row = this.#row(id);
      if (row) row.expiresAt = Date.now() + ttlSeconds * 1000;
    });
  }

  protected async patchSession(id: string, changes: ReadonlyArray<readonly [key: string, json: string | undefined]>, ttlSeconds: number): Promise<void> {
    this.calls.push('patchSession');
    await this.#locked(id, async () => {
      if (this.#tombstone(id)) return;
      const data = structuredClone(this.#row(id)?.data ?? {});
      await this.#io(); // a read-modify-write with a gap: only the lock keeps it safe
      for (const [key, json] of changes) {
        if (json === undefined) delete data[key];
        else data[key] = JSON.parse(json);
      }
      this.#rows.set(id, { data, expiresAt: Date.now() + ttlSeconds * 1000 });
    });
  }

  protected async incrementField(id: string, key: string, by: number, ttlSeconds: number): Promise<number> {
    this.calls.push('incrementField');
    return this.#locked(id, async () => {
      const data = structuredClone(this.#row(id)?.data ?? {});
      await this.#io();
      const current = Object.hasOwn(data, key) ? data[key] : 0;
      if (typeof current !== 'number') throw new SessionError('not-a-number', `"${key}" is not a number`);
      const next = current + by;
      if (this.#tombstone(id)) return next;
      data[key] = next;
      this.#rows.set(id, { data, expiresAt: Date.now() + ttlSeconds * 1000 });
      return next;
    });
  }

  protected async clearSessions(): Promise<void> {
    this.#rows.clear();
    this.#tombstones.clear();
  }

  protected async countSessions(): Promise<number> {
    let n = 0;
    for await (const _ of this.sessionIds()) n++;
    return n;
  }

  protected async *sessionIds(): AsyncIterable<string> {
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
}

const clonedMapStore = async () => ({ store: new ClonedMapStore(), cleanup: async () => undefined });
runStoreContract('custom ClonedMapStore (a user-written SessionStore subclass)', clonedMapStore, { strictJson: true });
runFailureContract('custom ClonedMapStore', clonedMapStore, { small: true });

describe('custom store', () => {
  it("keeps no user index unless it implements the primitives: those calls reject with 'unsupported', userRevocation resolves undefined", async () => {
    const store = new ClonedMapStore();
    await expectNoUserIndex(store);
    expect(store.calls).toEqual([]);
  });

  it('inherits the public methods, get() and defaultTtlSeconds from SessionStore', async () => {
    const store = new ClonedMapStore();
    expect(store).toBeInstanceOf(SessionStore);
    expect(store.defaultTtlSeconds).toBe(3600);
    await store.patch('a', { x: 1 }, 10);
    await expect(store.get('a')).resolves.toEqual({ x: 1 });
  });

  it('gets only checked calls: a bad id, key, value, amount or TTL is refused before any primitive runs', async () => {
    const store = new ClonedMapStore();
    const refusals: Array<[() => Promise<unknown>, SessionError['kind']]> = [
      [() => store.load(''), 'invalid-id'],
      [() => store.get(undefined as unknown as string), 'invalid-id'],
      [() => store.destroy(42 as unknown as string), 'invalid-id'],
      [() => store.set('a', JSON.parse('{"__proto__": {"admin": true}}') as SessionData, 30), 'invalid-key'],
      [() => store.patch('a', { '': 1 }, 30), 'invalid-key'],
      [() => store.increment('a', '__proto__', 1, 30), 'invalid-key'],
      [() => store.set('a', { when: new Map() }, 30), 'invalid-value'],
      [() => store.patch('a', { n: Number.NaN }, 30), 'invalid-value'],
      [() => store.set('a', [1] as unknown as SessionData, 30), 'invalid-value'],
      [() => store.increment('a', 'n', Number.POSITIVE_INFINITY, 30), 'invalid-value'],
      [() => store.set('a', { ok: 1 }, 0), 'invalid-value'],
      [() => store.patch('a', { ok: 1 }, -1), 'invalid-value'],
      [() => store.touch('a', Number.NaN), 'invalid-value'],
      [() => store.increment('a', 'n', 1, Number.POSITIVE_INFINITY), 'invalid-value'],
    ];
    for (const [call, kind] of refusals) {
      const error = await call().then(
        () => undefined,
        (caught: unknown) => caught,
      );
      expect([String(call), SessionError.is(error) && error.kind]).toEqual([String(call), kind]);
    }
    expect(store.calls).toEqual([]);
    expect(({} as Record<string, unknown>).admin).toBeUndefined();
  });
});
