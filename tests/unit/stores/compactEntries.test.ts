import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { CompactEntries, expiresAtOfEntry, isTombstoneEntry, jsonLengthOfEntry, jsonOfEntry, keyOfEntry } from '../../../src/stores/compactEntries.js';

// MemoryStore's packed entries: every key shape comes back exactly, and the table behaves as a
// Map in use order (the model) through growth, shrinking and backward-shift deletion.

const HOUR = Date.UTC(2026, 10, 30, 12) + 3_600_000;

const keyShapes: Record<string, string> = {
  'one char': 'a',
  'seven chars (never packed)': 'abcdefg',
  'base64url, 8 chars (two whole groups)': 'abcdefgh',
  'base64url, 9 chars (tail of 1)': 'abcdefghi',
  'base64url, 10 chars (tail of 2)': 'abcdefghij',
  'base64url, 11 chars (tail of 3)': 'abcdefghijk',
  'base64url, every letter of the alphabet': 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_',
  'zero sextets': 'AAAAAAAA',
  'all-ones sextets': '________',
  'a hashed key (k. + 43)': `k.${'Zm9vYmFyYmF6cXV4'.repeat(2)}abcdefghij_-Z`,
  'k. then a tail only': 'k.abcdef',
  'k. then a non-base64url char': 'k..abcdefgh',
  'k. alone': 'k.',
  'a dot in a group': 'abc.defgh',
  'a dot in the tail': 'abcdefgh.',
  'a space': 'abcd efgh',
  'Latin-1 above 127': 'caf\u00e9-cr\u00e8me',
  'two-byte chars': 'h\u00e9llo w\u00f6rld \u20ac \ud83d\ude00',
  'a lone surrogate': 'abcdefgh\ud800',
  'NUL and 0xff': '\u0000\u00ff\u0000\u00ff\u0000\u00ff\u0000\u00ff',
  '62 chars (longest short header)': 'x'.repeat(62),
  '63 chars (long header)': 'y'.repeat(63),
  '512 base64url chars (longest packed)': 'Q'.repeat(512),
  '513 base64url chars (written raw)': 'R'.repeat(513),
  '70,000 chars': 'long-'.repeat(14_000),
};

describe('CompactEntries: what goes in comes out', () => {
  const table = new CompactEntries();
  const shapes = Object.entries(keyShapes);
  shapes.forEach(([, key], i) => table.set(key, i % 3 === 0 ? null : JSON.stringify({ i, text: '\u00fc\u20ac' }), HOUR + i + 0.25));

  it.each(shapes.map(([name, key], i) => [name, key, i] as const))('%s', (_name, key, i) => {
    const entry = table.get(key);
    expect(entry).toBeDefined();
    expect(keyOfEntry(entry!)).toBe(key);
    expect(isTombstoneEntry(entry!)).toBe(i % 3 === 0);
    const json = i % 3 === 0 ? null : JSON.stringify({ i, text: '\u00fc\u20ac' });
    expect(jsonOfEntry(entry!)).toBe(json);
    expect(jsonLengthOfEntry(entry!)).toBe(json?.length ?? 0);
    // Whole ms, rounded up: an entry never expires before it was asked to.
    expect(expiresAtOfEntry(entry!)).toBe(HOUR + i + 1);
  });

  it('tells keys apart that differ in one char, in length, or only in kind', () => {
    expect(table.size).toBe(shapes.length);
    for (const near of ['abcdefgj', 'abcdefghh', 'abcdefghij_', 'k.abcdefg', 'abcdef', 'Q'.repeat(511), 'y'.repeat(64), 'k', '']) {
      expect(table.get(near)).toBeUndefined();
    }
  });

  it('lists entries in use order and gives the least recently used key', () => {
    expect(table.entries().map(keyOfEntry)).toEqual(shapes.map(([, key]) => key));
    expect(table.oldestKey()).toBe('a');
    table.use('a');
    expect(table.oldestKey()).toBe('abcdefg');
    expect(table.entries().map(keyOfEntry).at(-1)).toBe('a');
  });

  it('keeps an entry one byte per char when its JSON is Latin-1', () => {
    const entry = new CompactEntries();
    entry.set(`k.${'A'.repeat(43)}`, '{"n":"caf\u00e9"}', HOUR);
    const text = entry.get(`k.${'A'.repeat(43)}`)!;
    expect([...text].every((char) => char.charCodeAt(0) < 256)).toBe(true);
    // 6 expiry chars + 1 key header + 33 packed key chars + the JSON: 43 chars of key became 33.
    expect(text.length).toBe(6 + 1 + 33 + '{"n":"caf\u00e9"}'.length);
  });

  it('clamps expiries it cannot hold, and keeps the past in the past', () => {
    const entries = new CompactEntries();
    entries.set('far', '1', 1e20);
    entries.set('past', '1', -5);
    expect(expiresAtOfEntry(entries.get('far')!)).toBe(2 ** 47 - 1);
    expect(expiresAtOfEntry(entries.get('past')!)).toBe(0);
  });
});

describe('CompactEntries behaves as a Map kept in use order', () => {
  type Op = { kind: 'set'; key: number; value: number; tombstone: boolean } | { kind: 'delete' | 'use'; key: number } | { kind: 'oldest' };
  const keyName = (n: number): string => (n % 2 === 0 ? `k.session-${n}-AbCdEfGhIjKlMnOpQrStUvWxYz` : `raw id ${n}`);
  const op: fc.Arbitrary<Op> = fc.oneof(
    fc.record({ kind: fc.constant('set' as const), key: fc.nat(400), value: fc.nat(), tombstone: fc.boolean() }),
    fc.record({ kind: fc.constant('delete' as const), key: fc.nat(400) }),
    fc.record({ kind: fc.constant('use' as const), key: fc.nat(400) }),
    fc.constant({ kind: 'oldest' as const }),
  );

  function check(ops: Op[]): void {
    const table = new CompactEntries();
    const model = new Map<string, string | null>();
    for (const step of ops) {
      if (step.kind === 'set') {
        const key = keyName(step.key);
        const json = step.tombstone ? null : `{"v":${step.value}}`;
        const replaced = table.set(key, json, HOUR);
        if (model.has(key)) expect(jsonOfEntry(replaced!)).toBe(model.get(key));
        else expect(replaced).toBeUndefined();
        model.delete(key);
        model.set(key, json);
      } else if (step.kind === 'delete') {
        const key = keyName(step.key);
        const removed = table.delete(key);
        expect(removed === undefined ? undefined : jsonOfEntry(removed)).toBe(model.get(key));
        model.delete(key);
      } else if (step.kind === 'use') {
        const key = keyName(step.key);
        const used = table.use(key);
        expect(used === undefined ? undefined : jsonOfEntry(used)).toBe(model.get(key));
        if (model.has(key)) {
          const json = model.get(key)!;
          model.delete(key);
          model.set(key, json);
        }
      } else {
        expect(table.oldestKey()).toBe(model.keys().next().value);
      }
      expect(table.size).toBe(model.size);
      // After every step, as a deletion may shift the oldest entry to another slot.
      expect(table.oldestKey()).toBe(model.keys().next().value);
    }
    expect(table.entries().map((entry) => [keyOfEntry(entry), jsonOfEntry(entry)])).toEqual([...model]);
    for (const [key, json] of model) expect(jsonOfEntry(table.get(key)!)).toBe(json);
  }

  it('for random sequences of set, delete, use and oldest', () => {
    fc.assert(fc.property(fc.array(op, { minLength: 300, maxLength: 800 }), (ops) => check(ops)), { numRuns: 30 });
  });

  it('through growth to thousands of entries and shrinking back to none', () => {
    const ops: Op[] = [];
    for (let i = 0; i < 5_000; i++) ops.push({ kind: 'set', key: i, value: i, tombstone: i % 7 === 0 });
    for (let i = 0; i < 5_000; i += 3) ops.push({ kind: 'use', key: i });
    for (let i = 0; i < 5_000; i++) ops.push({ kind: 'delete', key: (i * 7919) % 5_000 }, ...(i % 500 === 0 ? [{ kind: 'oldest' as const }] : []));
    const table = new CompactEntries();
    const model = new Map<string, string | null>();
    // The same walk as check(), with fewer assertions per step (5,000 keys).
    for (const step of ops) {
      if (step.kind === 'set') {
        table.set(keyName(step.key), step.tombstone ? null : `{"v":${step.value}}`, HOUR);
        model.set(keyName(step.key), step.tombstone ? null : `{"v":${step.value}}`);
      } else if (step.kind === 'use') {
        table.use(keyName(step.key));
        const json = model.get(keyName(step.key))!;
        model.delete(keyName(step.key));
        model.set(keyName(step.key), json);
      } else if (step.kind === 'delete') {
        expect(jsonOfEntry(table.delete(keyName(step.key))!)).toBe(model.get(keyName(step.key)));
        model.delete(keyName(step.key));
        expect(table.oldestKey()).toBe(model.keys().next().value);
        if (model.size === 2_500) expect(table.entries().map((entry) => [keyOfEntry(entry), jsonOfEntry(entry)])).toEqual([...model]);
      } else {
        expect(table.oldestKey()).toBe(model.keys().next().value);
      }
    }
    expect(table.size).toBe(0);
    expect(table.oldestKey()).toBeUndefined();
    expect(table.entries()).toEqual([]);
  });

  it('clear empties it and it stays usable', () => {
    const table = new CompactEntries();
    for (let i = 0; i < 100; i++) table.set(keyName(i), '{}', HOUR);
    table.clear();
    expect(table.size).toBe(0);
    expect(table.get(keyName(1))).toBeUndefined();
    table.set(keyName(1), '{"a":1}', HOUR);
    expect(jsonOfEntry(table.get(keyName(1))!)).toBe('{"a":1}');
  });
});
