import { describe, expect, it } from '@jest/globals';
import { IdTokens, isWellFormedId } from '../../../src/core/idToken.js';

const SECRET = 'test-secret-of-at-least-32-characters!!';
const OTHER = 'another-secret-of-at-least-32-characters';
const TOKEN_SHAPE = /^[A-Za-z0-9_-]{22}\.[0-9a-z]{1,10}\.[A-Za-z0-9_-]{24}$/;
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~';

describe('IdTokens.issue', () => {
  const tokens = new IdTokens([SECRET]);

  it('issues ids of the documented shape (22 random chars, base-36 start, 24 signature chars)', () => {
    for (let i = 0; i < 200; i++) {
      const id = tokens.issue();
      expect(id).toMatch(TOKEN_SHAPE);
      expect(isWellFormedId(id)).toBe(true);
    }
  });

  it('issues unique ids over 10,000 issues, even for the same start time', () => {
    const start = Date.now();
    const seen = new Set<string>();
    const randoms = new Set<string>();
    for (let i = 0; i < 10_000; i++) {
      const id = tokens.issue(start);
      seen.add(id);
      randoms.add(id.split('.')[0] as string);
    }
    expect(seen.size).toBe(10_000);
    expect(randoms.size).toBe(10_000);
  });

  it('encodes the start time in whole epoch seconds, base 36', () => {
    const start = 1_700_000_123_456;
    const id = tokens.issue(start);
    expect(id.split('.')[1]).toBe(Math.floor(start / 1000).toString(36));
  });
});

describe('IdTokens.verify', () => {
  const tokens = new IdTokens([SECRET]);

  it("verifies its own ids as 'signed' with the start time truncated to seconds", () => {
    const start = 1_700_000_123_456;
    const check = tokens.verify(tokens.issue(start));
    expect(check).toEqual({ kind: 'signed', startedAt: 1_700_000_123_000 });
  });

  it('defaults the start time to now', () => {
    const before = Math.floor(Date.now() / 1000) * 1000;
    const check = tokens.verify(tokens.issue());
    const after = Date.now();
    expect(check.kind).toBe('signed');
    if (check.kind !== 'signed') return;
    expect(check.startedAt).toBeGreaterThanOrEqual(before);
    expect(check.startedAt).toBeLessThanOrEqual(after);
  });

  it('verifies with another instance sharing the secret (ids survive restarts and span instances)', () => {
    const id = tokens.issue(1_700_000_000_000);
    expect(new IdTokens([SECRET]).verify(id)).toEqual({ kind: 'signed', startedAt: 1_700_000_000_000 });
  });

  it('rotates secrets: ids signed with the old secret verify with [new, old], new ids are signed with the new one', () => {
    const oldTokens = new IdTokens([OTHER]);
    const rotated = new IdTokens([SECRET, OTHER]);
    const oldId = oldTokens.issue(1_700_000_000_000);
    expect(rotated.verify(oldId)).toEqual({ kind: 'signed', startedAt: 1_700_000_000_000 });
    const newId = rotated.issue(1_700_000_000_000);
    expect(new IdTokens([SECRET]).verify(newId).kind).toBe('signed');
    // The old secret alone does not verify ids signed after the rotation: the first secret signs.
    expect(oldTokens.verify(newId)).toEqual({ kind: 'bad-signature' });
  });

  it("reports 'bad-signature' for an id signed with another secret", () => {
    const foreignSigned = new IdTokens([OTHER]).issue();
    expect(tokens.verify(foreignSigned)).toEqual({ kind: 'bad-signature' });
  });

  it("never reports 'signed' when any single character of any part is changed", () => {
    const id = tokens.issue(1_700_000_000_000);
    let variants = 0;
    for (let i = 0; i < id.length; i++) {
      const original = id[i] as string;
      // Three replacements per position: neighbours in the alphabet and a case flip.
      const at = ALPHABET.indexOf(original);
      const replacements = new Set([
        ALPHABET[(at + 1) % ALPHABET.length] as string,
        ALPHABET[(at + 7) % ALPHABET.length] as string,
        original === original.toUpperCase() ? original.toLowerCase() : original.toUpperCase(),
      ]);
      replacements.delete(original);
      for (const replacement of replacements) {
        const tampered = id.slice(0, i) + replacement + id.slice(i + 1);
        expect(tampered).not.toBe(id);
        const check = tokens.verify(tampered);
        expect(['bad-signature', 'foreign']).toContain(check.kind);
        variants++;
      }
    }
    expect(variants).toBeGreaterThan(id.length * 2);
  });

  it("reports 'bad-signature' for a tampered start time (a client cannot extend its session)", () => {
    const id = tokens.issue(1_700_000_000_000);
    const [random, start, signature] = id.split('.') as [string, string, string];
    const later = (parseInt(start, 36) + 3600).toString(36);
    expect(tokens.verify(`${random}.${later}.${signature}`)).toEqual({ kind: 'bad-signature' });
  });

  it("reports 'foreign' for well-formed ids not of our shape", () => {
    expect(tokens.verify('abcdefgh')).toEqual({ kind: 'foreign' });
    expect(tokens.verify('3f2504e0-4f89-41d3-9a0c-0305e82c3301')).toEqual({ kind: 'foreign' });
    const id = tokens.issue();
    expect(tokens.verify(`${id}x`)).toEqual({ kind: 'foreign' });
    expect(tokens.verify(id.slice(0, -1))).toEqual({ kind: 'foreign' });
    expect(tokens.verify(id.replace(/\./g, '~'))).toEqual({ kind: 'foreign' });
  });
});

describe('isWellFormedId', () => {
  it('accepts 8 to 128 characters and rejects 7 and 129', () => {
    expect(isWellFormedId('a'.repeat(7))).toBe(false);
    expect(isWellFormedId('a'.repeat(8))).toBe(true);
    expect(isWellFormedId('a'.repeat(128))).toBe(true);
    expect(isWellFormedId('a'.repeat(129))).toBe(false);
    expect(isWellFormedId('')).toBe(false);
  });

  it('accepts exactly the unreserved URL alphabet A-Z a-z 0-9 - _ . ~', () => {
    expect(isWellFormedId('AZaz09-_.~')).toBe(true);
    for (const bad of [' ', '/', '+', '=', ';', ',', '"', '%', '\r', '\n', '\0', 'é', '€', ':', '@', '!', '*']) {
      expect(isWellFormedId(`abcdefgh${bad}`)).toBe(false);
      expect(isWellFormedId(`${bad}abcdefgh`)).toBe(false);
    }
  });

  it('rejects header-injection attempts', () => {
    expect(isWellFormedId('abcdefgh\r\nSet-Cookie: x=1')).toBe(false);
    expect(isWellFormedId('abcdefgh\nabcdefgh')).toBe(false);
  });
});
