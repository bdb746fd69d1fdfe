/**
 * Fake stores that drive the middleware's failure paths: one that rejects every call, one that
 * never answers, one that can be switched between failing and working, and a slow one.
 */
import { SessionStore, type StoredSession } from '../../src/abstract/SessionStore.js';
import type { SessionChanges, SessionData } from '../../src/core/json.js';
import { MemoryStore } from '../../src/stores/MemoryStore.js';

/** The message of every {@link ThrowingStore} rejection includes the id it was asked about. */
export class StoreDown extends Error {
  constructor(method: string, id?: string) {
    super(`store down in ${method}${id === undefined ? '' : ` for ${id}`}`);
    this.name = 'StoreDown';
  }
}

/** Every method rejects (its error message includes the session id, which must never leak). */
export class ThrowingStore extends SessionStore {
  calls: string[] = [];

  #fail(method: string, id?: string): Promise<never> {
    this.calls.push(method);
    return Promise.reject(new StoreDown(method, id));
  }

  load(id: string): Promise<StoredSession | undefined> {
    return this.#fail('load', id);
  }
  set(id: string, _data: SessionData, _ttlSeconds?: number): Promise<void> {
    return this.#fail('set', id);
  }
  destroy(id: string): Promise<void> {
    return this.#fail('destroy', id);
  }
  touch(id: string, _ttlSeconds: number): Promise<void> {
    return this.#fail('touch', id);
  }
  patch(id: string, _changes: SessionChanges, _ttlSeconds: number): Promise<void> {
    return this.#fail('patch', id);
  }
  increment(id: string, _key: string, _by: number, _ttlSeconds: number): Promise<number> {
    return this.#fail('increment', id);
  }
  clear(): Promise<void> {
    return this.#fail('clear');
  }
  length(): Promise<number> {
    return this.#fail('length');
  }
  ids(): AsyncIterable<string> {
    const fail = (): Promise<never> => this.#fail('ids');
    return {
      [Symbol.asyncIterator]: () => ({ next: fail }),
    };
  }
}

/** Every method returns a promise that never settles. */
export class StallingStore extends SessionStore {
  calls: string[] = [];

  #stall<T>(method: string): Promise<T> {
    this.calls.push(method);
    return new Promise<T>(() => {});
  }

  load(_id: string): Promise<StoredSession | undefined> {
    return this.#stall('load');
  }
  set(_id: string, _data: SessionData, _ttlSeconds?: number): Promise<void> {
    return this.#stall('set');
  }
  destroy(_id: string): Promise<void> {
    return this.#stall('destroy');
  }
  touch(_id: string, _ttlSeconds: number): Promise<void> {
    return this.#stall('touch');
  }
  patch(_id: string, _changes: SessionChanges, _ttlSeconds: number): Promise<void> {
    return this.#stall('patch');
  }
  increment(_id: string, _key: string, _by: number, _ttlSeconds: number): Promise<number> {
    return this.#stall('increment');
  }
  clear(): Promise<void> {
    return this.#stall('clear');
  }
  length(): Promise<number> {
    return this.#stall('length');
  }
  ids(): AsyncIterable<string> {
    return { [Symbol.asyncIterator]: () => ({ next: () => this.#stall('ids') }) };
  }
}

/** A working {@link MemoryStore} that rejects every call while `failing` is true. */
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
