import { SessionError } from '../concrete/SessionError.js';
import type { SessionData } from './json.js';

/** Keys no store accepts: writing them to a plain object would change its prototype. */
export function assertKey(key: unknown): asserts key is string {
  if (typeof key !== 'string' || key.length === 0 || key === '__proto__') {
    throw new SessionError('invalid-key', `Session keys must be non-empty strings other than "__proto__"`);
  }
}

/** `JSON.stringify` that turns its failures (BigInt, cycles) into a typed error. */
export function toJson(value: unknown, what: string): string | undefined {
  try {
    return JSON.stringify(value);
  } catch (cause) {
    throw new SessionError('invalid-value', `${what} is not JSON-serializable`, { cause });
  }
}

/** Checks that `data` is a plain record of JSON values and returns its JSON text. */
export function recordToJson(data: unknown): string {
  // Only plain records: a Date, an array or an object with toJSON would not come back as one.
  if (
    Object.prototype.toString.call(data) !== '[object Object]' ||
    typeof (data as { toJSON?: unknown }).toJSON === 'function'
  ) {
    throw new SessionError('invalid-value', 'Session data must be a plain object');
  }
  for (const key of Object.keys(data as object)) assertKey(key);
  return toJson(data, 'Session data') as string;
}

/** Parses a record written by {@link recordToJson} into a fresh object. */
export function recordFromJson(json: string): SessionData {
  return JSON.parse(json) as SessionData;
}
