import type { SessionStore } from '../abstract/SessionStore.js';
import type { EventLog } from './logger.js';

/**
 * What a {@link Session} needs from the middleware that made it.
 * @internal
 */
export interface SessionRuntime {
  readonly store: SessionStore;
  readonly log: EventLog;
  /** Milliseconds a session that stored nothing lives after its start, and the idle timeout. */
  readonly maxAgeMs: number;
  /** Milliseconds between TTL refreshes of an unchanged session. */
  readonly touchAfterMs: number;
  /** Runs one store call, bounded by `storeTimeout`, failures turned into `SessionError`s. */
  call<T>(what: string, op: () => Promise<T>): Promise<T>;
  /** The TTL of a write now: `maxAge`, cut short by the absolute timeout. */
  ttlSeconds(startedAt: number | undefined, now: number): number;
  /** A new signed id for a session that began at `startedAt`. */
  issueId(startedAt: number): string;
  /** The store's synchronous operations, when it has them (`MemoryStore`). */
  readonly sync: import('./syncStore.js').SyncStoreOps | undefined;
  /** Largest session, in bytes of JSON. */
  readonly maxSessionBytes: number;
  /** The session cookie transport is on. */
  readonly cookieTransport: boolean;
  /** Notes that `id` was regenerated or destroyed: responses in flight must not send it again. */
  ended(id: string): void;
  /** True when this process saw `id` regenerated or destroyed recently. */
  hasEnded(id: string): boolean;
}
