import { SessionError } from './SessionError.js';
import type { SessionData } from './json.js';

/** Keys no store accepts: writing them to a plain object would change its prototype. */
export function assertKey(key: unknown): asserts key is string {
  if (typeof key !== 'string' || key.length === 0 || key === '__proto__') {
    throw new SessionError('invalid-key', `Session keys must be non-empty strings other than "__proto__"`);
  }
}

/**
 * Checks that `value` is JSON data and returns its JSON text (`JSON.stringify(value)`), or
 * throws a `SessionError` of kind `invalid-value` whose message starts with `what` and names
 * the path of the offending part: `Value of "cart" at items[2].when is a Map`.
 *
 * Refused, at any depth: `Map`, `Set`, `WeakMap`, `WeakSet`, `RegExp`, `Error`, typed arrays,
 * `ArrayBuffer`, `Promise`, boxed primitives and every other object that is neither an array nor
 * a plain object (prototype `Object.prototype` or `null`) and has no `toJSON` method (JSON would
 * store `{}` for them); functions and symbols (JSON would drop them from objects and turn them
 * into `null` in arrays); BigInt; `NaN` and `±Infinity` (JSON would store `null`); cycles.
 *
 * Allowed, with JSON's own semantics: `null`, booleans, strings, finite numbers, arrays, plain
 * objects (null-prototype ones too); `undefined` as an object field (the field is dropped) or as
 * an array element (it becomes `null`); objects with a `toJSON` method, stored as what `toJSON`
 * returns, which is checked in turn: a `Date` is stored as its ISO string and comes back as that
 * string (an invalid `Date`, which JSON would store as `null`, is refused), and a Node `Buffer`
 * as `{ "type": "Buffer", "data": [...] }`. A `toJSON` other than
 * `Date`'s is called twice (by the check, then by `JSON.stringify`), so it must be pure. A shared
 * (not circular) object is fine: it is written once per reference. Symbol-keyed and
 * non-enumerable properties are ignored, as JSON ignores them.
 *
 * Returns `undefined` (as `JSON.stringify` does) when `value` itself is `undefined` or has a
 * `toJSON` that returns `undefined`; callers decide what that means.
 */
export function toJson(value: unknown, what: string): string | undefined {
  const refusal = checked(() => check(value, '', []), what);
  if (refusal) throw refused(what, refusal);
  return JSON.stringify(value);
}

/**
 * Checks that `data` is a plain record with valid keys (see {@link assertKey}) whose values are
 * JSON data (see {@link toJson}; a field holding `undefined` is dropped), and returns its JSON
 * text.
 */
export function recordToJson(data: unknown): string {
  // Only plain records: a Date, an array or an object with toJSON would not come back as one.
  if (
    typeof data !== 'object' ||
    data === null ||
    Array.isArray(data) ||
    !isPlainObject(data) ||
    typeof (data as { toJSON?: unknown }).toJSON === 'function'
  ) {
    throw new SessionError('invalid-value', 'Session data must be a plain object');
  }
  const record = data as Record<string, unknown>;
  const keys = Object.keys(record);
  for (const key of keys) assertKey(key);
  const stack: object[] = [record];
  for (const key of keys) {
    const what = `Value of "${key}"`;
    const refusal = checked(() => check(record[key], key, stack), what);
    if (refusal) throw refused(what, refusal);
  }
  return JSON.stringify(record);
}

/** Parses a record written by {@link recordToJson} into a fresh object. */
export function recordFromJson(json: string): SessionData {
  return JSON.parse(json) as SessionData;
}

/** Why a value was refused, and where: `path` is built while the check unwinds. */
interface Refusal {
  path: string;
  readonly reason: string;
}

const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;
const DATE_TO_JSON = Date.prototype.toJSON;

function refused(what: string, refusal: Refusal): SessionError {
  const path = refusal.path.startsWith('.') ? refusal.path.slice(1) : refusal.path;
  return new SessionError('invalid-value', `${what}${path ? ` at ${path}` : ''} ${refusal.reason}`);
}

/** Runs a check, turning what a `toJSON` or a getter throws (or a stack overflow) into a SessionError. */
function checked(run: () => Refusal | undefined, what: string): Refusal | undefined {
  try {
    return run();
  } catch (cause) {
    if (SessionError.is(cause)) throw cause;
    throw new SessionError('invalid-value', `${what} is not JSON-serializable`, { cause });
  }
}

/**
 * Walks `value` as `JSON.stringify` would (`key` is what its `toJSON` is called with; `stack`
 * holds the enclosing objects, for cycles) and returns why it cannot be stored, or `undefined`.
 */
function check(value: unknown, key: string, stack: object[]): Refusal | undefined {
  switch (typeof value) {
    case 'string':
    case 'boolean':
    case 'undefined':
      return undefined;
    case 'number':
      return Number.isFinite(value) ? undefined : { path: '', reason: `is ${String(value)} (JSON would store null)` };
    case 'object':
      if (value === null) return undefined;
      if (typeof (value as { toJSON?: unknown }).toJSON === 'function') {
        // Fast path: a Date's own toJSON gives its ISO string, or null for an invalid date.
        if (value instanceof Date && value.toJSON === DATE_TO_JSON) {
          return Number.isNaN(value.getTime()) ? { path: '', reason: 'is an invalid Date (JSON would store null)' } : undefined;
        }
        return checkJsonResult(value, key, stack);
      }
      return checkObject(value, stack, '');
    case 'bigint':
      if (typeof (value as { toJSON?: unknown }).toJSON === 'function') return checkJsonResult(value, key, stack);
      return { path: '', reason: 'is a BigInt' };
    case 'function':
      return { path: '', reason: 'is a function' };
    case 'symbol':
      return { path: '', reason: 'is a symbol' };
  }
  return { path: '', reason: `is a ${typeof value}` };
}

/** Checks what `value.toJSON(key)` returns; JSON does not call a `toJSON` of that result. */
function checkJsonResult(value: unknown, key: string, stack: object[]): Refusal | undefined {
  const result: unknown = (value as { toJSON: (key: string) => unknown }).toJSON(key);
  if (typeof result === 'object' && result !== null) return checkObject(result, stack, ' (returned by its toJSON)');
  const refusal = check(result, key, stack);
  if (refusal) return { path: refusal.path, reason: `${refusal.reason} (returned by its toJSON)` };
  return undefined;
}

function checkObject(value: object, stack: object[], note: string): Refusal | undefined {
  if (stack.includes(value)) return { path: '', reason: `is a circular reference${note}` };
  let refusal: Refusal | undefined;
  stack.push(value);
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      refusal = check(value[i], String(i), stack);
      if (refusal) {
        refusal.path = `[${i}]${refusal.path}`;
        break;
      }
    }
  } else if (isPlainObject(value)) {
    const record = value as Record<string, unknown>;
    const keys = Object.keys(record);
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i] as string;
      refusal = check(record[key], key, stack);
      if (refusal) {
        refusal.path = `${IDENTIFIER.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`}${refusal.path}`;
        break;
      }
    }
  } else {
    refusal = { path: '', reason: `${describeObject(value)}${note}` };
  }
  stack.pop();
  return refusal;
}

/**
 * A plain object: its prototype is `Object.prototype` or `null`, or (an object from another
 * realm, such as a `vm` context) a root prototype, as long as it is not tagged as something else.
 */
function isPlainObject(value: object): boolean {
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto === Object.prototype || proto === null) return true;
  return Object.getPrototypeOf(proto) === null && Object.prototype.toString.call(value) === '[object Object]';
}

/** `is a Map`, `is an Error`, `is a Uint8Array`, `is a User`, for an object JSON would store as `{}`. */
function describeObject(value: object): string {
  let name: unknown;
  try {
    name = (Object.getPrototypeOf(value) as { constructor?: { name?: unknown } }).constructor?.name;
  } catch {
    name = undefined;
  }
  if (typeof name !== 'string' || name === '') name = Object.prototype.toString.call(value).slice(8, -1);
  const label = name === 'Object' ? 'an object with a custom prototype and no toJSON method' : `${/^[AEIO]/.test(name as string) ? 'an' : 'a'} ${name as string}`;
  return `is ${label}`;
}
