import { SessionError } from './SessionError.js';
import type { SessionData } from './json.js';

/**
 * Fields the middleware keeps in a stored session beside the application's data. They travel
 * with the record through every store (so every instance sharing the store sees them) and are
 * hidden from the application: `Session` never shows them and `SessionStore.get` strips them.
 */
export const META_PREFIX = '__session.';

/** Epoch ms at which the session cookie the client holds runs out (when it was last sent). */
export const COOKIE_EXPIRES_AT = `${META_PREFIX}cookieExpiresAt`;

/** The session's own idle lifetime in seconds, when `Session.setMaxAge` gave it one ("remember me"). */
export const MAX_AGE = `${META_PREFIX}maxAge`;

/** True for the middleware's own fields. */
export function isMetaKey(key: string): boolean {
  return key.startsWith(META_PREFIX);
}

/** Refuses application keys in the middleware's namespace, so no app write can forge them. */
export function assertAppKey(key: string): void {
  if (typeof key === 'string' && isMetaKey(key)) {
    throw new SessionError('invalid-key', `Session keys starting with "${META_PREFIX}" are reserved`);
  }
}

/** Splits a stored record into the application's data and the middleware's fields (in place: `data` is a fresh copy). */
export function takeMeta(data: SessionData): { cookieExpiresAt: number | undefined; maxAge: number | undefined } {
  let cookieExpiresAt: number | undefined;
  let maxAge: number | undefined;
  for (const key in data) {
    if (!isMetaKey(key)) continue;
    const value = data[key];
    if (key === COOKIE_EXPIRES_AT && typeof value === 'number' && Number.isFinite(value)) cookieExpiresAt = value;
    else if (key === MAX_AGE && typeof value === 'number' && Number.isFinite(value) && value > 0) maxAge = value;
    delete data[key];
  }
  return { cookieExpiresAt, maxAge };
}
