/**
 * What the stores share to keep user indexes (see `SessionStore.indexSession`): how an entry and a
 * revocation mark are written down, how a user id becomes part of a key, and the pruning rule
 * (expired entries go on every write; past {@link MAX_USER_SESSIONS}, the entries that expire
 * first go, never the one being written).
 * @internal
 */
import { MAX_USER_SESSIONS, REVOCATION_TTL_SECONDS, type UserRevocation, type UserSessionEntry } from '../abstract/userIndex.js';
import type { JsonValue } from '../core/json.js';
import { toJson } from '../core/serialize.js';

/**
 * A revocation mark as a store keeps it: the mark, and the epoch ms until which it is kept
 * (its time of writing plus {@link REVOCATION_TTL_SECONDS}).
 * @internal
 */
export interface StoredRevocation {
  /** As {@link UserRevocation.before}. */
  readonly before: number;
  /** As {@link UserRevocation.spared}. */
  readonly spared?: string | undefined;
  /** Epoch ms at which the mark is dropped. */
  readonly expiresAt: number;
}

/** Lone UTF-16 surrogates, which UTF-8 cannot carry (they would all become U+FFFD). */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * A user id as a key part: base64url of its UTF-8 (no glob characters, no `{`/`}` hash tags, no
 * separators), or, for an id that UTF-8 cannot carry (a lone surrogate), `~` and base64url of its
 * UTF-16 code units. One-to-one over all strings (`~` is not a base64url character).
 * @internal
 */
export function encodeUserId(userId: string): string {
  if (LONE_SURROGATE.test(userId)) return `~${Buffer.from(userId, 'utf16le').toString('base64url')}`;
  return Buffer.from(userId, 'utf8').toString('base64url');
}

/**
 * An entry as JSON text, with only its own fields and `expiresAt` first (the Redis scripts read
 * the expiry off the front of the text). Refuses a `meta` that is not JSON (`invalid-value`).
 * @internal
 */
export function entryToJson(entry: UserSessionEntry): string {
  const meta = toJson(entry.meta ?? null, 'The meta of a user index entry') ?? 'null';
  return (
    `{"expiresAt":${JSON.stringify(entry.expiresAt)},"loggedInAt":${JSON.stringify(entry.loggedInAt)},` +
    `"lastSeenAt":${JSON.stringify(entry.lastSeenAt)},"handle":${JSON.stringify(entry.handle)},` +
    `"sessionKey":${JSON.stringify(entry.sessionKey)},"meta":${meta}}`
  );
}

/** True for a finite number. */
function isTime(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value);
}

/** A stored record as an object: parsed when it is JSON text; `undefined` when it is not an object. */
function storedObject(stored: unknown): Record<string, unknown> | undefined {
  let value = stored;
  if (typeof value === 'string') {
    try {
      value = JSON.parse(value);
    } catch {
      return undefined;
    }
  }
  return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : undefined;
}

/**
 * An entry read back (from JSON text or a stored object): a fresh object with the fields of
 * {@link UserSessionEntry}, or `undefined` when it is not one.
 * @internal
 */
export function entryFrom(stored: unknown): UserSessionEntry | undefined {
  const fields = storedObject(stored);
  if (fields === undefined) return undefined;
  const { handle, sessionKey, loggedInAt, lastSeenAt, expiresAt } = fields;
  if (typeof handle !== 'string' || handle === '' || typeof sessionKey !== 'string' || sessionKey === '') return undefined;
  if (!isTime(loggedInAt) || !isTime(lastSeenAt) || !isTime(expiresAt)) return undefined;
  const meta = fields.meta === undefined ? null : (JSON.parse(JSON.stringify(fields.meta)) as JsonValue);
  return { handle, sessionKey, loggedInAt, lastSeenAt, expiresAt, meta };
}

/**
 * A stored mark read back (from JSON text or a stored object), or `undefined` when it is not one
 * or has run out.
 * @internal
 */
export function revocationFrom(stored: unknown, now: number): StoredRevocation | undefined {
  const fields = storedObject(stored);
  if (fields === undefined) return undefined;
  const { before, spared, expiresAt } = fields;
  if (!isTime(before) || !isTime(expiresAt) || expiresAt <= now) return undefined;
  return { before, spared: typeof spared === 'string' && spared !== '' ? spared : undefined, expiresAt };
}

/** The public form of a stored mark: `{ before, spared }`, always with both keys. */
export function publicRevocation(mark: StoredRevocation | undefined): UserRevocation | undefined {
  return mark === undefined ? undefined : { before: mark.before, spared: mark.spared };
}

/** The mark a revocation at `now` writes: kept {@link REVOCATION_TTL_SECONDS} from now. */
export function newRevocation(revocation: UserRevocation, now: number): StoredRevocation {
  return { before: revocation.before, spared: revocation.spared, expiresAt: now + REVOCATION_TTL_SECONDS * 1000 };
}

/**
 * The pruning rule, for stores that keep entries in JavaScript: of `entries` (keyed by handle),
 * the handles to drop, that is every expired one, then, while more than {@link MAX_USER_SESSIONS}
 * remain, those that expire first (ties by handle), never `keep`.
 * @internal
 */
export function handlesToDrop(entries: Iterable<readonly [handle: string, expiresAt: number]>, now: number, keep?: string): string[] {
  const drop: string[] = [];
  const live: Array<readonly [string, number]> = [];
  let kept = false;
  for (const entry of entries) {
    if (entry[1] <= now && entry[0] !== keep) drop.push(entry[0]);
    else if (entry[0] === keep) kept = true;
    else live.push(entry);
  }
  const excess = live.length + (kept ? 1 : 0) - MAX_USER_SESSIONS;
  if (excess > 0) {
    live.sort((a, b) => a[1] - b[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    for (let i = 0; i < excess; i++) drop.push((live[i] as readonly [string, number])[0]);
  }
  return drop;
}
