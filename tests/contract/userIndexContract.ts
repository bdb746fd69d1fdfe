/**
 * The user-index battery: what every store that keeps user indexes (MemoryStore, RedisStore with
 * every client, RecordStore and so ExpressSessionStoreAdapter) must do with `indexSession`,
 * `unindexSession`, `userIndex`, `userRevocation` and `revokeUser` (see the doc comments in
 * src/abstract/SessionStore.ts and src/abstract/userIndex.ts). One line per store:
 * ```ts
 * runUserIndexContract('MemoryStore', async () => ({ store: new MemoryStore(), cleanup: async () => undefined }));
 * ```
 * Same factory as `runStoreContract`: an empty store per test, `cleanup` after it. One test
 * sleeps 300 ms (expiry at read time); the rest runs at the speed of the store.
 *
 * `expectNoUserIndex(store)` checks a store without the primitives (a user's own store).
 */
import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { SessionError, type SessionErrorKind, type SessionStore } from '../../src/index.js';
import { MAX_USER_SESSIONS, type UserSessionEntry } from '../../src/abstract/userIndex.js';
import type { StoreUnderTest } from './storeContract.js';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** A user id no other test uses. */
const user = (): string => `user-${randomUUID()}`;

/** An entry of a session logged in `ago` ms ago that runs out in `ttlMs`. */
function entry(handle: string, options: { loggedInAt?: number; expiresAt?: number; meta?: UserSessionEntry['meta'] } = {}): UserSessionEntry {
  const now = Date.now();
  return {
    handle,
    sessionKey: `sid-${handle}-${randomUUID()}`,
    loggedInAt: options.loggedInAt ?? now - 1000,
    lastSeenAt: now,
    expiresAt: options.expiresAt ?? now + 60_000,
    meta: options.meta ?? { userAgent: `agent of ${handle}` },
  };
}

const byHandle = (a: UserSessionEntry, b: UserSessionEntry): number => (a.handle < b.handle ? -1 : a.handle > b.handle ? 1 : 0);

async function listed(store: SessionStore, userId: string): Promise<UserSessionEntry[]> {
  return (await store.userIndex(userId)).sessions.sort(byHandle);
}

async function handles(store: SessionStore, userId: string): Promise<string[]> {
  return (await listed(store, userId)).map((one) => one.handle);
}

async function collect(iterable: AsyncIterable<string>): Promise<string[]> {
  const out: string[] = [];
  for await (const item of iterable) out.push(item);
  return out;
}

async function rejection(call: () => Promise<unknown>, kind: SessionErrorKind): Promise<SessionError> {
  let promise: Promise<unknown>;
  try {
    promise = call();
  } catch (error) {
    throw new Error(`expected a rejected promise, but the call threw synchronously: ${String(error)}`);
  }
  const caught = await promise.then(
    (value) => new Error(`expected a rejection with '${kind}', got ${JSON.stringify(value)}`),
    (error: unknown) => error,
  );
  if (!SessionError.is(caught)) throw caught;
  expect(caught.kind).toBe(kind);
  return caught;
}

/** A store that keeps no user index: every call but `userRevocation` rejects with `unsupported`. */
export async function expectNoUserIndex(store: SessionStore): Promise<void> {
  const error = await rejection(() => store.indexSession('ada', entry('h1')), 'unsupported');
  expect(error.message).toContain(store.constructor.name);
  await rejection(() => store.unindexSession('ada', 'h1'), 'unsupported');
  await rejection(() => store.userIndex('ada'), 'unsupported');
  await rejection(() => store.revokeUser('ada', Date.now()), 'unsupported');
  await expect(store.userRevocation('ada')).resolves.toBeUndefined();
  // The arguments are still checked first.
  await rejection(() => store.userIndex(''), 'invalid-value');
}

export function runUserIndexContract(name: string, makeStore: () => Promise<StoreUnderTest>): void {
  describe(`user index: ${name}`, () => {
    let store: SessionStore;
    let cleanup: () => Promise<void>;

    beforeEach(async () => {
      ({ store, cleanup } = await makeStore());
    });

    afterEach(async () => {
      await cleanup();
    });

    it('adds, replaces by handle, lists (fresh copies) and takes entries off', async () => {
      const alice = user();
      await expect(store.userIndex(alice)).resolves.toEqual({ sessions: [], revocation: undefined });
      const a = entry('a', { meta: { userAgent: 'Laptop/1', nested: [1, { deep: null }] } });
      const b = entry('b');
      await store.indexSession(alice, a);
      await store.indexSession(alice, b);
      await expect(listed(store, alice)).resolves.toStrictEqual([a, b]);

      const again = { ...a, lastSeenAt: a.lastSeenAt + 5000, expiresAt: a.expiresAt + 5000, meta: { userAgent: 'Laptop/2' } };
      await store.indexSession(alice, again);
      const now = await listed(store, alice);
      expect(now).toStrictEqual([again, b]);
      (now[0]!.meta as { userAgent: string }).userAgent = 'changed by the caller';
      await expect(listed(store, alice)).resolves.toStrictEqual([again, b]);

      await store.unindexSession(alice, 'a');
      await expect(handles(store, alice)).resolves.toEqual(['b']);
      await store.unindexSession(alice, 'not-there');
      await store.unindexSession(user(), 'b');
      await store.unindexSession(alice, 'b');
      await expect(store.userIndex(alice)).resolves.toEqual({ sessions: [], revocation: undefined });
    });

    it('keeps users apart, whatever characters their ids have', async () => {
      const ids = [`${user()}:x`, `${user()}*?[]{tag}`, `${user()} ünï ✓`, 'x'.repeat(256), `${user()}\u0000`, '\uD800lone'];
      for (const [i, userId] of ids.entries()) await store.indexSession(userId, entry(`h${i}`));
      for (const [i, userId] of ids.entries()) await expect(handles(store, userId)).resolves.toEqual([`h${i}`]);
      await expect(store.userIndex('\uDC00lone')).resolves.toEqual({ sessions: [], revocation: undefined });
      await rejection(() => store.indexSession('', entry('h')), 'invalid-value');
      await rejection(() => store.indexSession('x'.repeat(257), entry('h')), 'invalid-value');
      await rejection(() => store.indexSession('ada', { ...entry('h'), expiresAt: Number.NaN }), 'invalid-value');
      await rejection(() => store.unindexSession('ada', ''), 'invalid-value');
      await rejection(() => store.revokeUser('ada', Number.POSITIVE_INFINITY), 'invalid-value');
    });

    it('lists only live entries: an entry already expired, and one that expires while stored', async () => {
      const bob = user();
      await store.indexSession(bob, entry('gone', { expiresAt: Date.now() - 1 }));
      await store.indexSession(bob, entry('soon', { expiresAt: Date.now() + 250 }));
      await store.indexSession(bob, entry('later'));
      await expect(handles(store, bob)).resolves.toEqual(['later', 'soon']);
      await sleep(300);
      await expect(handles(store, bob)).resolves.toEqual(['later']);
      // A write drops the expired entry; the index stays usable.
      await store.indexSession(bob, entry('next'));
      await expect(handles(store, bob)).resolves.toEqual(['later', 'next']);
    });

    it(`keeps at most ${MAX_USER_SESSIONS} entries: a login beyond drops those that expire first, never its own`, async () => {
      const carol = user();
      const base = Date.now() + 60_000;
      const extra = 3;
      for (let i = 0; i < MAX_USER_SESSIONS + extra; i++) {
        await store.indexSession(carol, entry(`s${String(i).padStart(3, '0')}`, { expiresAt: base + i * 1000 }));
      }
      const kept = await handles(store, carol);
      expect(kept).toHaveLength(MAX_USER_SESSIONS);
      expect(kept[0]).toBe(`s${String(extra).padStart(3, '0')}`);
      // The new login expires before every other: it stays, and the earliest other goes.
      await store.indexSession(carol, entry('early', { expiresAt: base - 30_000 }));
      const after = await handles(store, carol);
      expect(after).toHaveLength(MAX_USER_SESSIONS);
      expect(after).toContain('early');
      expect(after).not.toContain(`s${String(extra).padStart(3, '0')}`);
      expect(after).toContain(`s${String(extra + 1).padStart(3, '0')}`);
    });

    it('revokeUser sets the mark, takes every entry off but the spared one and resolves those it took off', async () => {
      const dave = user();
      const [a, b, c] = [entry('a'), entry('b'), entry('c')];
      for (const one of [a, b, c]) await store.indexSession(dave, one);
      await store.indexSession(dave, entry('expired', { expiresAt: Date.now() - 1 }));
      await expect(store.userRevocation(dave)).resolves.toBeUndefined();
      const before = Date.now();
      const removed = await store.revokeUser(dave, before, 'b');
      expect(removed.sort(byHandle)).toStrictEqual([a, c]);
      await expect(store.userIndex(dave)).resolves.toStrictEqual({ sessions: [b], revocation: { before, spared: 'b' } });
      await expect(store.userRevocation(dave)).resolves.toStrictEqual({ before, spared: 'b' });

      // A later revocation replaces the mark; without `spared` nothing is spared.
      const later = before + 10;
      await expect(store.revokeUser(dave, later)).resolves.toStrictEqual([b]);
      await expect(store.userIndex(dave)).resolves.toStrictEqual({ sessions: [], revocation: { before: later, spared: undefined } });
      await expect(store.userRevocation(dave)).resolves.toStrictEqual({ before: later, spared: undefined });

      // A user with nothing indexed can be revoked too (the mark is what counts).
      const erin = user();
      await expect(store.revokeUser(erin, before, 'x')).resolves.toEqual([]);
      await expect(store.userRevocation(erin)).resolves.toStrictEqual({ before, spared: 'x' });
    });

    it('refuses to index a session the mark revokes (logged in before it, not spared); accepts one logged in after, and the spared one', async () => {
      const frank = user();
      const at = Date.now();
      await store.indexSession(frank, entry('kept', { loggedInAt: at - 5000 }));
      await store.revokeUser(frank, at, 'kept');
      // An in-flight request of a revoked session cannot put it back.
      await store.indexSession(frank, entry('revoked', { loggedInAt: at - 1 }));
      await expect(handles(store, frank)).resolves.toEqual(['kept']);
      // The spared session may refresh its entry; a login after the mark is indexed.
      await store.indexSession(frank, { ...entry('kept', { loggedInAt: at - 5000 }), lastSeenAt: at + 1 });
      await store.indexSession(frank, entry('new', { loggedInAt: at }));
      await store.indexSession(frank, entry('newer', { loggedInAt: at + 1 }));
      await expect(handles(store, frank)).resolves.toEqual(['kept', 'new', 'newer']);
      expect((await listed(store, frank))[0]!.lastSeenAt).toBe(at + 1);
      // The mark stays after later writes and removals.
      await store.unindexSession(frank, 'new');
      await store.unindexSession(frank, 'newer');
      await store.unindexSession(frank, 'kept');
      await expect(store.userRevocation(frank)).resolves.toStrictEqual({ before: at, spared: 'kept' });
      await store.indexSession(frank, entry('late-revoked', { loggedInAt: at - 1 }));
      await expect(store.userIndex(frank)).resolves.toStrictEqual({ sessions: [], revocation: { before: at, spared: 'kept' } });
    });

    it('user indexes are not sessions: ids() and length() skip them, clear() removes them', async () => {
      const [gina, hank] = [user(), user()];
      await store.set('a-session', { n: 1 }, 60);
      await store.indexSession(gina, entry('g1'));
      await store.indexSession(gina, entry('g2'));
      await store.indexSession(hank, entry('h1'));
      await store.revokeUser(hank, Date.now(), 'h1');
      await expect(store.length()).resolves.toBe(1);
      await expect(collect(store.ids())).resolves.toEqual(['a-session']);
      await store.clear();
      await expect(store.length()).resolves.toBe(0);
      await expect(store.userIndex(gina)).resolves.toEqual({ sessions: [], revocation: undefined });
      await expect(store.userIndex(hank)).resolves.toEqual({ sessions: [], revocation: undefined });
      await expect(store.userRevocation(hank)).resolves.toBeUndefined();
    });

    it('concurrent logins of one user are all indexed', async () => {
      const ivy = user();
      const many = Array.from({ length: 12 }, (_, i) => entry(`c${String(i).padStart(2, '0')}`));
      await Promise.all(many.map((one) => store.indexSession(ivy, one)));
      await expect(listed(store, ivy)).resolves.toStrictEqual(many);
    });
  });
}
