import type { SessionChanges, SessionData } from './json.js';
import { SessionError } from '../concrete/SessionError.js';
import { assertKey, toJson } from './serialize.js';

/** The write a {@link ChangeTracker} asks for: the whole record, or only the changed fields. */
export type PendingWrite =
  | { readonly kind: 'record'; readonly data: SessionData }
  | { readonly kind: 'fields'; readonly changes: SessionChanges };

const isObject = (value: unknown): value is object => typeof value === 'object' && value !== null;

/**
 * The values of one session and what changed since they were last written: keys set or
 * deleted, and objects handed out (or written) whose JSON has changed since, so in-place
 * mutation is noticed per field, where express-session hashes the whole session.
 */
export class ChangeTracker {
  readonly #values: Map<string, unknown>;
  /** Keys set or deleted since the last write. */
  readonly #dirty = new Set<string>();
  /** JSON of the object values the application may hold, as last seen or written. */
  readonly #watched = new Map<string, string>();
  /** The whole record must be written (a regenerate moved the data to a new id). */
  #rewrite = false;
  /** Bumped per key by `set`/`delete`, and for all keys by `clear`/`reset`: tells late results apart. */
  readonly #versions = new Map<string, number>();
  #generation = 0;
  /** Bumped by `reset` only: after one, a late result belongs to a session that is gone. */
  #resets = 0;

  constructor(initial: SessionData | undefined) {
    this.#values = new Map(initial ? Object.entries(initial) : []);
  }

  get(key: string): unknown {
    const value = this.#values.get(key);
    if (isObject(value)) this.#watch(key, value);
    return value;
  }

  has(key: string): boolean {
    return this.#values.has(key);
  }

  /** How many values there are. */
  get size(): number {
    return this.#values.size;
  }

  /** Identifies the current value of `key`; compare it with a later one to see if it changed. */
  version(key: string): string {
    return `${this.#resets}/${this.#generation}:${this.#versions.get(key) ?? 0}`;
  }

  /** Sets `key`, checking the key and that the value is JSON-serializable. */
  set(key: string, value: unknown): void {
    assertKey(key);
    if (toJson(value, `Value of "${key}"`) === undefined) {
      throw new SessionError('invalid-value', `Value of "${key}" is not JSON-serializable (a ${typeof value})`);
    }
    this.#values.set(key, value);
    this.#dirty.add(key);
    this.#bump(key);
  }

  delete(key: string): boolean {
    const had = this.#values.delete(key);
    if (had) this.#dirty.add(key);
    this.#watched.delete(key);
    this.#bump(key);
    return had;
  }

  /**
   * Removes every value, as field deletions: keys another request added meanwhile survive, and
   * a deletion never brings back a session destroyed meanwhile (a whole-record write would).
   */
  clear(): void {
    for (const key of this.#values.keys()) this.#dirty.add(key);
    this.#values.clear();
    this.#watched.clear();
    this.#generation++;
  }

  /** Forgets every value and every pending change (a new, empty session). */
  reset(): void {
    this.#values.clear();
    this.#dirty.clear();
    this.#watched.clear();
    this.#rewrite = false;
    this.#generation++;
    this.#resets++;
  }

  /** The next write carries the whole record (the id changed). */
  rewriteAll(): void {
    this.#rewrite = true;
  }

  /**
   * Records a value the store already holds (the result of an atomic increment), unless `key`
   * changed since `version` was taken: a `set` or `clear` made meanwhile wins.
   */
  settle(key: string, value: unknown, version: string): void {
    if (this.version(key) !== version) {
      // A delete or clear made meanwhile also removes what the increment stored.
      if (!this.#values.has(key) && version.startsWith(`${this.#resets}/`)) this.#dirty.add(key);
      return;
    }
    this.#values.set(key, value);
    this.#dirty.delete(key);
    this.#watched.delete(key);
  }

  /** A plain copy of the values; the objects in it are watched like `get` results. */
  toJSON(): SessionData {
    for (const [key, value] of this.#values) if (isObject(value)) this.#watch(key, value);
    // fromEntries defines own properties: a stored "__proto__" field stays a plain field.
    return Object.fromEntries(this.#values);
  }

  /**
   * Takes what must be written, marking it written; `undo` puts it back when the write fails.
   * Changes made while the write is in flight stay pending. `undefined` when nothing changed.
   */
  take(): { write: PendingWrite; undo: () => void } | undefined {
    const rewrite = this.#rewrite;
    const changes: SessionChanges = {};
    const seen = new Map<string, string | undefined>();
    let changed = rewrite;
    for (const [key, value] of this.#values) {
      const dirty = this.#dirty.has(key);
      if (!rewrite && !dirty && !this.#watched.has(key)) continue;
      const json = isObject(value) ? toJson(value, `Value of "${key}"`) : undefined;
      if (dirty || json !== this.#watched.get(key)) {
        changes[key] = value;
        changed = true;
        seen.set(key, json);
      } else if (rewrite) {
        seen.set(key, json);
      }
    }
    for (const key of this.#dirty) {
      if (!this.#values.has(key)) {
        changes[key] = undefined;
        changed = true;
      }
    }
    if (!changed) return undefined;
    const dirty = [...this.#dirty];
    this.#dirty.clear();
    this.#rewrite = false;
    for (const [key, json] of seen) {
      if (json === undefined) this.#watched.delete(key);
      else this.#watched.set(key, json);
    }
    const write: PendingWrite = rewrite ? { kind: 'record', data: Object.fromEntries(this.#values) } : { kind: 'fields', changes };
    const undo = (): void => {
      // Everything this write carried is pending again, in-place changes included.
      for (const key of dirty) this.#dirty.add(key);
      for (const key of Object.keys(changes)) this.#dirty.add(key);
      this.#rewrite ||= rewrite;
    };
    return { write, undo };
  }

  #bump(key: string): void {
    this.#versions.set(key, (this.#versions.get(key) ?? 0) + 1);
  }

  #watch(key: string, value: object): void {
    if (!this.#dirty.has(key) && !this.#watched.has(key)) this.#watched.set(key, JSON.stringify(value));
  }
}
