import type { StoredSession } from './SessionStore.js';
import type { SessionChanges, SessionData } from '../core/json.js';

/**
 * The operations of a store whose work is done by the time the call returns (the in-process
 * `MemoryStore`), callable without promises: the request path then needs no asynchronous hop to
 * open a session, and no held response to store it. Same semantics, checks and errors as the
 * store's public methods (thrown instead of rejected): an implementation checks its arguments
 * with the helpers `SessionStore`'s public methods use (`checkId`, `recordToJson`,
 * `ttlOrDefault`, `checkedChanges`), in the same order.
 * @internal
 */
export interface SyncStoreOps {
  load(id: string): StoredSession | undefined;
  set(id: string, data: SessionData, ttlSeconds: number): void;
  patch(id: string, changes: SessionChanges, ttlSeconds: number): void;
}

/**
 * The key of a store's method that returns its {@link SyncStoreOps}, or `undefined` when it has
 * none (a subclass that overrides a method must see every call).
 * @internal
 */
export const SYNC_OPS = Symbol('swarmauri-middleware-session/syncOps');

/** A store's synchronous operations, when it offers them. */
export function syncOpsOf(store: object): SyncStoreOps | undefined {
  const get = (store as { [SYNC_OPS]?: () => SyncStoreOps | undefined })[SYNC_OPS];
  return typeof get === 'function' ? get.call(store) : undefined;
}
