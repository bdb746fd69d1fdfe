import { injectable } from 'inversify';
import { MemoryStore, type MemoryStoreOptions, type SessionChanges, type SessionData, type StoredSession } from '../../src/index.js';

/** One recorded store call. */
export interface RecordedCall {
  method: 'load' | 'set' | 'destroy' | 'touch' | 'patch' | 'increment';
  id: string;
  /** The TTL the caller passed (`undefined` for a `set` without one). */
  ttlSeconds?: number | undefined;
}

/**
 * A MemoryStore that records every call made to it, for tests that need to see which store a
 * middleware really uses (for example after an Inversify rebinding). No sweep timer by default.
 */
@injectable()
export class RecordingStore extends MemoryStore {
  readonly calls: RecordedCall[] = [];

  constructor(options: MemoryStoreOptions = {}) {
    super({ sweepIntervalSeconds: 0, ...options });
  }

  /** The calls of one method. */
  callsOf(method: RecordedCall['method']): RecordedCall[] {
    return this.calls.filter((call) => call.method === method);
  }

  override load(id: string): Promise<StoredSession | undefined> {
    this.calls.push({ method: 'load', id });
    return super.load(id);
  }

  override set(id: string, data: SessionData, ttlSeconds?: number): Promise<void> {
    this.calls.push({ method: 'set', id, ttlSeconds });
    return super.set(id, data, ttlSeconds);
  }

  override destroy(id: string): Promise<void> {
    this.calls.push({ method: 'destroy', id });
    return super.destroy(id);
  }

  override touch(id: string, ttlSeconds: number): Promise<void> {
    this.calls.push({ method: 'touch', id, ttlSeconds });
    return super.touch(id, ttlSeconds);
  }

  override patch(id: string, changes: SessionChanges, ttlSeconds: number): Promise<void> {
    this.calls.push({ method: 'patch', id, ttlSeconds });
    return super.patch(id, changes, ttlSeconds);
  }

  override increment(id: string, key: string, by: number, ttlSeconds: number): Promise<number> {
    this.calls.push({ method: 'increment', id, ttlSeconds });
    return super.increment(id, key, by, ttlSeconds);
  }
}
