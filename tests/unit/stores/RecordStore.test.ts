/**
 * RecordStore: the whole contract from a few record primitives. A Map of JSON text stands in for
 * a networked backend, with an event-loop turn between every call, so concurrent operations
 * really interleave unless RecordStore serialises them.
 */
import { describe, expect, it } from '@jest/globals';
import { RecordStore, SessionError, type RecordStoreOptions, type SessionRecord, type TimedSessionRecord } from '../../../src/index.js';
import { runStoreContract } from '../../contract/storeContract.js';
import { runUserIndexContract } from '../../contract/userIndexContract.js';
import { encodeUserId } from '../../../src/stores/userIndexes.js';
import { REVOCATION_TTL_SECONDS, type UserSessionEntry } from '../../../src/abstract/userIndex.js';

const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

interface Calls {
  read: number;
  write: number;
  touch: number;
  remove: number;
}

/** Records as JSON text in a Map (shareable between instances, as a database is). */
class MapRecordStore extends RecordStore {
  readonly calls: Calls = { read: 0, write: 0, touch: 0, remove: 0 };
  /** When set, reads wait for it (to stall the backend). */
  readGate: Promise<void> | undefined;
  /** When set, the next primitive call fails with it. */
  failNext: unknown;

  constructor(
    readonly rows = new Map<string, string>(),
    options: RecordStoreOptions = {},
  ) {
    super(options);
  }

  get queued(): number {
    return this.busyIds;
  }

  #maybeFail(): void {
    if (this.failNext === undefined) return;
    const failure = this.failNext;
    this.failNext = undefined;
    throw failure;
  }

  protected async readRecord(id: string): Promise<SessionRecord | undefined> {
    this.calls.read++;
    await turn();
    if (this.readGate) await this.readGate;
    this.#maybeFail();
    const json = this.rows.get(id);
    return json === undefined ? undefined : (JSON.parse(json) as SessionRecord);
  }

  protected async writeRecord(id: string, record: TimedSessionRecord, ttlSeconds: number): Promise<void> {
    this.calls.write++;
    expect(ttlSeconds).toBeGreaterThan(0);
    expect(Math.abs(record.expiresAt - (Date.now() + ttlSeconds * 1000))).toBeLessThan(50);
    await turn();
    this.#maybeFail();
    this.rows.set(id, JSON.stringify(record));
  }

  protected async removeRecord(id: string): Promise<void> {
    this.calls.remove++;
    await turn();
    this.rows.delete(id);
  }

  protected override async *listRecords(): AsyncIterable<readonly [string, SessionRecord]> {
    await turn();
    for (const [id, json] of [...this.rows]) yield [id, JSON.parse(json) as SessionRecord];
  }
}

/** The same, with every optional primitive. */
class FullMapRecordStore extends MapRecordStore {
  protected override async touchRecord(id: string, record: TimedSessionRecord): Promise<void> {
    this.calls.touch++;
    await turn();
    this.rows.set(id, JSON.stringify(record));
  }

  protected override async countLive(): Promise<number> {
    let count = 0;
    for (const json of this.rows.values()) {
      const record = JSON.parse(json) as { tombstone?: true; userIndex?: object; expiresAt: number };
      if (!record.tombstone && !record.userIndex && record.expiresAt > Date.now()) count++;
    }
    return count;
  }

  protected override async removeAll(): Promise<void> {
    this.rows.clear();
  }
}

/** Reads and writes only: no listing. */
class BareRecordStore extends RecordStore {
  readonly rows = new Map<string, string>();
  protected async readRecord(id: string): Promise<SessionRecord | undefined> {
    const json = this.rows.get(id);
    return json === undefined ? undefined : (JSON.parse(json) as SessionRecord);
  }
  protected async writeRecord(id: string, record: TimedSessionRecord): Promise<void> {
    this.rows.set(id, JSON.stringify(record));
  }
  protected async removeRecord(id: string): Promise<void> {
    this.rows.delete(id);
  }
}

runStoreContract('RecordStore (required primitives and listRecords)', async () => ({ store: new MapRecordStore(), cleanup: async () => undefined }), {
  strictJson: true,
});
runStoreContract('RecordStore (every optional primitive)', async () => ({ store: new FullMapRecordStore(), cleanup: async () => undefined }), {
  strictJson: true,
});
runUserIndexContract('RecordStore (required primitives and listRecords)', async () => ({ store: new MapRecordStore(), cleanup: async () => undefined }));
runUserIndexContract('RecordStore (every optional primitive)', async () => ({ store: new FullMapRecordStore(), cleanup: async () => undefined }));

async function rejection(promise: Promise<unknown>): Promise<SessionError> {
  const caught = await promise.then(
    () => undefined,
    (error: unknown) => error,
  );
  expect(SessionError.is(caught)).toBe(true);
  return caught as SessionError;
}

describe('RecordStore', () => {
  it('keeps no per-id queue once the work is done, failures included', async () => {
    const store = new MapRecordStore();
    await Promise.all(Array.from({ length: 20 }, (_, i) => store.increment(`id-${i % 4}`, 'n', 1, 30)));
    expect(store.queued).toBe(0);
    await store.set('t', { text: 'x' }, 30);
    const [failed, patched] = await Promise.allSettled([store.increment('t', 'text', 1, 30), store.patch('t', { a: 1 }, 30)]);
    expect(failed.status).toBe('rejected');
    expect(patched.status).toBe('fulfilled');
    await turn();
    expect(store.queued).toBe(0);
    await expect(store.get('t')).resolves.toStrictEqual({ text: 'x', a: 1 });
  });

  it('serialises the operations on one id, but not those on different ids', async () => {
    const store = new MapRecordStore();
    let open!: () => void;
    store.readGate = new Promise((resolve) => (open = resolve));
    const a = store.increment('a', 'n', 1, 30);
    const aAgain = store.increment('a', 'n', 1, 30);
    await turn();
    await turn();
    // Only the first operation on "a" has started reading; the second waits its turn.
    expect(store.calls.read).toBe(1);
    store.readGate = undefined;
    // Another id is not held up by the stalled one.
    await expect(store.increment('b', 'n', 1, 30)).resolves.toBe(1);
    open();
    await expect(Promise.all([a, aAgain])).resolves.toEqual([1, 2]);
  });

  it('bounds a primitive that never answers (store-timeout) and releases the id', async () => {
    const store = new MapRecordStore(new Map(), { callTimeoutSeconds: 0.05 });
    store.readGate = new Promise(() => undefined);
    const started = Date.now();
    const error = await rejection(store.increment('stuck', 'n', 1, 30));
    expect(error.kind).toBe('store-timeout');
    expect(Date.now() - started).toBeLessThan(1000);
    store.readGate = undefined;
    await expect(store.increment('stuck', 'n', 1, 30)).resolves.toBe(1);
    expect(store.queued).toBe(0);
  });

  it("turns a backend failure into a 'store-error' SessionError with the failure as cause", async () => {
    const store = new MapRecordStore();
    const boom = new Error('connection reset');
    store.failNext = boom;
    const error = await rejection(store.load('x'));
    expect(error.kind).toBe('store-error');
    expect(error.status).toBe(503);
    expect(error.cause).toBe(boom);
    expect(error.message).not.toContain('x"');
    store.failNext = new SessionError('too-large', 'too big for the backend');
    expect((await rejection(store.set('x', { a: 1 }, 30))).kind).toBe('too-large');
  });

  it('treats a record whose expiry has passed as missing, even when the backend returns it', async () => {
    const store = new MapRecordStore();
    store.rows.set('old', JSON.stringify({ data: { a: 1 }, expiresAt: Date.now() - 1 }));
    store.rows.set('old-tomb', JSON.stringify({ tombstone: true, expiresAt: Date.now() - 1 }));
    await expect(store.load('old')).resolves.toBeUndefined();
    await expect(store.load('old-tomb')).resolves.toBeUndefined();
    await expect(store.increment('old', 'n', 1, 30)).resolves.toBe(1);
    await expect(store.get('old')).resolves.toStrictEqual({ n: 1 });
    await expect(store.length()).resolves.toBe(1);
  });

  it('a record without a known expiry is live; its tombstone gets the default TTL', async () => {
    const store = new MapRecordStore();
    store.defaultTtlSeconds = 120;
    store.rows.set('forever', JSON.stringify({ data: { a: 1 } }));
    await expect(store.load('forever')).resolves.toEqual({ state: 'active', data: { a: 1 }, expiresAt: undefined });
    const before = Date.now();
    await store.destroy('forever');
    const tomb = JSON.parse(store.rows.get('forever')!) as { tombstone: true; expiresAt: number };
    expect(tomb.tombstone).toBe(true);
    expect(tomb.expiresAt).toBeGreaterThanOrEqual(before + 120_000);
  });

  it('destroy keeps the remaining TTL of the session in its tombstone', async () => {
    const store = new MapRecordStore();
    await store.set('s', { a: 1 }, 40);
    await store.destroy('s');
    const tomb = JSON.parse(store.rows.get('s')!) as { tombstone: true; expiresAt: number; data?: unknown };
    expect(tomb).toEqual({ tombstone: true, expiresAt: expect.any(Number) });
    expect(tomb.expiresAt).toBeGreaterThan(Date.now() + 38_000);
    expect(tomb.expiresAt).toBeLessThanOrEqual(Date.now() + 40_000);
  });

  it('touch uses touchRecord when the subclass has one, and writes the whole record otherwise', async () => {
    const full = new FullMapRecordStore();
    await full.set('s', { a: 1 }, 30);
    await full.touch('s', 60);
    expect(full.calls).toMatchObject({ touch: 1, write: 1 });
    const plain = new MapRecordStore();
    await plain.set('s', { a: 1 }, 30);
    await plain.touch('s', 60);
    expect(plain.calls).toMatchObject({ touch: 0, write: 2 });
    await expect(plain.load('s')).resolves.toMatchObject({ data: { a: 1 }, expiresAt: expect.any(Number) });
    const found = await plain.load('s');
    expect(found?.state === 'active' && found.expiresAt! > Date.now() + 55_000).toBe(true);
  });

  it('clear without removeAll removes every listed record, tombstones included', async () => {
    const store = new MapRecordStore();
    await store.set('a', { a: 1 }, 30);
    await store.destroy('b');
    await store.clear();
    expect(store.rows.size).toBe(0);
    expect(store.calls.remove).toBe(2);
  });

  it("without listRecords, ids(), length() and clear() reject with 'store-error'", async () => {
    const store = new BareRecordStore();
    await store.set('a', { a: 1 }, 30);
    for (const call of [() => store.length(), () => store.clear(), async () => { for await (const _ of store.ids()) break; }]) {
      const error = await rejection(call());
      expect(error.kind).toBe('store-error');
      expect(error.message).toContain('listRecords');
    }
    await expect(store.get('a')).resolves.toStrictEqual({ a: 1 });
  });

  it("turns a listing failure into a 'store-error' SessionError", async () => {
    const boom = new Error('cursor lost');
    class FailingList extends MapRecordStore {
      protected override async *listRecords(): AsyncIterable<readonly [string, SessionRecord]> {
        yield ['a', { data: {} }];
        throw boom;
      }
    }
    const store = new FailingList();
    const error = await rejection(store.length());
    expect(error.kind).toBe('store-error');
    expect(error.cause).toBe(boom);
  });

  it("refuses a bad callTimeoutSeconds with 'invalid-option'", () => {
    for (const bad of [-1, Number.NaN, '5'] as unknown as number[]) {
      let caught: unknown;
      try {
        new MapRecordStore(new Map(), { callTimeoutSeconds: bad });
      } catch (error) {
        caught = error;
      }
      expect(SessionError.is(caught) && caught.option).toBe('callTimeoutSeconds');
    }
    expect(new MapRecordStore(new Map(), { defaultTtlSeconds: 7 }).defaultTtlSeconds).toBe(7);
  });

  describe('user indexes', () => {
    const entry = (handle: string, expiresAt = Date.now() + 60_000): UserSessionEntry => ({
      handle,
      sessionKey: `sid-${handle}`,
      loggedInAt: Date.now() - 1000,
      lastSeenAt: Date.now(),
      expiresAt,
      meta: { userAgent: 'UA' },
    });

    it('keeps each user index as one record under swarmauri-user:<base64url>, as long as its longest entry, removed once empty', async () => {
      const store = new MapRecordStore();
      const id = `swarmauri-user:${Buffer.from('ada@example.com').toString('base64url')}`;
      expect(encodeUserId('ada@example.com')).toBe(id.slice('swarmauri-user:'.length));
      const later = Date.now() + 90_000;
      await store.indexSession('ada@example.com', entry('h1'));
      await store.indexSession('ada@example.com', entry('h2', later));
      expect([...store.rows.keys()]).toEqual([id]);
      const record = JSON.parse(store.rows.get(id)!) as { userIndex: { sessions: UserSessionEntry[] }; expiresAt: number };
      expect(record.userIndex.sessions.map((one) => one.handle)).toEqual(['h1', 'h2']);
      expect(record.expiresAt).toBe(later);
      await store.unindexSession('ada@example.com', 'h2');
      expect((JSON.parse(store.rows.get(id)!) as { expiresAt: number }).expiresAt).toBeLessThan(later);
      // Taking off an entry that is not there writes nothing.
      const writes = store.calls.write;
      await store.unindexSession('ada@example.com', 'missing');
      expect(store.calls.write).toBe(writes);
      await store.unindexSession('ada@example.com', 'h1');
      expect(store.rows.size).toBe(0);
    });

    it('keeps the record REVOCATION_TTL_SECONDS after a revocation, with the mark', async () => {
      const store = new MapRecordStore();
      const before = Date.now();
      await store.indexSession('bob', entry('h1'));
      const revoking = Date.now();
      await expect(store.revokeUser('bob', before)).resolves.toHaveLength(1);
      const took = Date.now() - revoking;
      const json = [...store.rows.values()][0]!;
      const record = JSON.parse(json) as { userIndex: { sessions: unknown[]; revocation: { before: number; expiresAt: number } }; expiresAt: number };
      expect(record.userIndex.sessions).toEqual([]);
      expect(record.userIndex.revocation.before).toBe(before);
      expect(record.expiresAt).toBeGreaterThanOrEqual(before + REVOCATION_TTL_SECONDS * 1000);
      // The TTL is taken when the write starts and turned back into a date when it lands: off by at
      // most the time the call took (and a millisecond of rounding).
      expect(Math.abs(record.expiresAt - record.userIndex.revocation.expiresAt)).toBeLessThanOrEqual(took + 1);
    });

    it("refuses session ids in the reserved namespace ('invalid-id'), so a session never overwrites an index", async () => {
      const store = new MapRecordStore();
      await store.indexSession('ada', entry('h1'));
      const reserved = `swarmauri-user:${encodeUserId('ada')}`;
      for (const call of [() => store.load(reserved), () => store.set(reserved, {}), () => store.patch(reserved, { a: 1 }, 30), () => store.destroy(reserved), () => store.increment('swarmauri-user:x', 'n', 1, 30)]) {
        expect((await rejection(call())).kind).toBe('invalid-id');
      }
      expect((await store.userIndex('ada')).sessions).toHaveLength(1);
    });

    it('reads a record that is not an index (written by someone else under the reserved id) as an empty index, and replaces it', async () => {
      const store = new MapRecordStore();
      const id = `swarmauri-user:${encodeUserId('eve')}`;
      store.rows.set(id, JSON.stringify({ data: { sessions: [entry('forged')] }, expiresAt: Date.now() + 60_000 }));
      await expect(store.userIndex('eve')).resolves.toEqual({ sessions: [], revocation: undefined });
      await expect(store.length()).resolves.toBe(0);
      await store.indexSession('eve', entry('real'));
      expect((await store.userIndex('eve')).sessions.map((one) => one.handle)).toEqual(['real']);
      // Malformed entries and marks are skipped, not trusted.
      const ok = entry('ok');
      store.rows.set(id, JSON.stringify({ userIndex: { sessions: [{ handle: 'x' }, 'junk', ok], revocation: { before: 'yesterday' } }, expiresAt: Date.now() + 60_000 }));
      await expect(store.userIndex('eve')).resolves.toStrictEqual({ sessions: [ok], revocation: undefined });
    });

    it('is atomic within one instance: concurrent logins and a revocation of one user interleave safely', async () => {
      const store = new MapRecordStore();
      const before = Date.now();
      const logins = Array.from({ length: 6 }, (_, i) => store.indexSession('cy', entry(`h${i}`)));
      const revoked = store.revokeUser('cy', before + 10_000, 'h5');
      const late = store.indexSession('cy', entry('late')); // logged in before the mark: refused
      await Promise.all([...logins, late]);
      const removed = await revoked;
      expect(removed.map((one) => one.handle).sort()).toEqual(['h0', 'h1', 'h2', 'h3', 'h4']);
      expect((await store.userIndex('cy')).sessions.map((one) => one.handle)).toEqual(['h5']);
    });
  });

  it('is last-writer-wins across instances sharing one backend (the documented limit: use a native store)', async () => {
    const rows = new Map<string, string>();
    const one = new MapRecordStore(rows);
    const two = new MapRecordStore(rows);
    await Promise.all(Array.from({ length: 10 }, (_, i) => (i % 2 === 0 ? one : two).increment('shared', 'n', 1, 30)));
    const { n } = (await one.get('shared')) as { n: number };
    // Each instance is atomic on its own (5 each), but their read-modify-write cycles interleave.
    expect(n).toBeLessThan(10);
    expect(n).toBeGreaterThanOrEqual(5);
  });
});
