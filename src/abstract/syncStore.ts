import type { StoredSession } from './SessionStore.js';
import type { UserRevocation } from './userIndex.js';
import type { SessionChanges, SessionData } from '../core/json.js';

/**
 * The operations of a store whose work is done by the time the call returns (the in-process
 * `MemoryStore`), callable without promises: the request path then needs no asynchronous hop to
 * open a session, and no held response to store it. Same semantics, checks and errors as the
 * store's public methods (thrown instead of rejected): an implementation checks its arguments
 * with the helpers `SessionStore`'s public methods use (`checkId`, `recordToJson`,
 * `ttlOrDefault`, `checkedChanges`), in the same order.
 */
export interface SyncStoreOps {
  /** As `SessionStore.load`. */
  load(id: string): StoredSession | undefined;
  /** As `SessionStore.set`. */
  set(id: string, data: SessionData, ttlSeconds: number): void;
  /** As `SessionStore.patch`. */
  patch(id: string, changes: SessionChanges, ttlSeconds: number): void;
  /**
   * As `SessionStore.userRevocation`: the user's revocation mark (a fresh object), or `undefined`
   * when there is none; throws `invalid-value` for a user id `checkUserId` refuses. Every store
   * that offers synchronous operations offers this one (a store that could not answer it
   * synchronously must offer none: the request path reads the mark on every logged-in request).
   */
  revocation(userId: string): UserRevocation | undefined;
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
