/**
 * Stores that fail on purpose, to drive the middleware's failure paths.
 *
 * The one tool is {@link faulty}: a decorator that wraps any real store (MemoryStore, RedisStore,
 * the express-session adapter, ...) and injects a fault into the calls that reach it: a
 * rejection, a call that never answers, or one that answers late; on every call or only every
 * Nth (flaky), switched on and off at will (an outage and its end). Everything else goes to the
 * wrapped store, so what the store holds is real data, written by real calls. The failure battery
 * (tests/contract/failureContract.ts) runs on it against every store.
 *
 * `ThrowingStore` is a preset of it; `FlakyStore` and `SlowWriteStore` stay `MemoryStore`
 * subclasses because tests elsewhere type them as `MemoryStore`.
 */
import { SessionStore, type StoredSession } from '../../src/abstract/SessionStore.js';
import type { SessionChanges, SessionData } from '../../src/core/json.js';
import { MemoryStore } from '../../src/stores/MemoryStore.js';

/** The message of every injected rejection includes the id it was asked about (which must never leak). */
export class StoreDown extends Error {
  constructor(method: string, id?: string) {
    super(`store down in ${method}${id === undefined ? '' : ` for ${id}`}`);
    this.name = 'StoreDown';
  }
}

/** The store operations, by the name of the public method. */
export type StoreOperation = 'load' | 'set' | 'destroy' | 'touch' | 'patch' | 'increment' | 'clear' | 'length' | 'ids';

/** The operations that change a session. */
export const WRITES: readonly StoreOperation[] = ['set', 'destroy', 'touch', 'patch', 'increment'];

/** What {@link FaultyStore} does to the calls its fault hits. */
export interface Fault {
  /**
   * - `throw`: reject with a {@link StoreDown} (the wrapped store is not called);
   * - `stall`: never answer (the wrapped store is not called);
   * - `delay`: wait `delayMs`, then pass the call on (a slow store: the call lands late).
   */
  readonly mode: 'throw' | 'stall' | 'delay';
  /** The operations it hits; all when omitted. */
  readonly ops?: readonly StoreOperation[];
  /** Flaky: only every `every`-th call among those it could hit (counted from when the fault was set). @defaultValue 1 */
  readonly every?: number;
  /** For `delay`: milliseconds before the call is passed on. @defaultValue 200 */
  readonly delayMs?: number;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * A store that forwards every primitive to a real store through its public API, except the calls
 * its current {@link FaultyStore.fault} hits. Being a `SessionStore` itself, its arguments are
 * checked by the base before they get here, as for any store. `fault` can be changed at any time
 * (`undefined`: healthy).
 */
export class FaultyStore extends SessionStore {
  /** Every call that reached the store, in order. */
  readonly calls: StoreOperation[] = [];
  /** The calls the fault hit. */
  readonly faulted: StoreOperation[] = [];
  /** Calls passed on to the wrapped store, per operation. */
  readonly passed: Record<StoreOperation, number> = { load: 0, set: 0, destroy: 0, touch: 0, patch: 0, increment: 0, clear: 0, length: 0, ids: 0 };
  /** Calls of those that the wrapped store has answered (resolved or rejected), per operation. */
  readonly answered: Record<StoreOperation, number> = { load: 0, set: 0, destroy: 0, touch: 0, patch: 0, increment: 0, clear: 0, length: 0, ids: 0 };
  #fault: Fault | undefined;
  /** Calls the current fault could hit so far (for `every`). */
  #eligible = 0;

  constructor(
    readonly inner: SessionStore,
    fault?: Fault,
  ) {
    super();
    this.fault = fault;
  }

  /** The fault now in force; setting one (or `undefined`, to heal) restarts the `every` count. */
  get fault(): Fault | undefined {
    return this.#fault;
  }

  set fault(fault: Fault | undefined) {
    if (fault?.every !== undefined && !(Number.isInteger(fault.every) && fault.every >= 1)) throw new Error('every must be a positive integer');
    this.#fault = fault;
    this.#eligible = 0;
  }

  /** The wrapped store's default TTL (the middleware sets it through the wrapper). */
  override get defaultTtlSeconds(): number {
    return this.inner.defaultTtlSeconds;
  }

  override set defaultTtlSeconds(seconds: number) {
    this.inner.defaultTtlSeconds = seconds;
  }

  /** Closes the wrapped store. */
  override close(): void | Promise<void> {
    return this.inner.close();
  }

  protected loadSession(id: string): Promise<StoredSession | undefined> {
    return this.#through('load', id, () => this.inner.load(id));
  }

  protected writeSession(id: string, json: string, ttlSeconds: number): Promise<void> {
    return this.#through('set', id, () => this.inner.set(id, JSON.parse(json) as SessionData, ttlSeconds));
  }

  protected destroySession(id: string): Promise<void> {
    return this.#through('destroy', id, () => this.inner.destroy(id));
  }

  protected touchSession(id: string, ttlSeconds: number): Promise<void> {
    return this.#through('touch', id, () => this.inner.touch(id, ttlSeconds));
  }

  protected patchSession(id: string, changes: ReadonlyArray<readonly [key: string, json: string | undefined]>, ttlSeconds: number): Promise<void> {
    const values: SessionChanges = {};
    for (const [key, json] of changes) values[key] = json === undefined ? undefined : JSON.parse(json);
    return this.#through('patch', id, () => this.inner.patch(id, values, ttlSeconds));
  }

  protected incrementField(id: string, key: string, by: number, ttlSeconds: number): Promise<number> {
    return this.#through('increment', id, () => this.inner.increment(id, key, by, ttlSeconds));
  }

  protected clearSessions(): Promise<void> {
    return this.#through('clear', undefined, () => this.inner.clear());
  }

  protected countSessions(): Promise<number> {
    return this.#through('length', undefined, () => this.inner.length());
  }

  protected async *sessionIds(): AsyncIterable<string> {
    const ids = await this.#through('ids', undefined, async () => this.inner.ids());
    yield* ids;
  }

  /** Runs `call` on the wrapped store, unless the fault hits it. */
  async #through<T>(op: StoreOperation, id: string | undefined, call: () => Promise<T>): Promise<T> {
    this.calls.push(op);
    const fault = this.#fault;
    if (fault && (fault.ops === undefined || fault.ops.includes(op)) && ++this.#eligible % (fault.every ?? 1) === 0) {
      this.faulted.push(op);
      if (fault.mode === 'throw') throw new StoreDown(op, id);
      if (fault.mode === 'stall') return new Promise<T>(() => {});
      await sleep(fault.delayMs ?? 200);
    }
    this.passed[op]++;
    try {
      return await call();
    } finally {
      this.answered[op]++;
    }
  }
}

/** Wraps `inner` in a {@link FaultyStore}, healthy until a fault is set (or with `fault` from the start). */
export function faulty(inner: SessionStore, fault?: Fault): FaultyStore {
  return new FaultyStore(inner, fault);
}

/** A store whose every call rejects (a {@link FaultyStore} over an empty MemoryStore). */
export class ThrowingStore extends FaultyStore {
  constructor() {
    super(new MemoryStore({ sweepIntervalSeconds: 0 }), { mode: 'throw' });
  }
}

/** A working {@link MemoryStore} that rejects every session call while `failing` is true. */
export class FlakyStore extends MemoryStore {
  failing = false;

  constructor() {
    super({ sweepIntervalSeconds: 0 });
  }

  #guard(method: string, id?: string): void {
    if (this.failing) throw new StoreDown(method, id);
  }

  override async load(id: string): Promise<StoredSession | undefined> {
    this.#guard('load', id);
    return super.load(id);
  }
  override async set(id: string, data: SessionData, ttlSeconds?: number): Promise<void> {
    this.#guard('set', id);
    return super.set(id, data, ttlSeconds);
  }
  override async destroy(id: string): Promise<void> {
    this.#guard('destroy', id);
    return super.destroy(id);
  }
  override async touch(id: string, ttlSeconds: number): Promise<void> {
    this.#guard('touch', id);
    return super.touch(id, ttlSeconds);
  }
  override async patch(id: string, changes: SessionChanges, ttlSeconds: number): Promise<void> {
    this.#guard('patch', id);
    return super.patch(id, changes, ttlSeconds);
  }
  override async increment(id: string, key: string, by: number, ttlSeconds: number): Promise<number> {
    this.#guard('increment', id);
    return super.increment(id, key, by, ttlSeconds);
  }
}

/** A {@link MemoryStore} whose writes (`patch`, `set`, `increment`) wait `delayMs` before happening. */
export class SlowWriteStore extends MemoryStore {
  constructor(readonly delayMs = 200) {
    super({ sweepIntervalSeconds: 0 });
  }

  #wait(): Promise<void> {
    return new Promise((resolve) => setTimeout(resolve, this.delayMs));
  }

  override async patch(id: string, changes: SessionChanges, ttlSeconds: number): Promise<void> {
    await this.#wait();
    return super.patch(id, changes, ttlSeconds);
  }
  override async set(id: string, data: SessionData, ttlSeconds?: number): Promise<void> {
    await this.#wait();
    return super.set(id, data, ttlSeconds);
  }
  override async increment(id: string, key: string, by: number, ttlSeconds: number): Promise<number> {
    await this.#wait();
    return super.increment(id, key, by, ttlSeconds);
  }
}
