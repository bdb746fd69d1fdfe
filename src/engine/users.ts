import { isRevoked, type UserSessionEntry } from '../abstract/userIndex.js';
import type { JsonValue } from '../core/json.js';
import { SessionError } from '../core/SessionError.js';
import type { SessionEngine } from './SessionEngine.js';

/** One of a user's live sessions, as `sessionsOf` lists it: nothing in it presents the session. */
export interface UserSession {
  /** The session's stable, non-secret name: pass it to `revoke`. */
  readonly handle: string;
  /** Epoch ms of the login. */
  readonly loggedInAt: number;
  /** Epoch ms of the session's last activity, accurate to `touchAfter`. */
  readonly lastSeenAt: number;
  /** Epoch ms at which the session ends unless used again. */
  readonly expiresAt: number;
  /** The record given at login (by default `{ userAgent }`). */
  readonly meta: JsonValue;
}

/**
 * The user's live sessions, newest login first. The index is a convenience that may lag (an
 * index write lost, a session destroyed meanwhile): every entry is checked against its session
 * in the store (loaded in parallel, so one more round trip) and against the revocation mark.
 */
export async function sessionsOf(engine: SessionEngine, userId: string): Promise<UserSession[]> {
  const index = await engine.call('userIndex', () => engine.store.userIndex(userId));
  const now = Date.now();
  const candidates = index.sessions.filter((entry) => entry.expiresAt > now && !isRevoked(index.revocation, entry.loggedInAt, entry.handle));
  const live = await Promise.all(candidates.map((entry) => engine.call('load', () => engine.store.loadKey(entry.sessionKey))));
  return candidates
    .filter((_, i) => {
      const found = live[i];
      return found?.state === 'active' && (found.expiresAt === undefined || found.expiresAt > now);
    })
    .sort((a, b) => b.loggedInAt - a.loggedInAt)
    .map(({ handle, loggedInAt, lastSeenAt, expiresAt, meta }) => ({ handle, loggedInAt, lastSeenAt, expiresAt, meta }));
}

/** Ends the user's session named `handle`; nothing happens for a handle the user's list does not hold. */
export async function revoke(engine: SessionEngine, userId: string, handle: string): Promise<void> {
  if (typeof handle !== 'string' || handle.length === 0) throw new SessionError('invalid-value', 'revoke needs the handle of one of the user’s sessions');
  // Twice: a request of that session may have moved it to a new id (a regenerate) meanwhile.
  for (let round = 0; round < 2; round++) {
    const index = await engine.call('userIndex', () => engine.store.userIndex(userId));
    const entry = index.sessions.find((candidate) => candidate.handle === handle);
    if (entry === undefined) return;
    await end(engine, [entry]);
    await engine.call('unindex', () => engine.store.unindexSession(userId, handle));
  }
}

/**
 * Ends every session of the user, or all but `except` (a handle, usually the current session's).
 * The store marks the user so that sessions missing from the index end too, on every instance
 * sharing the store; a later login is not affected.
 */
export async function revokeAll(engine: SessionEngine, userId: string, except: string | undefined): Promise<void> {
  if (except !== undefined && (typeof except !== 'string' || except.length === 0)) throw new SessionError('invalid-value', 'except must be a handle');
  const removed = await engine.call('revokeUser', () => engine.store.revokeUser(userId, Date.now(), except));
  await end(engine, removed);
}

async function end(engine: SessionEngine, entries: readonly UserSessionEntry[]): Promise<void> {
  await Promise.all(
    entries.map(async (entry) => {
      await engine.call('destroy', () => engine.store.destroyKey(entry.sessionKey));
    }),
  );
  for (const entry of entries) engine.log.emit('revoked', entry.sessionKey);
}
