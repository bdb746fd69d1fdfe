import { describe, expect, it } from '@jest/globals';
import { readCookie, serializeCookie, type CookieAttributes } from '../../../src/core/cookie.js';

const DEFAULTS: CookieAttributes = {
  httpOnly: true,
  sameSite: 'Lax',
  path: '/',
  domain: undefined,
  partitioned: false,
  priority: undefined,
  persistent: true,
};

describe('readCookie', () => {
  it('reads a cookie among others', () => {
    expect(readCookie('a=1; session_id=abc; b=2', 'session_id')).toBe('abc');
    expect(readCookie('session_id=abc', 'session_id')).toBe('abc');
    expect(readCookie('a=1; session_id=abc', 'session_id')).toBe('abc');
  });

  it('lets the first occurrence win', () => {
    expect(readCookie('session_id=first; session_id=second', 'session_id')).toBe('first');
    expect(readCookie('x=0; session_id=first; y=1; session_id=second', 'session_id')).toBe('first');
  });

  it('strips surrounding double quotes', () => {
    expect(readCookie('session_id="abc"', 'session_id')).toBe('abc');
    expect(readCookie('a=1; session_id="abc" ; b=2', 'session_id')).toBe('abc');
    // A lone quote is not a quoted value.
    expect(readCookie('session_id="', 'session_id')).toBe('"');
    expect(readCookie('session_id=""', 'session_id')).toBe('');
  });

  it('tolerates whitespace around names, values and separators', () => {
    expect(readCookie('  session_id  =  abc  ', 'session_id')).toBe('abc');
    expect(readCookie('a=1;session_id=abc;b=2', 'session_id')).toBe('abc');
    expect(readCookie('a=1 ;   session_id=abc   ; b=2', 'session_id')).toBe('abc');
  });

  it('does not match names that merely end or start with the wanted name', () => {
    expect(readCookie('xsession_id=1; session_id=2', 'session_id')).toBe('2');
    expect(readCookie('session_idx=1; session_id=2', 'session_id')).toBe('2');
    expect(readCookie('xsession_id=1', 'session_id')).toBeUndefined();
    expect(readCookie('session_id_old=1', 'session_id')).toBeUndefined();
  });

  it('does not take a value for a name', () => {
    expect(readCookie('a=session_id; b=2', 'session_id')).toBeUndefined();
    expect(readCookie('a=session_id=1', 'session_id')).toBeUndefined();
  });

  it('keeps "=" inside values and skips segments without "="', () => {
    expect(readCookie('session_id=a=b', 'session_id')).toBe('a=b');
    expect(readCookie('flag; session_id=abc', 'session_id')).toBe('abc');
  });

  it('returns undefined when the cookie is missing or the header is empty or absent', () => {
    expect(readCookie('a=1; b=2', 'session_id')).toBeUndefined();
    expect(readCookie('', 'session_id')).toBeUndefined();
    expect(readCookie(undefined, 'session_id')).toBeUndefined();
    expect(readCookie(';;;', 'session_id')).toBeUndefined();
  });

  it('returns an empty string for an empty value', () => {
    expect(readCookie('session_id=; b=2', 'session_id')).toBe('');
  });
});

describe('serializeCookie', () => {
  it('writes the default attributes in a fixed order', () => {
    expect(serializeCookie('session_id', 'abc', 3600, false, DEFAULTS)).toBe(
      'session_id=abc; Max-Age=3600; Path=/; HttpOnly; SameSite=Lax',
    );
  });

  it('writes every attribute, in order: Max-Age, Path, Domain, HttpOnly, Secure, SameSite, Partitioned, Priority', () => {
    const all: CookieAttributes = {
      httpOnly: true,
      sameSite: 'None',
      path: '/app',
      domain: 'example.com',
      partitioned: true,
      priority: 'High',
      persistent: true,
    };
    expect(serializeCookie('__Secure-sid', 'v', 60, true, all)).toBe(
      '__Secure-sid=v; Max-Age=60; Path=/app; Domain=example.com; HttpOnly; Secure; SameSite=None; Partitioned; Priority=High',
    );
  });

  it('omits attributes that are off', () => {
    const none: CookieAttributes = { ...DEFAULTS, httpOnly: false, sameSite: undefined };
    expect(serializeCookie('sid', 'v', 10, false, none)).toBe('sid=v; Max-Age=10; Path=/');
  });

  it('adds Secure only when asked', () => {
    expect(serializeCookie('sid', 'v', 10, true, DEFAULTS)).toContain('; Secure');
    expect(serializeCookie('sid', 'v', 10, false, DEFAULTS)).not.toContain('Secure');
  });

  it('adds an Expires in the past with Max-Age=0 (clearing the cookie in old browsers too)', () => {
    expect(serializeCookie('session_id', '', 0, false, DEFAULTS)).toBe(
      'session_id=; Max-Age=0; Path=/; Expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly; SameSite=Lax',
    );
    expect(serializeCookie('session_id', 'abc', 1, false, DEFAULTS)).not.toContain('Expires');
  });

  it('round-trips through readCookie', () => {
    const line = serializeCookie('session_id', 'abc.def.ghi', 60, true, DEFAULTS);
    const pair = line.split(';')[0] as string;
    expect(readCookie(`other=1; ${pair}`, 'session_id')).toBe('abc.def.ghi');
  });

  it('writes no Max-Age for a browser-session cookie, and still clears with Max-Age=0', () => {
    expect(serializeCookie('sid', 'v', undefined, false, DEFAULTS)).toBe('sid=v; Path=/; HttpOnly; SameSite=Lax');
    expect(serializeCookie('sid', '', 0, false, DEFAULTS)).toBe('sid=; Max-Age=0; Path=/; Expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly; SameSite=Lax');
  });
});
