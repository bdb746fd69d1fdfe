/**
 * A value that survives `JSON.stringify` / `JSON.parse` unchanged: what every store can hold.
 */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/**
 * The data of one session: a record of JSON-serializable values keyed by field name.
 * Every store gives these values JSON semantics (a `Date` comes back as its ISO string).
 */
export type SessionData = Record<string, unknown>;

/**
 * Field-level changes for {@link SessionStore.patch}: a field mapped to `undefined` is deleted,
 * every other field is written with its new value.
 */
export type SessionChanges = Record<string, unknown>;
