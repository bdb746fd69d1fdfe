import { SessionError } from './SessionError.js';
import type { JsonValue, SessionData } from './json.js';

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

/** The session's stable, non-secret name (`Session.handle`). */
export const HANDLE = `${META_PREFIX}handle`;

/** The id of the user the session is logged in as (`Session.login`). */
export const USER_ID = `${META_PREFIX}userId`;

/** Epoch ms of the login. */
export const LOGGED_IN_AT = `${META_PREFIX}loggedInAt`;

/** The small JSON record given at login (by default the user agent). */
export const LOGIN_META = `${META_PREFIX}loginMeta`;

/**
 * One field per flash message (`__session.flash.<time>.<n>`), so messages queued by concurrent
 * requests are separate fields, and reading one request's messages deletes only those fields.
 */
export const FLASH_PREFIX = `${META_PREFIX}flash.`;

/** A flash message as stored: its type and the message. */
export interface FlashEntry {
  readonly type: string;
  readonly message: JsonValue;
}

/** The middleware's fields of a stored record, parsed. */
export interface StoredMeta {
  cookieExpiresAt: number | undefined;
  maxAge: number | undefined;
  handle: string | undefined;
  userId: string | undefined;
  loggedInAt: number | undefined;
  loginMeta: JsonValue | undefined;
  /** Flash messages by field name (the names sort in the order they were queued); `undefined` when none. */
  flashes: Map<string, FlashEntry> | undefined;
}

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

const finite = (value: unknown): number | undefined => (typeof value === 'number' && Number.isFinite(value) ? value : undefined);
const text = (value: unknown): string | undefined => (typeof value === 'string' && value.length > 0 ? value : undefined);

/** Splits a stored record into the application's data and the middleware's fields (in place: `data` is a fresh copy). */
export function takeMeta(data: SessionData): StoredMeta {
  const meta: StoredMeta = {
    cookieExpiresAt: undefined,
    maxAge: undefined,
    handle: undefined,
    userId: undefined,
    loggedInAt: undefined,
    loginMeta: undefined,
    flashes: undefined,
  };
  for (const key in data) {
    if (!isMetaKey(key)) continue;
    const value = data[key];
    delete data[key];
    if (key === COOKIE_EXPIRES_AT) meta.cookieExpiresAt = finite(value);
    else if (key === MAX_AGE) meta.maxAge = (finite(value) ?? 0) > 0 ? (value as number) : undefined;
    else if (key === HANDLE) meta.handle = text(value);
    else if (key === USER_ID) meta.userId = text(value);
    else if (key === LOGGED_IN_AT) meta.loggedInAt = finite(value);
    else if (key === LOGIN_META) meta.loginMeta = value as JsonValue;
    else if (key.startsWith(FLASH_PREFIX)) {
      const entry = value as { type?: unknown; message?: unknown } | null;
      if (typeof entry === 'object' && entry !== null && typeof entry.type === 'string' && entry.message !== undefined) {
        (meta.flashes ??= new Map()).set(key, { type: entry.type, message: entry.message as JsonValue });
      }
    }
  }
  return meta;
}
