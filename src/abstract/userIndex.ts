import type { JsonValue } from '../core/json.js';
import { SessionError } from '../core/SessionError.js';

/** One logged-in session in its user's index. */
export interface UserSessionEntry {
  /** The session's stable, non-secret name (`Session.handle`): the index's key. */
  readonly handle: string;
  /**
   * The key the store files the session under (`SessionStore.keyFor`): a revocation ends the
   * session through it, and with hashed ids it is no id a client could present.
   */
  readonly sessionKey: string;
  /** Epoch ms of the login. */
  readonly loggedInAt: number;
  /** Epoch ms of the session's last activity, accurate to `touchAfter`. */
  readonly lastSeenAt: number;
  /** Epoch ms at which the session runs out unless used again. */
  readonly expiresAt: number;
  /** The JSON record given at login (by default `{ userAgent }`). */
  readonly meta: JsonValue;
}

/**
 * A user's revocation mark: every session of the user logged in before `before` is revoked,
 * except the one named `spared` (the session that asked for `revokeAll({ except })`).
 */
export interface UserRevocation {
  /** Epoch ms: sessions logged in earlier are revoked. */
  readonly before: number;
  /** The handle of the session spared by the last `revokeAll`, if any. */
  readonly spared: string | undefined;
}

/** What a store holds for a user: the indexed sessions (live ones) and the revocation mark. */
export interface UserIndex {
  /** Live entries, in no particular order. */
  readonly sessions: UserSessionEntry[];
  /** The mark of the last `revokeAll`, while it matters. */
  readonly revocation: UserRevocation | undefined;
}

/** Most sessions indexed per user; a login beyond it drops the entries that expire first. */
export const MAX_USER_SESSIONS = 100;

/**
 * How long a revocation mark is kept, in seconds: as long as a session logged in before it
 * could still be presented (400 days, the longest lifetime a session can be given).
 */
export const REVOCATION_TTL_SECONDS = 400 * 24 * 3600;

/** True when `revocation` ends a session of its user that logged in at `loggedInAt` and is named `handle`. */
export function isRevoked(revocation: UserRevocation | undefined, loggedInAt: number | undefined, handle: string | undefined): boolean {
  if (revocation === undefined) return false;
  if (handle !== undefined && handle === revocation.spared) return false;
  return loggedInAt === undefined || loggedInAt < revocation.before;
}

/** Rejects user ids that are not non-empty strings of at most 256 characters. */
export function checkUserId(userId: unknown): asserts userId is string {
  if (typeof userId !== 'string' || userId.length === 0 || userId.length > 256) {
    throw new SessionError('invalid-value', 'User ids must be non-empty strings of at most 256 characters');
  }
}

/** Rejects an entry that is not well-formed (the store keeps it as JSON). */
export function checkEntry(entry: UserSessionEntry): void {
  const ok =
    typeof entry === 'object' &&
    entry !== null &&
    typeof entry.handle === 'string' &&
    entry.handle.length > 0 &&
    entry.handle.length <= 64 &&
    typeof entry.sessionKey === 'string' &&
    entry.sessionKey.length > 0 &&
    [entry.loggedInAt, entry.lastSeenAt, entry.expiresAt].every((time) => typeof time === 'number' && Number.isFinite(time));
  if (!ok) throw new SessionError('invalid-value', 'A user index entry needs a handle, a session id and finite times');
}

/** The error of a store that keeps no user index. */
export function noUserIndex(store: object): SessionError {
  return new SessionError('unsupported', `${store.constructor.name} keeps no user index: sessionsOf, revoke and revokeAll need a store that implements the user-index primitives (MemoryStore, RedisStore, ExpressSessionStoreAdapter)`);
}
