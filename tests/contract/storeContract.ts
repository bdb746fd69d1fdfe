/**
 * The SessionStore contract suite: every store (MemoryStore, RedisStore, the express-session
 * adapter, users' own stores) must pass it. It only uses the public contract of
 * `SessionStore` (see the doc comment of src/abstract/SessionStore.ts and SPEC §2-§4).
 *
 * Usage, in a `*.test.ts` file:
 * ```ts
 * runStoreContract('MemoryStore', async () => {
 *   const store = new MemoryStore();
 *   return { store, cleanup: async () => store.close() };
 * });
 * ```
 * `makeStore` is called before every test and must give an empty store; `cleanup` runs after it.
 * Expiry tests use short real TTLs (1 s), so the store must honour sub-minute TTLs. The failure
 * battery (`runFailureContract` in failureContract.ts) takes the same factory: one more line.
 *
 * Every `SessionStore` subclass gets its argument checks (ids, keys, values, TTLs) from the base
 * class, so the validation tests hold for any store whose primitives do what their doc says.
 *
 * `features.strictJson`: the store refuses every value JSON would silently change (a `Map`
 * stored as `{}`, `NaN` as `null`, a function dropped...), as the library's own stores do by
 * serializing with `recordToJson`/`toJson` (src/core/serialize.ts). Off by default: the contract
 * only requires JSON semantics, and a user's store built on plain `JSON.stringify` conforms.
 */
import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { SessionError, type SessionData, type SessionErrorKind, type SessionStore } from '../../src/index.js';

export interface StoreUnderTest {
  store: SessionStore;
  cleanup: () => Promise<void>;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** A fresh session id per use, so tests never depend on each other's data. */
const sid = (): string => `contract-${randomUUID()}`;

/** Collects an async iterable. */
async function collect(iterable: AsyncIterable<string>): Promise<string[]> {
  const out: string[] = [];
  for await (const item of iterable) out.push(item);
  return out;
}

/**
 * Asserts that `call()` returns a promise that rejects with a `SessionError` of `kind` (a
 * synchronous throw is a contract violation: callers chain on the promise).
 */
async function expectSessionError(call: () => Promise<unknown>, kind: SessionErrorKind): Promise<SessionError> {
  let promise: Promise<unknown>;
  try {
    promise = call();
  } catch (error) {
    throw new Error(`expected a rejected promise, but the call threw synchronously: ${String(error)}`);
  }
  let caught: unknown;
  try {
    const value = await promise;
    throw new Error(`expected a rejection with SessionError '${kind}', but the call resolved with ${JSON.stringify(value) ?? 'undefined'}`);
  } catch (error) {
    caught = error;
  }
  if (!SessionError.is(caught)) throw caught;
  expect((caught as SessionError).kind).toBe(kind);
  return caught as SessionError;
}

/** A record whose own key is `__proto__` (an object literal would set the prototype instead). */
const protoKeyed = (): SessionData => JSON.parse('{"__proto__": {"polluted": true}}') as SessionData;

/** Optional behaviours a store can opt into checking (see the file comment). */
export interface StoreFeatures {
  strictJson?: boolean;
}

class Point {
  constructor(
    readonly x: number,
    readonly y: number,
  ) {}
}

/** Values JSON cannot hold faithfully, each nested in an otherwise valid value. */
const NON_JSON: Array<[string, () => unknown]> = [
  ['a Map', () => ({ items: [{ when: new Map([[1, 2]]) }] })],
  ['a Set', () => ({ tags: new Set(['a']) })],
  ['a RegExp', () => [/x/]],
  ['an Error', () => ({ last: new Error('boom') })],
  ['a Uint8Array', () => ({ bytes: new Uint8Array([1]) })],
  ['a class instance without toJSON', () => ({ at: new Point(1, 2) })],
  ['a function', () => ({ onDone: () => 1 })],
  ['a symbol', () => [Symbol('s')]],
  ['NaN', () => ({ score: Number.NaN })],
  ['Infinity', () => [Number.POSITIVE_INFINITY]],
  ['a BigInt', () => ({ n: 1n })],
];

export function runStoreContract(name: string, makeStore: () => Promise<StoreUnderTest>, features: StoreFeatures = {}): void {
  describe(`SessionStore contract: ${name}`, () => {
    let store: SessionStore;
    let cleanup: (() => Promise<void>) | undefined;

    beforeEach(async () => {
      const made = await makeStore();
      store = made.store;
      cleanup = made.cleanup;
    });

    afterEach(async () => {
      await cleanup?.();
      cleanup = undefined;
    });

    describe('close', () => {
      it('close() settles without an error, twice in a row, and leaves what it was given to the application', async () => {
        const id = sid();
        await store.set(id, { kept: true }, 30);
        await expect(Promise.resolve(store.close())).resolves.toBeUndefined();
        await expect(Promise.resolve(store.close())).resolves.toBeUndefined();
      });
    });

    describe('reads', () => {
      it('get and load of a missing id resolve undefined', async () => {
        await expect(store.get(sid())).resolves.toBeUndefined();
        await expect(store.load(sid())).resolves.toBeUndefined();
      });

      it('load of a live session reports it active with its data and (when known) its expiry', async () => {
        const id = sid();
        const before = Date.now();
        await store.set(id, { user: 'ada' }, 30);
        const after = Date.now();
        const found = await store.load(id);
        expect(found?.state).toBe('active');
        if (found?.state !== 'active') throw new Error('unreachable');
        expect(found.data).toStrictEqual({ user: 'ada' });
        if (found.expiresAt !== undefined) {
          expect(found.expiresAt).toBeGreaterThanOrEqual(before + 30_000 - 1_000);
          expect(found.expiresAt).toBeLessThanOrEqual(after + 30_000 + 1_000);
        }
      });
    });

    describe('set / get', () => {
      it('round-trips data with JSON semantics', async () => {
        const id = sid();
        await store.set(id, {
          when: new Date('2024-01-02T03:04:05.678Z'),
          nested: { a: { b: [1, 'two', null, { c: true }] } },
          list: [1, 2, 3],
          holes: [undefined, 1],
          nothing: null,
          skipped: undefined,
          n: 1.5,
          zero: 0,
          no: false,
          text: 'ünïcødé ✓ "quoted" \n line',
          empty: {},
          emptyList: [],
        });
        const got = await store.get(id);
        expect(got).toStrictEqual({
          when: '2024-01-02T03:04:05.678Z',
          nested: { a: { b: [1, 'two', null, { c: true }] } },
          list: [1, 2, 3],
          holes: [null, 1],
          nothing: null,
          n: 1.5,
          zero: 0,
          no: false,
          text: 'ünïcødé ✓ "quoted" \n line',
          empty: {},
          emptyList: [],
        });
        expect(Object.prototype.hasOwnProperty.call(got, 'skipped')).toBe(false);
      });

      it('replaces the whole record (last writer wins)', async () => {
        const id = sid();
        await store.set(id, { a: 1, b: 2 });
        await store.set(id, { c: 3 });
        await expect(store.get(id)).resolves.toStrictEqual({ c: 3 });
      });

      it('an empty record is a live session', async () => {
        const id = sid();
        await store.set(id, {});
        await expect(store.get(id)).resolves.toStrictEqual({});
        await expect(store.length()).resolves.toBe(1);
      });

      it('returns fresh copies: mutating a result or the written object never changes the store', async () => {
        const id = sid();
        const written = { profile: { name: 'ada', tags: ['x'] }, count: 1 };
        await store.set(id, written);
        written.profile.name = 'changed-after-set';
        written.profile.tags.push('y');
        written.count = 99;

        const first = await store.get(id);
        const second = await store.get(id);
        expect(first).not.toBe(second);
        expect(first).toStrictEqual({ profile: { name: 'ada', tags: ['x'] }, count: 1 });
        const profile = first!.profile as { name: string; tags: string[] };
        expect(profile).not.toBe(second!.profile);
        profile.name = 'mutated';
        profile.tags.push('z');
        first!.count = 42;
        first!.extra = true;

        await expect(store.get(id)).resolves.toStrictEqual({ profile: { name: 'ada', tags: ['x'] }, count: 1 });
        const loaded = await store.load(id);
        if (loaded?.state !== 'active') throw new Error('expected an active session');
        (loaded.data as { count: number }).count = 7;
        await expect(store.get(id)).resolves.toStrictEqual({ profile: { name: 'ada', tags: ['x'] }, count: 1 });
      });
    });

    describe('expiry (short real TTLs)', () => {
      it('set without a TTL uses defaultTtlSeconds; an explicit TTL overrides it', async () => {
        store.defaultTtlSeconds = 1;
        expect(store.defaultTtlSeconds).toBe(1);
        const short = sid();
        const long = sid();
        await store.set(short, { a: 1 });
        await store.set(long, { b: 2 }, 30);
        await expect(store.get(short)).resolves.toStrictEqual({ a: 1 });
        await sleep(1_200);
        await expect(store.get(short)).resolves.toBeUndefined();
        await expect(store.load(short)).resolves.toBeUndefined();
        await expect(store.get(long)).resolves.toStrictEqual({ b: 2 });
        await expect(store.length()).resolves.toBe(1);
        await expect(collect(store.ids())).resolves.toEqual([long]);
      });

      it('every write sets the TTL it names; tombstones expire with the remaining TTL; expired data is not revived', async () => {
        const viaSet = sid();
        const viaPatch = sid();
        const viaIncrement = sid();
        const shortenedByPatch = sid();
        const shortenedByIncrement = sid();
        const destroyed = sid();
        const revived = sid();
        const keeper = sid();
        await store.set(viaSet, { a: 1 }, 1);
        await store.patch(viaPatch, { a: 1 }, 1);
        await store.increment(viaIncrement, 'n', 1, 1);
        await store.set(shortenedByPatch, { a: 1 }, 30);
        await store.patch(shortenedByPatch, { b: 2 }, 1);
        await store.set(shortenedByIncrement, { a: 1 }, 30);
        await store.increment(shortenedByIncrement, 'n', 1, 1);
        await store.set(destroyed, { a: 1 }, 1);
        await store.destroy(destroyed);
        await store.set(revived, { old: 'secret' }, 1);
        await store.set(keeper, { k: true }, 30);
        await expect(store.length()).resolves.toBe(7);
        await expect(store.load(destroyed)).resolves.toEqual({ state: 'destroyed' });

        await sleep(1_200);

        for (const id of [viaSet, viaPatch, viaIncrement, shortenedByPatch, shortenedByIncrement, destroyed, revived]) {
          await expect(store.load(id)).resolves.toBeUndefined();
        }
        await expect(store.get(keeper)).resolves.toStrictEqual({ k: true });
        await expect(store.length()).resolves.toBe(1);
        await expect(collect(store.ids())).resolves.toEqual([keeper]);

        // A write after expiry starts a new record: nothing of the expired one comes back.
        await store.patch(revived, { fresh: 1 }, 30);
        await expect(store.get(revived)).resolves.toStrictEqual({ fresh: 1 });
        await expect(store.increment(viaIncrement, 'n', 1, 30)).resolves.toBe(1);
      });

      it('touch extends the TTL of a live session and never creates one', async () => {
        const touched = sid();
        const untouched = sid();
        const missing = sid();
        await store.set(touched, { t: 1 }, 1);
        await store.set(untouched, { u: 1 }, 1);
        await store.touch(touched, 5);
        await store.touch(missing, 5);
        await expect(store.load(missing)).resolves.toBeUndefined();
        await sleep(1_200);
        await expect(store.get(touched)).resolves.toStrictEqual({ t: 1 });
        await expect(store.get(untouched)).resolves.toBeUndefined();
        await expect(store.get(missing)).resolves.toBeUndefined();
        await expect(store.length()).resolves.toBe(1);
      });
    });

    describe('patch', () => {
      it('writes only the given fields and deletes fields mapped to undefined', async () => {
        const id = sid();
        await store.set(id, { a: 1, b: 2, c: { deep: true } });
        await store.patch(id, { b: undefined, d: { when: new Date('2024-05-06T07:08:09.000Z') }, a: 10 }, 30);
        await expect(store.get(id)).resolves.toStrictEqual({ a: 10, c: { deep: true }, d: { when: '2024-05-06T07:08:09.000Z' } });
      });

      it('creates a missing session', async () => {
        const id = sid();
        await store.patch(id, { created: 'yes', list: [1] }, 30);
        await expect(store.get(id)).resolves.toStrictEqual({ created: 'yes', list: [1] });
        await expect(store.length()).resolves.toBe(1);
      });

      it('copies the values it is given', async () => {
        const id = sid();
        const value = { items: ['a'] };
        await store.patch(id, { value }, 30);
        value.items.push('b');
        await expect(store.get(id)).resolves.toStrictEqual({ value: { items: ['a'] } });
      });

      it('50 concurrent patches of different keys all survive', async () => {
        const id = sid();
        await store.set(id, { base: 'kept' }, 30);
        await Promise.all(Array.from({ length: 50 }, (_, i) => store.patch(id, { [`k${i}`]: i }, 30)));
        const expected: Record<string, unknown> = { base: 'kept' };
        for (let i = 0; i < 50; i++) expected[`k${i}`] = i;
        await expect(store.get(id)).resolves.toStrictEqual(expected);
      });

      it('concurrent patches and increments of one session all survive', async () => {
        const id = sid();
        await Promise.all(
          Array.from({ length: 50 }, (_, i) =>
            i % 2 === 0 ? store.patch(id, { [`k${i}`]: `v${i}` }, 30) : store.increment(id, 'counter', 1, 30),
          ),
        );
        const data = await store.get(id);
        expect(data?.counter).toBe(25);
        for (let i = 0; i < 50; i += 2) expect(data?.[`k${i}`]).toBe(`v${i}`);
        expect(Object.keys(data ?? {})).toHaveLength(26);
      });
    });

    describe('increment', () => {
      it('is atomic under 50 concurrent calls: final value 50, each of 1..50 returned once', async () => {
        const id = sid();
        await store.set(id, { other: 'kept' }, 30);
        const results = await Promise.all(Array.from({ length: 50 }, () => store.increment(id, 'visits', 1, 30)));
        expect([...results].sort((x, y) => x - y)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
        await expect(store.get(id)).resolves.toStrictEqual({ other: 'kept', visits: 50 });
      });

      it('counts a missing field (or session) as 0 and adds any finite amount', async () => {
        const id = sid();
        await expect(store.increment(id, 'n', 5, 30)).resolves.toBe(5);
        await expect(store.get(id)).resolves.toStrictEqual({ n: 5 });
        await store.set(id, { text: 'x' }, 30);
        await expect(store.increment(id, 'n', 1, 30)).resolves.toBe(1);
        await expect(store.increment(id, 'n', -3, 30)).resolves.toBe(-2);
        await expect(store.increment(id, 'n', 0.5, 30)).resolves.toBe(-1.5);
        await expect(store.get(id)).resolves.toStrictEqual({ text: 'x', n: -1.5 });
      });

      it("rejects with 'not-a-number' when the field holds something else, changing nothing", async () => {
        const id = sid();
        await store.set(id, { text: '5', object: { n: 1 }, list: [1], flag: true }, 30);
        for (const key of ['text', 'object', 'list', 'flag']) {
          await expectSessionError(() => store.increment(id, key, 1, 30), 'not-a-number');
        }
        await expect(store.get(id)).resolves.toStrictEqual({ text: '5', object: { n: 1 }, list: [1], flag: true });
      });

      it("a field holding null is present, not missing: it rejects with 'not-a-number' too", async () => {
        const id = sid();
        await store.set(id, { nothing: null }, 30);
        await expectSessionError(() => store.increment(id, 'nothing', 1, 30), 'not-a-number');
        await expect(store.get(id)).resolves.toStrictEqual({ nothing: null });
      });
    });

    describe('destroy and tombstones', () => {
      it('leaves a tombstone: load reports it, get is undefined, length() and ids() skip it', async () => {
        const gone = sid();
        const live = sid();
        await store.set(gone, { a: 1 }, 30);
        await store.set(live, { b: 1 }, 30);
        await store.destroy(gone);
        await expect(store.load(gone)).resolves.toEqual({ state: 'destroyed' });
        await expect(store.get(gone)).resolves.toBeUndefined();
        await expect(store.length()).resolves.toBe(1);
        await expect(collect(store.ids())).resolves.toEqual([live]);
        // Destroying again is harmless.
        await store.destroy(gone);
        await expect(store.load(gone)).resolves.toEqual({ state: 'destroyed' });
        await expect(store.length()).resolves.toBe(1);
      });

      it('destroying an id that stored nothing still leaves a tombstone (the id is never adopted again)', async () => {
        const id = sid();
        await store.destroy(id);
        await expect(store.load(id)).resolves.toEqual({ state: 'destroyed' });
        await expect(store.get(id)).resolves.toBeUndefined();
        await expect(store.length()).resolves.toBe(0);
        await expect(collect(store.ids())).resolves.toEqual([]);
      });

      it('patch, increment and touch after destroy do not resurrect the session', async () => {
        const id = sid();
        await store.set(id, { a: 1 }, 30);
        await store.destroy(id);
        await store.patch(id, { late: 'write' }, 30);
        await store.increment(id, 'visits', 1, 30);
        await store.touch(id, 30);
        await expect(store.get(id)).resolves.toBeUndefined();
        await expect(store.load(id)).resolves.toEqual({ state: 'destroyed' });
        await expect(store.length()).resolves.toBe(0);
        await expect(collect(store.ids())).resolves.toEqual([]);
      });

      it('a whole-record set after destroy brings the session back', async () => {
        const id = sid();
        await store.set(id, { a: 1 }, 30);
        await store.destroy(id);
        await store.set(id, { b: 2 }, 30);
        await expect(store.get(id)).resolves.toStrictEqual({ b: 2 });
        const found = await store.load(id);
        expect(found?.state).toBe('active');
        await expect(store.length()).resolves.toBe(1);
        await expect(collect(store.ids())).resolves.toEqual([id]);
        // and it is an ordinary live session again: patch and increment work
        await store.patch(id, { c: 3 }, 30);
        await expect(store.increment(id, 'n', 1, 30)).resolves.toBe(1);
        await expect(store.get(id)).resolves.toStrictEqual({ b: 2, c: 3, n: 1 });
      });
    });

    describe('clear, length, ids', () => {
      it('length counts live sessions and ids() iterates exactly their ids', async () => {
        await expect(store.length()).resolves.toBe(0);
        await expect(collect(store.ids())).resolves.toEqual([]);
        const ids = [sid(), sid(), sid(), sid()];
        await store.set(ids[0]!, { i: 0 }, 30);
        await store.patch(ids[1]!, { i: 1 }, 30);
        await store.increment(ids[2]!, 'i', 2, 30);
        await store.set(ids[3]!, { i: 3 }, 30);
        await store.set(ids[0]!, { i: 'again' }, 30); // rewriting does not count twice
        await expect(store.length()).resolves.toBe(4);
        expect((await collect(store.ids())).sort()).toEqual([...ids].sort());
        await store.destroy(ids[3]!);
        await expect(store.length()).resolves.toBe(3);
        expect((await collect(store.ids())).sort()).toEqual(ids.slice(0, 3).sort());
      });

      it('clear empties the store, tombstones included, and the store stays usable', async () => {
        const a = sid();
        const b = sid();
        const tomb = sid();
        await store.set(a, { a: 1 }, 30);
        await store.patch(b, { b: 1 }, 30);
        await store.set(tomb, { t: 1 }, 30);
        await store.destroy(tomb);
        await store.clear();
        await expect(store.get(a)).resolves.toBeUndefined();
        await expect(store.get(b)).resolves.toBeUndefined();
        await expect(store.load(tomb)).resolves.toBeUndefined();
        await expect(store.length()).resolves.toBe(0);
        await expect(collect(store.ids())).resolves.toEqual([]);
        await store.set(a, { again: true }, 30);
        await expect(store.get(a)).resolves.toStrictEqual({ again: true });
        await expect(store.length()).resolves.toBe(1);
      });
    });

    describe('validation', () => {
      it("rejects ids that are not non-empty strings with 'invalid-id' on every call, storing nothing", async () => {
        for (const bad of [undefined, '', null, 42] as unknown as string[]) {
          await expectSessionError(() => store.load(bad), 'invalid-id');
          await expectSessionError(() => store.get(bad), 'invalid-id');
          await expectSessionError(() => store.set(bad, { a: 1 }, 30), 'invalid-id');
          await expectSessionError(() => store.patch(bad, { a: 1 }, 30), 'invalid-id');
          await expectSessionError(() => store.increment(bad, 'a', 1, 30), 'invalid-id');
          await expectSessionError(() => store.touch(bad, 30), 'invalid-id');
          await expectSessionError(() => store.destroy(bad), 'invalid-id');
        }
        expect(await store.length()).toBe(0);
      });

      it("rejects invalid keys ('__proto__', '') with 'invalid-key' and writes nothing", async () => {
        const id = sid();
        await expectSessionError(() => store.set(id, protoKeyed(), 30), 'invalid-key');
        await expectSessionError(() => store.set(id, { '': 1 }, 30), 'invalid-key');
        await expectSessionError(() => store.set(id, { ok: { nested: 'fine' }, '': 1 }, 30), 'invalid-key');
        await expectSessionError(() => store.patch(id, protoKeyed(), 30), 'invalid-key');
        await expectSessionError(() => store.patch(id, { '': 1 }, 30), 'invalid-key');
        await expectSessionError(() => store.increment(id, '__proto__', 1, 30), 'invalid-key');
        await expectSessionError(() => store.increment(id, '', 1, 30), 'invalid-key');
        await expect(store.load(id)).resolves.toBeUndefined();
        await expect(store.length()).resolves.toBe(0);
        expect(({} as Record<string, unknown>).polluted).toBeUndefined();
      });

      it('a rejected patch leaves the existing record unchanged', async () => {
        const id = sid();
        await store.set(id, { a: 1 }, 30);
        await expectSessionError(() => store.patch(id, { a: 2, '': 3 }, 30), 'invalid-key');
        await expectSessionError(() => store.patch(id, { a: 2, big: BigInt(1) }, 30), 'invalid-value');
        await expect(store.get(id)).resolves.toStrictEqual({ a: 1 });
      });

      it("rejects values that are not JSON-serializable with 'invalid-value'", async () => {
        const id = sid();
        const cyclic: Record<string, unknown> = { name: 'loop' };
        cyclic.self = cyclic;
        await expectSessionError(() => store.set(id, { big: BigInt(10) }, 30), 'invalid-value');
        await expectSessionError(() => store.set(id, { nested: { big: BigInt(10) } }, 30), 'invalid-value');
        await expectSessionError(() => store.set(id, { cyclic }, 30), 'invalid-value');
        await expectSessionError(() => store.patch(id, { big: BigInt(10) }, 30), 'invalid-value');
        await expectSessionError(() => store.patch(id, { cyclic }, 30), 'invalid-value');
        await expect(store.load(id)).resolves.toBeUndefined();
      });

      it("rejects session data that is not a plain record with 'invalid-value'", async () => {
        const id = sid();
        await expectSessionError(() => store.set(id, [1, 2] as unknown as SessionData, 30), 'invalid-value');
        await expectSessionError(() => store.set(id, null as unknown as SessionData, 30), 'invalid-value');
        await expectSessionError(() => store.set(id, 'text' as unknown as SessionData, 30), 'invalid-value');
        await expect(store.load(id)).resolves.toBeUndefined();
      });

      const itStrict = features.strictJson ? it : (): void => undefined;
      itStrict(
        "strictJson: refuses values JSON would silently change, nested or not, with 'invalid-value', changing nothing",
        async () => {
          const id = sid();
          const fresh = sid();
          await store.set(id, { a: 1 }, 30);
          for (const [label, make] of NON_JSON) {
            const viaSet = await expectSessionError(() => store.set(id, { ok: true, bad: make() }, 30), 'invalid-value');
            expect([label, viaSet.message]).toEqual([label, expect.stringContaining('"bad"')]);
            await expectSessionError(() => store.set(fresh, { bad: make() }, 30), 'invalid-value');
            await expectSessionError(() => store.patch(id, { a: 2, bad: make() }, 30), 'invalid-value');
            await expectSessionError(() => store.patch(fresh, { bad: make() }, 30), 'invalid-value');
          }
          await expect(store.get(id)).resolves.toStrictEqual({ a: 1 });
          await expect(store.load(fresh)).resolves.toBeUndefined();
          await expect(store.length()).resolves.toBe(1);
        },
      );

      itStrict('strictJson: stores what toJSON returns (a Date as its ISO string), via set and patch', async () => {
        const id = sid();
        const when = new Date('2024-01-02T03:04:05.678Z');
        const money = { toJSON: () => ({ cents: 1250, currency: 'EUR' }) };
        await store.set(id, { when, money, list: [undefined, when] }, 30);
        await store.patch(id, { later: { at: when } }, 30);
        await expect(store.get(id)).resolves.toStrictEqual({
          when: '2024-01-02T03:04:05.678Z',
          money: { cents: 1250, currency: 'EUR' },
          list: [null, '2024-01-02T03:04:05.678Z'],
          later: { at: '2024-01-02T03:04:05.678Z' },
        });
      });

      it('rejects a non-positive TTL on every write, changing nothing', async () => {
        const id = sid();
        await store.set(id, { a: 1 }, 30);
        for (const ttl of [0, -1]) {
          await expectSessionError(() => store.set(id, { a: 2 }, ttl), 'invalid-value');
          await expectSessionError(() => store.patch(id, { a: 2 }, ttl), 'invalid-value');
          await expectSessionError(() => store.increment(id, 'n', 1, ttl), 'invalid-value');
          await expectSessionError(() => store.touch(id, ttl), 'invalid-value');
        }
        await expect(store.get(id)).resolves.toStrictEqual({ a: 1 });
        const found = await store.load(id);
        if (found?.state === 'active' && found.expiresAt !== undefined) {
          expect(found.expiresAt).toBeGreaterThan(Date.now() + 20_000);
        }
        const fresh = sid();
        await expectSessionError(() => store.patch(fresh, { a: 1 }, 0), 'invalid-value');
        await expectSessionError(() => store.increment(fresh, 'n', 1, -5), 'invalid-value');
        await expect(store.load(fresh)).resolves.toBeUndefined();
      });

      it("defaultTtlSeconds only accepts a positive number ('invalid-option')", () => {
        const before = store.defaultTtlSeconds;
        for (const bad of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) {
          let caught: unknown;
          try {
            store.defaultTtlSeconds = bad;
          } catch (error) {
            caught = error;
          }
          expect(SessionError.is(caught)).toBe(true);
          expect((caught as SessionError).kind).toBe('invalid-option');
          expect((caught as SessionError).option).toBe('defaultTtlSeconds');
        }
        expect(store.defaultTtlSeconds).toBe(before);
      });
    });
  });
}
