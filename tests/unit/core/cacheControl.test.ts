/**
 * core/cacheControl.ts: the `Cache-Control` a response carrying the session id gets, so that no
 * shared cache stores it, and the same rule applied to a Web `Headers` object.
 */
import { describe, expect, it } from '@jest/globals';
import { applyCacheControl, privateCacheControl } from '../../../src/core/cacheControl.js';

describe('privateCacheControl', () => {
  describe('no Cache-Control set: no-store', () => {
    it.each([
      ['undefined', undefined],
      ['an empty string', ''],
      ['only whitespace and commas', ' , ,\t'],
      ['an empty list', []],
    ])('%s', (_label, existing) => {
      expect(privateCacheControl(existing)).toBe('no-store');
    });
  });

  describe('already kept out of shared caches: left as is', () => {
    it.each([
      'private',
      'no-store',
      'private, max-age=5',
      'max-age=5, private',
      'no-store, no-cache, must-revalidate',
      'PRIVATE, Max-Age=5',
      'No-Store',
      '  private  ',
      'public, private',
      'max-age=60,no-store',
      's-maxage=600, no-store',
    ])('%j', (existing) => {
      expect(privateCacheControl(existing)).toBeUndefined();
    });
  });

  describe('storable by shared caches: made private', () => {
    it.each([
      ['public, max-age=86400', 'private, max-age=86400'],
      ['max-age=60', 'private, max-age=60'],
      ['s-maxage=600', 'private'],
      ['max-age=60, s-maxage=600', 'private, max-age=60'],
      ['no-cache', 'private, no-cache'],
      ['must-revalidate', 'private, must-revalidate'],
      ['public', 'private'],
      ['PUBLIC, MAX-AGE=10', 'private, MAX-AGE=10'],
      ['public, max-age=60, proxy-revalidate, must-revalidate', 'private, max-age=60, must-revalidate'],
      ['public,max-age=60,immutable', 'private, max-age=60, immutable'],
      ['S-MaxAge = 600 , max-age=5', 'private, max-age=5'],
      ['max-age=0, no-cache, no-transform', 'private, max-age=0, no-cache, no-transform'],
      ['public, , max-age=1,', 'private, max-age=1'],
      ['stale-while-revalidate=30, public', 'private, stale-while-revalidate=30'],
    ])('%j -> %j', (existing, expected) => {
      expect(privateCacheControl(existing)).toBe(expected);
    });

    it('a number value (setHeader accepts one) is read as text', () => {
      expect(privateCacheControl(0)).toBe('private, 0');
    });
  });

  describe('directives, not substrings', () => {
    it('"private" or "no-store" inside a quoted argument does not count', () => {
      expect(privateCacheControl('no-cache="private, no-store", max-age=60')).toBe('private, no-cache="private, no-store", max-age=60');
    });

    it('a comma inside a quoted string does not split the directive', () => {
      expect(privateCacheControl('public, no-cache="Set-Cookie, X-Session-ID"')).toBe('private, no-cache="Set-Cookie, X-Session-ID"');
    });

    it('an escaped quote does not end the quoted string', () => {
      expect(privateCacheControl('ext="a\\", private", public')).toBe('private, ext="a\\", private"');
    });

    it('an escaped backslash does end it before the quote', () => {
      expect(privateCacheControl('ext="a\\\\", private')).toBeUndefined();
    });

    it('names that only start or end like private/no-store/public do not count', () => {
      expect(privateCacheControl('privateish, x-no-store, publicity')).toBe('private, privateish, x-no-store, publicity');
    });

    it('private="field" lets shared caches store the rest, so it becomes a bare private', () => {
      expect(privateCacheControl('private="Set-Cookie", max-age=60')).toBe('private, max-age=60');
      expect(privateCacheControl('public, PRIVATE="X-Session-ID"')).toBe('private');
    });

    it('no-store with an argument is not the no-store directive, so private is added', () => {
      expect(privateCacheControl('no-store="x"')).toBe('private, no-store="x"');
    });

    it('an unterminated quoted string keeps the rest in one directive (private is added)', () => {
      expect(privateCacheControl('public, ext="a, private')).toBe('private, ext="a, private');
    });
  });

  describe('list values (setHeader with an array, sent as several lines)', () => {
    it('are judged by their joined value', () => {
      expect(privateCacheControl(['public', 'max-age=86400'])).toBe('private, max-age=86400');
      expect(privateCacheControl(['max-age=5', 'private'])).toBeUndefined();
      expect(privateCacheControl(['no-store'])).toBeUndefined();
      expect(privateCacheControl(['public, s-maxage=600', 'must-revalidate'])).toBe('private, must-revalidate');
    });

    it('of empty lines mean no Cache-Control', () => {
      expect(privateCacheControl(['', ' '])).toBe('no-store');
    });
  });

  it('is idempotent: its result is left as is', () => {
    for (const existing of [undefined, 'public, max-age=86400', 's-maxage=1', 'no-cache', ['public', 'max-age=1']]) {
      const first = privateCacheControl(existing);
      expect(first).toBeDefined();
      expect(privateCacheControl(first)).toBeUndefined();
    }
  });
});

describe('applyCacheControl', () => {
  it('sets no-store where there is no Cache-Control', () => {
    const headers = new Headers({ 'content-type': 'text/plain' });
    applyCacheControl(headers);
    expect(headers.get('cache-control')).toBe('no-store');
    expect(headers.get('content-type')).toBe('text/plain');
  });

  it('makes a public value private', () => {
    const headers = new Headers({ 'Cache-Control': 'public, max-age=86400' });
    applyCacheControl(headers);
    expect(headers.get('cache-control')).toBe('private, max-age=86400');
  });

  it('leaves a private or no-store value untouched (not even re-spelled)', () => {
    const privateHeaders = new Headers({ 'Cache-Control': 'Private,  max-age=5' });
    applyCacheControl(privateHeaders);
    expect(privateHeaders.get('cache-control')).toBe('Private,  max-age=5');
    const noStore = new Headers({ 'Cache-Control': 'no-store' });
    applyCacheControl(noStore);
    expect(noStore.get('cache-control')).toBe('no-store');
  });

  it('judges appended lines together and leaves one line', () => {
    const headers = new Headers();
    headers.append('cache-control', 'public');
    headers.append('cache-control', 'max-age=60');
    applyCacheControl(headers);
    expect(headers.get('cache-control')).toBe('private, max-age=60');
    const kept = new Headers();
    kept.append('cache-control', 'max-age=60');
    kept.append('cache-control', 'private');
    applyCacheControl(kept);
    expect(kept.get('cache-control')).toBe('max-age=60, private');
  });

  it('leaves the other headers, Set-Cookie included, alone', () => {
    const headers = new Headers({ 'cache-control': 's-maxage=600', 'x-session-id': 'abc' });
    headers.append('set-cookie', 'a=1');
    headers.append('set-cookie', 'session_id=abc; Path=/');
    applyCacheControl(headers);
    expect(headers.get('cache-control')).toBe('private');
    expect(headers.getSetCookie()).toEqual(['a=1', 'session_id=abc; Path=/']);
    expect(headers.get('x-session-id')).toBe('abc');
  });
});
