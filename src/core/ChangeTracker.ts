import type { SessionChanges, SessionData } from './json.js';
import { SessionError } from './SessionError.js';
import { assertKey, toJson } from './serialize.js';

/** The write a {@link ChangeTracker} asks for: the whole record, or only the changed fields. */
export type PendingWrite =
  | { readonly kind: 'record'; readonly data: SessionData }
  | { readonly kind: 'fields'; readonly changes: SessionChanges };

const isObject = (value: unknown): value is object => typeof value === 'object' && value !== null;

/** What a field adds to a record's JSON: `"key":value,` in UTF-8. */
const fieldBytes = (key: string, json: string): number => Buffer.byteLength(key) + Buffer.byteLength(json) + 4;

/**
 * The values of one session and what changed since they were last written: keys set or
 * deleted, and objects handed out (or written) whose JSON has changed since, so in-place
 * mutation is noticed per field, where express-session hashes the whole session.
 */
export class ChangeTracker {
  readonly #values = new Map<string, unknown>();
  // The sets and maps of changes below are made on first use: most requests change one field or none.
  /** Keys set or deleted since the last write. */
  #dirty: Set<string> | undefined;
  /** JSON of the object values the application may hold, as last seen or written. */
  #watched: Map<string, string> | undefined;
  /** The whole record must be written (a regenerate moved the data to a new id). */
  #rewrite = false;
  /** Bumped per key by `set`/`delete`, and for all keys by `clear`/`reset`: tells late results apart. */
  #versions: Map<string, number> | undefined;
  #generation = 0;
  /** Bumped by `reset` only: after one, a late result belongs to a session that is gone. */
  #resets = 0;
  /** Largest record, in bytes of JSON; see {@link ChangeTracker.bytes}. */
  readonly #maxBytes: number;
  /** Bytes each field adds to the record's JSON; computed at the first write of a request. */
  #sizes: Map<string, number> | undefined;
  #bytes = 0;

  constructor(initial: SessionData | undefined, maxBytes = Infinity) {
    if (initial) this.#fill(initial);
    this.#maxBytes = maxBytes;
  }

  get(key: string): unknown {
    const value = this.#values.get(key);
    if (isObject(value)) this.#watch(key, value);
    return value;
  }

  has(key: string): boolean {
    return this.#values.has(key);
  }

  /** True when a write may be due: keys set or deleted, a pending rewrite, or objects handed out (maybe changed in place). */
  get hasChanges(): boolean {
    return (this.#dirty?.size ?? 0) > 0 || this.#rewrite || (this.#watched?.size ?? 0) > 0;
  }

  /** How many values there are. */
  get size(): number {
    return this.#values.size;
  }

  /** Identifies the current value of `key`; compare it with a later one to see if it changed. */
  version(key: string): string {
    return `${this.#resets}/${this.#generation}:${this.#versions?.get(key) ?? 0}`;
  }

  /**
   * Sets `key`, checking the key, that the value is JSON-serializable and that the record stays
   * within the byte bound (`too-large`; nothing changes then).
   */
  set(key: string, value: unknown): void {
    assertKey(key);
    const json = toJson(value, `Value of "${key}"`);
    if (json === undefined) {
      throw new SessionError('invalid-value', `Value of "${key}" is not JSON-serializable (a ${typeof value})`);
    }
    this.#resize(key, json);
    this.#values.set(key, value);
    this.#markDirty(key);
    this.#bump(key);
  }

  delete(key: string): boolean {
    const had = this.#values.delete(key);
    if (had) this.#resize(key, undefined);
    if (had) this.#markDirty(key);
    this.#watched?.delete(key);
    this.#bump(key);
    return had;
  }

  /**
   * Removes every value, as field deletions: keys another request added meanwhile survive, and
   * a deletion never brings back a session destroyed meanwhile (a whole-record write would).
   */
  clear(): void {
    for (const key of this.#values.keys()) this.#markDirty(key);
    this.#values.clear();
    this.#watched = undefined;
    this.#forgetSizes();
    this.#generation++;
  }

  /** Forgets every value and every pending change (a new, empty session). */
  reset(): void {
    this.#forgetSizes();
    this.#values.clear();
    this.#dirty = undefined;
    this.#watched = undefined;
    this.#rewrite = false;
    this.#generation++;
    this.#resets++;
  }

  /** Forgets the pending changes (the values stay as they are in memory): nothing of them is written. */
  discard(): void {
    this.#dirty = undefined;
    this.#watched = undefined;
    this.#rewrite = false;
  }

  /** Replaces every value with `data` as the store holds it: nothing pending, nothing to write. */
  replace(data: SessionData): void {
    this.#values.clear();
    this.#fill(data);
    this.#dirty = undefined;
    this.#watched = undefined;
    this.#rewrite = false;
    this.#forgetSizes();
    this.#generation++;
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
      if (!this.#values.has(key) && version.startsWith(`${this.#resets}/`)) this.#markDirty(key);
      return;
    }
    if (this.#sizes) this.#resize(key, JSON.stringify(value), false);
    this.#values.set(key, value);
    this.#dirty?.delete(key);
    this.#watched?.delete(key);
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
    /** Keys written and their JSON as now written (`undefined`: not an object), in pairs. */
    const seen: (string | undefined)[] = [];
    let changed = rewrite;
    const pending = this.#dirty;
    const watched = this.#watched;
    for (const [key, value] of this.#values) {
      const dirty = pending !== undefined && pending.has(key);
      if (!rewrite && !dirty && (watched === undefined || !watched.has(key))) continue;
      const json = isObject(value) ? toJson(value, `Value of "${key}"`) : undefined;
      // An object changed in place may have grown past the bound: refuse the write, keep it pending.
      if (!dirty && json !== undefined && json !== watched?.get(key)) this.#resize(key, json);
      if (dirty || json !== watched?.get(key)) {
        changes[key] = value;
        changed = true;
        seen.push(key, json);
      } else if (rewrite) {
        seen.push(key, json);
      }
    }
    for (const key of pending ?? []) {
      if (!this.#values.has(key)) {
        changes[key] = undefined;
        changed = true;
      }
    }
    if (!changed) return undefined;
    const dirty = pending === undefined ? [] : [...pending];
    this.#dirty = undefined;
    this.#rewrite = false;
    for (let i = 0; i < seen.length; i += 2) {
      const key = seen[i]!;
      const json = seen[i + 1];
      if (json === undefined) this.#watched?.delete(key);
      else (this.#watched ??= new Map()).set(key, json);
    }
    const write: PendingWrite = rewrite ? { kind: 'record', data: Object.fromEntries(this.#values) } : { kind: 'fields', changes };
    const undo = (): void => {
      // Everything this write carried is pending again, in-place changes included.
      for (const key of dirty) this.#markDirty(key);
      for (const key of Object.keys(changes)) this.#markDirty(key);
      this.#rewrite ||= rewrite;
    };
    return { write, undo };
  }

  /** Approximate bytes of the record's JSON text (UTF-8), computed on first use. */
  get bytes(): number {
    this.#measure();
    return this.#bytes;
  }

  #measure(): Map<string, number> {
    if (this.#sizes) return this.#sizes;
    const sizes = new Map<string, number>();
    let bytes = 2;
    for (const [key, value] of this.#values) {
      // An object handed out may have grown in place since: count it as it was then, so the
      // growth is checked against the bound when the write finds it.
      const size = fieldBytes(key, this.#watched?.get(key) ?? JSON.stringify(value) ?? '');
      sizes.set(key, size);
      bytes += size;
    }
    this.#sizes = sizes;
    this.#bytes = bytes;
    return sizes;
  }

  /** Accounts for `key` now holding `json` (or nothing); refuses growth past the bound. */
  #resize(key: string, json: string | undefined, check = true): void {
    if (this.#maxBytes === Infinity && this.#sizes === undefined) return;
    const sizes = this.#measure();
    const before = sizes.get(key) ?? 0;
    const after = json === undefined ? 0 : fieldBytes(key, json);
    const bytes = this.#bytes - before + after;
    if (check && after > before && bytes > this.#maxBytes) {
      throw new SessionError('too-large', `Session would be ${bytes} bytes with "${key}", more than maxSessionBytes (${this.#maxBytes}); nothing was stored`);
    }
    if (json === undefined) sizes.delete(key);
    else sizes.set(key, after);
    this.#bytes = bytes;
  }

  #forgetSizes(): void {
    this.#sizes = undefined;
    this.#bytes = 0;
  }

  #bump(key: string): void {
    const versions = (this.#versions ??= new Map());
    versions.set(key, (versions.get(key) ?? 0) + 1);
  }

  #watch(key: string, value: object): void {
    if (this.#dirty?.has(key) || this.#watched?.has(key)) return;
    (this.#watched ??= new Map()).set(key, JSON.stringify(value));
  }

  /** Copies `data`'s own fields into the values (`Object.keys`: no array of pairs per field). */
  #fill(data: SessionData): void {
    for (const key of Object.keys(data)) this.#values.set(key, data[key]);
  }

  #markDirty(key: string): void {
    (this.#dirty ??= new Set()).add(key);
  }
}
