import { Buffer } from 'node:buffer';
import { getRandomValues } from 'node:crypto';

// MemoryStore's entries, packed so that a stored session costs less heap than express-session's
// (one JSON string per id in a plain object). A `Map<string, { json, expiresAt }>` paid for the
// key string, the entry object, a boxed expiry and the JSON string: about 215 bytes for a small
// session. Here each entry is ONE flat one-byte string:
//
//   [6 chars: expiry in ms × 2 + tombstone bit, big-endian bytes]
//   [1 char: key kind << 6 | key length (63 = the length follows in 4 chars)]
//   [the key: as is, or base64url packed 4 characters into 3]
//   [the record's JSON text; nothing for a tombstone]
//
// Every char of the header is below 256, so JSON in Latin-1 keeps the string one byte per char.
// The strings sit in an open-addressing table ({@link CompactEntries}) whose other columns are
// typed arrays: no key string, no object and no boxed number per entry.

/** How the key is written into the entry. */
const RAW = 0;
/** All base64url: groups of 4 characters (24 bits) become 3 chars; a tail of 1–3 stays as is. */
const PACKED = 1;
/** `k.` and then all base64url (the middleware's hashed keys), the rest packed as {@link PACKED}. */
const HASHED = 2;
const HASHED_PREFIX = 'k.';

const EXPIRY_CHARS = 6;
const KEY_HEADER = EXPIRY_CHARS;
const LONG_KEY = 63;
/** Latest expiry an entry can hold (2^47 ms after 1970, the year 6429); later ones are clamped to it. */
const MAX_EXPIRES_AT = 2 ** 47 - 1;
const TWO_24 = 2 ** 24;

/** base64url character → its 6-bit value, or -1. */
const SEXTET = new Int8Array(128).fill(-1);
const BASE64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
for (let i = 0; i < 64; i++) SEXTET[BASE64URL.charCodeAt(i)] = i;

/** Longest key that is packed (longer ones are written as they are); bounds the scratch buffer. */
const MAX_PACKED_KEY = 512;
const scratch = Buffer.allocUnsafe(MAX_PACKED_KEY);

/**
 * The key as written into an entry: kind and length, then the key itself or its packed form.
 * Packed keys are built in a scratch buffer and read out as one flat Latin-1 string: appending
 * chars one by one would make a rope that every later read has to flatten.
 */
function encodeKey(key: string): string {
  const length = key.length;
  if (length < 8 || length > MAX_PACKED_KEY) return rawKey(key);
  const start = key.charCodeAt(0) === 0x6b && key.charCodeAt(1) === 0x2e ? 2 : 0; // 'k.'
  const whole = start + ((length - start) & ~3);
  let at = 0;
  scratch[at++] = ((start === 2 ? HASHED : PACKED) << 6) | (length < LONG_KEY ? length : LONG_KEY);
  if (length >= LONG_KEY) {
    scratch.writeUInt32BE(length, at);
    at += 4;
  }
  for (let i = start; i < whole; i += 4) {
    const a = sextet(key.charCodeAt(i));
    const b = sextet(key.charCodeAt(i + 1));
    const c = sextet(key.charCodeAt(i + 2));
    const d = sextet(key.charCodeAt(i + 3));
    if ((a | b | c | d) < 0) return rawKey(key);
    scratch[at++] = (a << 2) | (b >> 4);
    scratch[at++] = ((b & 15) << 4) | (c >> 2);
    scratch[at++] = ((c & 3) << 6) | d;
  }
  for (let i = whole; i < length; i++) {
    const code = key.charCodeAt(i);
    if (sextet(code) < 0) return rawKey(key);
    scratch[at++] = code;
  }
  return scratch.toString('latin1', 0, at);
}

/** The 6-bit value of a base64url char, or -1. */
function sextet(code: number): number {
  return code < 128 ? SEXTET[code]! : -1;
}

/** A key written as it is, after its kind and length. */
function rawKey(key: string): string {
  const header = key.length < LONG_KEY ? String.fromCharCode((RAW << 6) | key.length) : String.fromCharCode((RAW << 6) | LONG_KEY) + uint32Chars(key.length);
  // A rope here is fine: hashing it reads every char, which flattens it.
  return header + key;
}

function uint32Chars(value: number): string {
  return String.fromCharCode(value >>> 24, (value >>> 16) & 0xff, (value >>> 8) & 0xff, value & 0xff);
}

function uint32At(text: string, at: number): number {
  return ((text.charCodeAt(at) << 24) | (text.charCodeAt(at + 1) << 16) | (text.charCodeAt(at + 2) << 8) | text.charCodeAt(at + 3)) >>> 0;
}

/** The key's length, and where its chars (as written) start, in an entry. */
function keyLength(entry: string): { length: number; at: number } {
  const length = entry.charCodeAt(KEY_HEADER) & 63;
  return length < LONG_KEY ? { length, at: KEY_HEADER + 1 } : { length: uint32At(entry, KEY_HEADER + 1), at: KEY_HEADER + 5 };
}

/** Chars the key takes in an entry, from `at`. */
function writtenLength(kind: number, length: number): number {
  if (kind === RAW) return length;
  const packedChars = length - (kind === HASHED ? 2 : 0);
  return Math.floor(packedChars / 4) * 3 + (packedChars % 4);
}

/** Index of the first JSON char in an entry. */
function jsonStart(entry: string): number {
  const { length, at } = keyLength(entry);
  return at + writtenLength(entry.charCodeAt(KEY_HEADER) >> 6, length);
}

/** The key an entry is filed under. */
export function keyOfEntry(entry: string): string {
  const { length, at } = keyLength(entry);
  const kind = entry.charCodeAt(KEY_HEADER) >> 6;
  const end = at + writtenLength(kind, length);
  if (kind === RAW) return entry.slice(at, end);
  let key = kind === HASHED ? HASHED_PREFIX : '';
  const tail = (length - key.length) % 4;
  const groupsEnd = end - tail;
  for (let i = at; i < groupsEnd; i += 3) {
    const bits = (entry.charCodeAt(i) << 16) | (entry.charCodeAt(i + 1) << 8) | entry.charCodeAt(i + 2);
    key += BASE64URL[bits >>> 18]! + BASE64URL[(bits >>> 12) & 63]! + BASE64URL[(bits >>> 6) & 63]! + BASE64URL[bits & 63]!;
  }
  return key + entry.slice(groupsEnd, end);
}

/** The record's JSON text, or `null` for a tombstone. */
export function jsonOfEntry(entry: string): string | null {
  return isTombstoneEntry(entry) ? null : entry.slice(jsonStart(entry));
}

/** True for a tombstone (a destroyed id). */
export function isTombstoneEntry(entry: string): boolean {
  return (entry.charCodeAt(EXPIRY_CHARS - 1) & 1) === 1;
}

/** Length of the record's JSON text (0 for a tombstone), without slicing it out. */
export function jsonLengthOfEntry(entry: string): number {
  return isTombstoneEntry(entry) ? 0 : entry.length - jsonStart(entry);
}

/** Epoch ms after which the entry is gone. */
export function expiresAtOfEntry(entry: string): number {
  const high = (entry.charCodeAt(0) << 16) | (entry.charCodeAt(1) << 8) | entry.charCodeAt(2);
  const low = (entry.charCodeAt(3) << 16) | (entry.charCodeAt(4) << 8) | entry.charCodeAt(5);
  return Math.floor((high * TWO_24 + low) / 2);
}

/** The last char read to flatten an entry (see entryText). */
let flattened = 0;

/** Entry text for `encodedKey` (see {@link encodeKey}); `json` null writes a tombstone. */
function entryText(encodedKey: string, json: string | null, expiresAt: number): string {
  // Whole ms, rounded up so that an entry never expires early; NaN cannot reach here (TTLs are checked).
  const ms = Math.min(MAX_EXPIRES_AT, Math.max(0, Math.ceil(expiresAt)));
  const value = ms * 2 + (json === null ? 1 : 0);
  const high = Math.floor(value / TWO_24);
  const low = value % TWO_24;
  const text =
    String.fromCharCode(high >>> 16, (high >>> 8) & 0xff, high & 0xff, low >>> 16, (low >>> 8) & 0xff, low & 0xff) + encodedKey + (json ?? '');
  // Concatenation makes a rope (a ConsString of several objects); reading a char flattens it into
  // one sequential string, and the rope is dropped by the next garbage collection. The char is
  // kept, so that no optimizing compiler drops the read as unused.
  flattened = text.charCodeAt(0);
  return text;
}

/** A seeded 32-bit FNV-1a over the written key (the seed keeps slots unpredictable to clients). */
function hashOf(encoded: string, seed: number): number {
  let hash = seed;
  for (let i = 0; i < encoded.length; i++) hash = Math.imul(hash ^ encoded.charCodeAt(i), 0x01000193);
  hash ^= hash >>> 15;
  return Math.imul(hash, 0x2c1b3c6d) ^ (hash >>> 13);
}

const MIN_CAPACITY = 16;
/** Most entries per slot before the table doubles. Linear probing stays short at this load, */
/** and 100,000 sessions still fit 131,072 slots (a Map of the same size pays ~37 bytes each). */
const MAX_LOAD = 0.8;
const NONE = -1;

/**
 * The entries of a {@link MemoryStore}: key → one packed entry string, least recently used first.
 *
 * An open-addressing hash table (linear probing, backward-shift deletion) over four flat arrays,
 * entry strings, their hashes, and the previous and next slot in use order: about 26 bytes of
 * table per entry at 100,000 entries, against ~37 for a `Map`. The use-order list makes the least
 * recently used entry an O(1) lookup.
 * @internal
 */
export class CompactEntries {
  readonly #seed = getRandomValues(new Uint32Array(1))[0]! | 0;
  #slots: (string | undefined)[] = [];
  #hashes = new Int32Array(0);
  #previous = new Int32Array(0);
  #next = new Int32Array(0);
  #mask = 0;
  #size = 0;
  /** The last key looked up, written form and hash: a request reads and then writes one key. */
  #lastKey: string | undefined;
  #lastEncoded = '';
  #lastHash = 0;
  /** Least recently used slot, and most recently used; NONE when empty. */
  #head = NONE;
  #tail = NONE;

  constructor() {
    this.#allocate(MIN_CAPACITY);
  }

  /** Number of entries (live, expired and tombstones). */
  get size(): number {
    return this.#size;
  }

  /** The entry of `key`, or `undefined`. */
  get(key: string): string | undefined {
    const slot = this.#slotOf(key);
    return slot === NONE ? undefined : this.#slots[slot];
  }

  /** Marks `key`'s entry most recently used; returns it (or `undefined` when none). */
  use(key: string): string | undefined {
    const slot = this.#slotOf(key);
    if (slot === NONE) return undefined;
    this.#unlink(slot);
    this.#append(slot);
    return this.#slots[slot];
  }

  /** Stores `key`'s entry as the most recently used; `json` null is a tombstone. Returns the entry it replaced, if any. */
  set(key: string, json: string | null, expiresAt: number): string | undefined {
    const slot = this.#slotOf(key);
    const hash = this.#lastHash;
    const entry = entryText(this.#lastEncoded, json, expiresAt);
    if (slot !== NONE) {
      const replaced = this.#slots[slot];
      this.#slots[slot] = entry;
      this.#unlink(slot);
      this.#append(slot);
      return replaced;
    }
    if (this.#size + 1 > (this.#mask + 1) * MAX_LOAD) this.#rebuild((this.#mask + 1) * 2);
    this.#place(hash, entry);
    return undefined;
  }

  /** Removes `key`'s entry; returns it (or `undefined` when none). */
  delete(key: string): string | undefined {
    const slot = this.#slotOf(key);
    if (slot === NONE) return undefined;
    const entry = this.#slots[slot];
    this.#unlink(slot);
    this.#vacate(slot);
    this.#size--;
    const capacity = this.#mask + 1;
    if (capacity > MIN_CAPACITY && this.#size < capacity * MAX_LOAD * 0.25) this.#rebuild(capacity / 2);
    return entry;
  }

  /** The key of the least recently used entry, or `undefined` when there is none. */
  oldestKey(): string | undefined {
    return this.#head === NONE ? undefined : keyOfEntry(this.#slots[this.#head]!);
  }

  /** Every entry now, least recently used first (a copy: the caller may delete while walking it). */
  entries(): string[] {
    const entries: string[] = [];
    for (let slot = this.#head; slot !== NONE; slot = this.#next[slot]!) entries.push(this.#slots[slot]!);
    return entries;
  }

  /** Removes every entry. */
  clear(): void {
    this.#allocate(MIN_CAPACITY);
  }

  #allocate(capacity: number): void {
    this.#slots = new Array<string | undefined>(capacity).fill(undefined);
    this.#hashes = new Int32Array(capacity);
    this.#previous = new Int32Array(capacity);
    this.#next = new Int32Array(capacity);
    this.#mask = capacity - 1;
    this.#size = 0;
    this.#head = this.#tail = NONE;
  }

  /** The slot holding `key`, or NONE; leaves the key's written form and hash in the #last fields. */
  #slotOf(key: string): number {
    if (key !== this.#lastKey) {
      this.#lastEncoded = encodeKey(key);
      this.#lastHash = hashOf(this.#lastEncoded, this.#seed);
      this.#lastKey = key;
    }
    return this.#find(this.#lastHash, this.#lastEncoded);
  }

  /** The slot holding the key written as `encoded`, or NONE. */
  #find(hash: number, encoded: string): number {
    const slots = this.#slots;
    for (let slot = hash & this.#mask; ; slot = (slot + 1) & this.#mask) {
      const entry = slots[slot];
      if (entry === undefined) return NONE;
      if (this.#hashes[slot] === hash && holdsKey(entry, encoded)) return slot;
    }
  }

  /** Puts a new entry in the first free slot of its probe run, as the most recently used. */
  #place(hash: number, entry: string): void {
    let slot = hash & this.#mask;
    while (this.#slots[slot] !== undefined) slot = (slot + 1) & this.#mask;
    this.#slots[slot] = entry;
    this.#hashes[slot] = hash;
    this.#append(slot);
    this.#size++;
  }

  /** Empties `slot` (already unlinked), shifting later entries of its probe run back so that no lookup stops early. */
  #vacate(slot: number): void {
    const mask = this.#mask;
    let hole = slot;
    for (let at = (slot + 1) & mask; this.#slots[at] !== undefined; at = (at + 1) & mask) {
      const home = this.#hashes[at]! & mask;
      // The entry at `at` may fill the hole only if its home slot is not cyclically within (hole, at].
      const homeAfterHole = hole <= at ? home > hole && home <= at : home > hole || home <= at;
      if (homeAfterHole) continue;
      this.#move(at, hole);
      hole = at;
    }
    this.#slots[hole] = undefined;
  }

  /** Moves the entry at `from` to the empty `to`, keeping its place in use order. */
  #move(from: number, to: number): void {
    this.#slots[to] = this.#slots[from];
    this.#hashes[to] = this.#hashes[from]!;
    const previous = this.#previous[from]!;
    const next = this.#next[from]!;
    this.#previous[to] = previous;
    this.#next[to] = next;
    if (previous === NONE) this.#head = to;
    else this.#next[previous] = to;
    if (next === NONE) this.#tail = to;
    else this.#previous[next] = to;
  }

  #unlink(slot: number): void {
    const previous = this.#previous[slot]!;
    const next = this.#next[slot]!;
    if (previous === NONE) this.#head = next;
    else this.#next[previous] = next;
    if (next === NONE) this.#tail = previous;
    else this.#previous[next] = previous;
  }

  #append(slot: number): void {
    this.#previous[slot] = this.#tail;
    this.#next[slot] = NONE;
    if (this.#tail === NONE) this.#head = slot;
    else this.#next[this.#tail] = slot;
    this.#tail = slot;
  }

  /** Moves every entry into a table of `capacity` slots, keeping use order. */
  #rebuild(capacity: number): void {
    const slots = this.#slots;
    const hashes = this.#hashes;
    const next = this.#next;
    const head = this.#head;
    this.#allocate(capacity);
    for (let slot = head; slot !== NONE; slot = next[slot]!) this.#place(hashes[slot]!, slots[slot]!);
  }
}

/** True when `entry` is filed under the key written as `encoded`. */
function holdsKey(entry: string, encoded: string): boolean {
  // The encoded key starts with its kind and length, so a prefix match is an exact match.
  return entry.startsWith(encoded, KEY_HEADER);
}
