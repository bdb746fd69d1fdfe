import { runInNewContext } from 'node:vm';
import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { SessionError } from '../../../src/core/SessionError.js';
import { assertKey, recordFromJson, recordToJson, toJson } from '../../../src/core/serialize.js';

/** The SessionError `run` throws (fails the test if it throws anything else, or nothing). */
function refusal(run: () => unknown): SessionError {
  let caught: unknown;
  try {
    run();
  } catch (error) {
    caught = error;
  }
  if (!SessionError.is(caught)) throw new Error(`expected a SessionError, got ${String(caught)}`);
  return caught;
}

class User {
  constructor(readonly name: string) {}
}

class Money {
  constructor(readonly cents: number) {}
  toJSON(): string {
    return `${(this.cents / 100).toFixed(2)} EUR`;
  }
}

/** Every kind of value toJson must refuse, with the end of the message it must give. */
const REFUSED: Array<[label: string, make: () => unknown, reason: string]> = [
  ['Map', () => new Map([[1, 2]]), 'is a Map'],
  ['empty Map', () => new Map(), 'is a Map'],
  ['Set', () => new Set([1]), 'is a Set'],
  ['WeakMap', () => new WeakMap(), 'is a WeakMap'],
  ['WeakSet', () => new WeakSet(), 'is a WeakSet'],
  ['RegExp', () => /ab+c/giu, 'is a RegExp'],
  ['Error', () => new Error('boom'), 'is an Error'],
  ['TypeError', () => new TypeError('boom'), 'is a TypeError'],
  ['Uint8Array', () => new Uint8Array([1, 2]), 'is a Uint8Array'],
  ['Float64Array', () => new Float64Array(2), 'is a Float64Array'],
  ['ArrayBuffer', () => new ArrayBuffer(8), 'is an ArrayBuffer'],
  ['DataView', () => new DataView(new ArrayBuffer(8)), 'is a DataView'],
  ['Promise', () => Promise.resolve(1), 'is a Promise'],
  ['class instance without toJSON', () => new User('ada'), 'is a User'],
  ['instance of an anonymous class', () => new (class {})(), 'is an object with a custom prototype and no toJSON method'],
  ['object with a custom prototype', () => Object.create({ inherited: 1 }) as object, 'is an object with a custom prototype and no toJSON method'],
  ['boxed number', () => Object(1) as object, 'is a Number'],
  ['boxed string', () => Object('text') as object, 'is a String'],
  ['function', () => () => 1, 'is a function'],
  ['class (a function)', () => User, 'is a function'],
  ['symbol', () => Symbol('s'), 'is a symbol'],
  ['BigInt', () => 10n, 'is a BigInt'],
  ['NaN', () => Number.NaN, 'is NaN (JSON would store null)'],
  ['Infinity', () => Number.POSITIVE_INFINITY, 'is Infinity (JSON would store null)'],
  ['-Infinity', () => Number.NEGATIVE_INFINITY, 'is -Infinity (JSON would store null)'],
  ['invalid Date', () => new Date(Number.NaN), 'is an invalid Date (JSON would store null)'],
  ['toJSON returning a Map', () => ({ toJSON: () => new Map() }), 'is a Map (returned by its toJSON)'],
  ['toJSON returning NaN', () => ({ toJSON: () => Number.NaN }), 'is NaN (JSON would store null) (returned by its toJSON)'],
  ['toJSON returning a function', () => ({ toJSON: () => () => 1 }), 'is a function (returned by its toJSON)'],
  ['toJSON returning a Date (JSON does not call its toJSON)', () => ({ toJSON: () => new Date(0) }), 'is a Date (returned by its toJSON)'],
];

describe('toJson: refused values', () => {
  it.each(REFUSED)('refuses a %s at the top level, naming it', (_label, make, reason) => {
    const error = refusal(() => toJson(make(), 'Value of "k"'));
    expect(error.kind).toBe('invalid-value');
    expect(error.message).toBe(`Value of "k" ${reason}`);
  });

  it.each(REFUSED)('refuses a %s nested in objects and arrays, naming its path', (_label, make, reason) => {
    const inObject = refusal(() => toJson({ a: { ok: 1, b: make() } }, 'Value of "k"'));
    expect(inObject.kind).toBe('invalid-value');
    expect(inObject.message).toBe(`Value of "k" at a.b ${reason}`);
    const inArray = refusal(() => toJson([1, [null, make()]], 'Value of "k"'));
    expect(inArray.message).toBe(`Value of "k" at [1][1] ${reason}`);
    const mixed = refusal(() => toJson({ list: [{}, { 'odd key': [make()] }] }, 'Value of "k"'));
    expect(mixed.message).toBe(`Value of "k" at list[1]["odd key"][0] ${reason}`);
  });

  it('gives the documented message for a Map deep in a cart', () => {
    const cart = { items: [{ sku: 'a' }, { sku: 'b' }, { sku: 'c', when: new Map([[1, 2]]) }] };
    const error = refusal(() => toJson(cart, 'Value of "cart"'));
    expect(error).toBeInstanceOf(SessionError);
    expect(error.kind).toBe('invalid-value');
    expect(error.message).toBe('Value of "cart" at items[2].when is a Map');
  });

  it('refuses a value inside the result of a toJSON, naming the path through it', () => {
    const error = refusal(() => toJson({ money: { toJSON: () => ({ amount: [1, new Set()] }) } }, 'Value of "k"'));
    expect(error.message).toBe('Value of "k" at money.amount[1] is a Set');
  });

  it('refuses cycles at any depth, through objects and arrays', () => {
    const self: Record<string, unknown> = {};
    self.self = self;
    expect(refusal(() => toJson(self, 'Value of "c"')).message).toBe('Value of "c" at self is a circular reference');
    const list: unknown[] = [1];
    list.push({ back: list });
    expect(refusal(() => toJson(list, 'Value of "c"')).message).toBe('Value of "c" at [1].back is a circular reference');
    const deep: Record<string, unknown> = { a: { b: {} } };
    (deep.a as { b: Record<string, unknown> }).b.up = deep.a;
    expect(refusal(() => toJson({ wrap: deep }, 'Value of "c"')).message).toBe('Value of "c" at wrap.a.b.up is a circular reference');
    const viaToJson: Record<string, unknown> = {};
    viaToJson.x = { toJSON: () => viaToJson };
    expect(refusal(() => toJson(viaToJson, 'Value of "c"')).message).toBe(
      'Value of "c" at x is a circular reference (returned by its toJSON)',
    );
  });

  it('turns what a toJSON or a getter throws into invalid-value, keeping the cause', () => {
    const boom = new Error('boom');
    for (const value of [
      { nested: { toJSON: () => { throw boom; } } },
      { get nested(): unknown { throw boom; } },
    ]) {
      const error = refusal(() => toJson(value, 'Value of "k"'));
      expect(error.kind).toBe('invalid-value');
      expect(error.message).toBe('Value of "k" is not JSON-serializable');
      expect(error.cause).toBe(boom);
    }
  });

  it('refuses nesting deeper than the stack allows with invalid-value, not a RangeError', () => {
    let deep: unknown = 1;
    for (let i = 0; i < 200_000; i++) deep = [deep];
    const error = refusal(() => toJson(deep, 'Value of "k"'));
    expect(error.kind).toBe('invalid-value');
    expect(error.cause).toBeInstanceOf(RangeError);
  });
});

describe('toJson: allowed values', () => {
  it.each<[string, unknown, string | undefined]>([
    ['null', null, 'null'],
    ['true', true, 'true'],
    ['false', false, 'false'],
    ['a string', 'ünï "q" \n', JSON.stringify('ünï "q" \n')],
    ['zero', 0, '0'],
    ['-0 (as JSON writes it)', -0, '0'],
    ['a fraction', -1.5, '-1.5'],
    ['a large number', 1e21, '1e+21'],
    ['Number.MAX_VALUE', Number.MAX_VALUE, JSON.stringify(Number.MAX_VALUE)],
    ['an empty array', [], '[]'],
    ['an empty object', {}, '{}'],
    ['nested plain data', { a: [1, 'two', null, { c: true }], b: { d: {} } }, '{"a":[1,"two",null,{"c":true}],"b":{"d":{}}}'],
    ['a null-prototype object', Object.assign(Object.create(null) as object, { a: 1 }), '{"a":1}'],
    ['undefined as an object field (dropped)', { a: undefined, b: 1 }, '{"b":1}'],
    ['undefined in an array (null)', [undefined, 1], '[null,1]'],
    ['a hole in an array (null)', [1, , 3], '[1,null,3]'],
    ['a Date (its ISO string)', new Date('2024-01-02T03:04:05.678Z'), '"2024-01-02T03:04:05.678Z"'],
    ['a nested Date', { when: [new Date(0)] }, '{"when":["1970-01-01T00:00:00.000Z"]}'],
    ['a class instance with toJSON', { price: new Money(1250) }, '{"price":"12.50 EUR"}'],
    ['a toJSON returning a plain object', { x: { toJSON: () => ({ y: [1] }) } }, '{"x":{"y":[1]}}'],
    ['a toJSON returning undefined, in an object (dropped)', { x: { toJSON: () => undefined }, y: 1 }, '{"y":1}'],
    ['a toJSON returning undefined, in an array (null)', [{ toJSON: () => undefined }], '[null]'],
    ['a Buffer (its toJSON)', Buffer.from([1, 2]), '{"type":"Buffer","data":[1,2]}'],
    ['symbol-keyed properties (ignored)', { [Symbol('s')]: new Map(), a: 1 }, '{"a":1}'],
    ['non-enumerable properties (ignored)', Object.defineProperty({ a: 1 }, 'hidden', { value: new Map() }), '{"a":1}'],
    ['extra properties of an array (ignored, as JSON ignores them)', Object.assign([1], { extra: new Map() }), '[1]'],
    ['undefined at the top level (no JSON)', undefined, undefined],
    ['a toJSON returning undefined at the top level (no JSON)', { toJSON: () => undefined }, undefined],
  ])('accepts %s, giving what JSON.stringify gives', (_label, value, expected) => {
    expect(toJson(value, 'Value of "k"')).toBe(expected);
    expect(toJson(value, 'Value of "k"')).toBe(JSON.stringify(value));
  });

  it('accepts an object shared (not circular) by several fields', () => {
    const shared = { a: 1 };
    expect(toJson({ x: shared, y: [shared, shared] }, 'v')).toBe('{"x":{"a":1},"y":[{"a":1},{"a":1}]}');
  });

  it('accepts plain objects and arrays from another realm (a vm context)', () => {
    const foreign: unknown = runInNewContext('({ a: [1, { b: null }], c: Object.create(null) })');
    expect(Object.getPrototypeOf(foreign)).not.toBe(Object.prototype);
    expect(toJson(foreign, 'v')).toBe('{"a":[1,{"b":null}],"c":{}}');
    expect(refusal(() => toJson(runInNewContext('({ m: new Map() })'), 'v')).message).toBe('v at m is a Map');
  });

  it('calls toJSON with the key, as JSON.stringify does', () => {
    const keys: string[] = [];
    const probe = { toJSON: (key: string) => (keys.push(key), key) };
    expect(toJson({ field: probe, list: [probe] }, 'v')).toBe('{"field":"field","list":["0"]}');
    expect(toJson(probe, 'v')).toBe('""');
    // once by the check, once by JSON.stringify
    expect(keys).toEqual(['field', '0', 'field', '0', '', '']);
  });

  it('accepts, and round-trips, every value fast-check generates with jsonValue()', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        const json = toJson(value, 'v');
        expect(json).toBe(JSON.stringify(value));
        expect(JSON.parse(json as string)).toStrictEqual(withoutNegativeZero(value));
        expect(recordFromJson(recordToJson({ value }))).toStrictEqual({ value: withoutNegativeZero(value) });
      }),
      { numRuns: 500 },
    );
  });

  it('refuses a Map placed anywhere in a JSON value, naming a path that leads to it', () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.nat(), fc.constantFrom('k', 'odd key', '0'), (value, pick, key) => {
        const bad = new Map();
        const root = { root: structuredClone(value) };
        const containers = collectContainers(root);
        const target = containers[pick % containers.length]!;
        if (Array.isArray(target)) target.push(bad);
        else Object.defineProperty(target, key, { value: bad, enumerable: true, configurable: true, writable: true });
        const error = refusal(() => toJson(root, 'v'));
        expect(error.kind).toBe('invalid-value');
        const match = /^v at (.*) is a Map$/.exec(error.message);
        expect(match).not.toBeNull();
        expect(follow(root, match![1]!)).toBe(bad);
      }),
      { numRuns: 300 },
    );
  });
});

describe('recordToJson / recordFromJson', () => {
  it('writes a plain record and reads it back as a fresh object', () => {
    const data = { user: 'ada', when: new Date(0), cart: [{ n: 1 }], gone: undefined };
    const json = recordToJson(data);
    expect(json).toBe('{"user":"ada","when":"1970-01-01T00:00:00.000Z","cart":[{"n":1}]}');
    expect(recordFromJson(json)).toStrictEqual({ user: 'ada', when: '1970-01-01T00:00:00.000Z', cart: [{ n: 1 }] });
    expect(recordToJson(Object.assign(Object.create(null) as object, { a: 1 }))).toBe('{"a":1}');
  });

  it.each<[string, unknown]>([
    ['an array', [1]],
    ['null', null],
    ['a string', 'text'],
    ['a Map', new Map()],
    ['a Date', new Date(0)],
    ['a class instance', new User('ada')],
    ['an object with toJSON', { toJSON: () => ({}) }],
  ])('refuses %s as session data', (_label, data) => {
    const error = refusal(() => recordToJson(data));
    expect(error.kind).toBe('invalid-value');
    expect(error.message).toBe('Session data must be a plain object');
  });

  it('names the field and the path of a refused value', () => {
    expect(refusal(() => recordToJson({ ok: 1, cart: { items: [new Set()] } })).message).toBe('Value of "cart" at items[0] is a Set');
    expect(refusal(() => recordToJson({ fn: () => 1 })).message).toBe('Value of "fn" is a function');
    const data: Record<string, unknown> = { a: 1 };
    data.b = { back: data };
    expect(refusal(() => recordToJson(data)).message).toBe('Value of "b" at back is a circular reference');
  });

  it("refuses bad keys with 'invalid-key' before looking at values", () => {
    expect(refusal(() => recordToJson({ '': new Map() })).kind).toBe('invalid-key');
    expect(refusal(() => recordToJson(JSON.parse('{"__proto__": 1}'))).kind).toBe('invalid-key');
  });
});

describe('assertKey', () => {
  it('accepts non-empty strings other than __proto__', () => {
    expect(() => assertKey('a')).not.toThrow();
    for (const bad of ['', '__proto__', 1, undefined]) expect(refusal(() => assertKey(bad)).kind).toBe('invalid-key');
  });
});

/** `value` with every -0 turned into 0, as JSON writes it. */
function withoutNegativeZero(value: unknown): unknown {
  if (Object.is(value, -0)) return 0;
  if (Array.isArray(value)) return value.map(withoutNegativeZero);
  if (typeof value === 'object' && value !== null) {
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) Object.defineProperty(out, key, { value: withoutNegativeZero(item), enumerable: true, configurable: true, writable: true });
    return out;
  }
  return value;
}

/** Every array and object in `value`, itself included. */
function collectContainers(value: unknown, out: object[] = []): object[] {
  if (typeof value === 'object' && value !== null) {
    out.push(value);
    for (const item of Object.values(value)) collectContainers(item, out);
  }
  return out;
}

/** Follows a path as toJson writes it (`a.b[1]["odd key"]`) from `root`. */
function follow(root: unknown, path: string): unknown {
  let at: unknown = root;
  let rest = path;
  const step = /^(?:\.?([A-Za-z_$][\w$]*)|\[(\d+)\]|\[("(?:[^"\\]|\\.)*")\])/;
  while (rest.length > 0) {
    const match = step.exec(rest);
    if (!match) throw new Error(`cannot parse path ${path} at ${rest}`);
    const key = match[1] ?? match[2] ?? (JSON.parse(match[3]!) as string);
    at = (at as Record<string, unknown>)[key];
    rest = rest.slice(match[0].length);
  }
  return at;
}
