import { describe, expect, it } from '@jest/globals';
import { SessionError, type SessionErrorKind } from '../../../src/index.js';

const KINDS: SessionErrorKind[] = [
  'invalid-option',
  'invalid-value',
  'invalid-key',
  'invalid-id',
  'store-error',
  'store-timeout',
  'not-a-number',
  'unsupported-request',
  'too-large',
  'session-closed',
  'store-unavailable',
];

describe('SessionError', () => {
  it('is an Error with name, kind and message', () => {
    const error = new SessionError('store-error', 'Session store failed on load');
    expect(error).toBeInstanceOf(Error);
    expect(error).toBeInstanceOf(SessionError);
    expect(error.name).toBe('SessionError');
    expect(error.kind).toBe('store-error');
    expect(error.message).toBe('Session store failed on load');
    expect(error.option).toBeUndefined();
    expect(String(error)).toBe('SessionError: Session store failed on load');
    expect(error.stack).toContain('SessionError');
  });

  it.each(KINDS)('gives %s the right HTTP status', (kind) => {
    const error = new SessionError(kind, 'x');
    const expected = kind === 'store-error' || kind === 'store-timeout' || kind === 'store-unavailable' ? 503 : 500;
    expect(error.status).toBe(expected);
    expect(error.statusCode).toBe(expected);
    expect(error.expose).toBe(false);
  });

  it('keeps the cause, and has none when not given', () => {
    const cause = new Error('ECONNREFUSED');
    expect(new SessionError('store-error', 'failed', { cause }).cause).toBe(cause);
    expect('cause' in new SessionError('store-error', 'failed')).toBe(false);
  });

  it('names the option of an invalid-option error', () => {
    const error = new SessionError('invalid-option', 'bad', { option: 'maxAge' });
    expect(error.option).toBe('maxAge');
  });

  describe('is', () => {
    it('recognises SessionErrors, including ones from another copy of the package', () => {
      expect(SessionError.is(new SessionError('invalid-key', 'x'))).toBe(true);
      // Another copy of the package brands its errors with the same registered symbol.
      const fromOtherCopy = Object.assign(new Error('x'), {
        [Symbol.for('swarmauri-middleware-session/SessionError')]: true,
        kind: 'store-timeout',
      });
      expect(SessionError.is(fromOtherCopy)).toBe(true);
    });

    it('refuses anything else', () => {
      for (const value of [new Error('x'), { name: 'SessionError', kind: 'store-error' }, null, undefined, 'SessionError', 42]) {
        expect(SessionError.is(value)).toBe(false);
      }
    });

    it('narrows to SessionError', () => {
      const value: unknown = new SessionError('store-timeout', 'x');
      expect(SessionError.is(value) ? value.kind : undefined).toBe('store-timeout');
    });
  });

  describe('invalidOption', () => {
    it('builds an invalid-option error naming the option, the expectation and the value', () => {
      const error = SessionError.invalidOption('maxAge', 'a positive number of seconds', -1);
      expect(error.kind).toBe('invalid-option');
      expect(error.option).toBe('maxAge');
      expect(error.status).toBe(500);
      expect(error.message).toBe('Invalid option maxAge: expected a positive number of seconds, got -1');
    });

    it.each([
      ['a string', 'x', '"x"'],
      ['a long string, cut', 'y'.repeat(100), `"${'y'.repeat(40)}…"`],
      ['a function', () => 1, 'a function'],
      ['an array', [1], 'an array'],
      ['null', null, 'null'],
      ['an object', { a: 1 }, 'an object'],
      ['undefined', undefined, 'undefined'],
      ['NaN', Number.NaN, 'NaN'],
      ['false', false, 'false'],
    ])('describes %s', (_label, value, described) => {
      expect(SessionError.invalidOption('opt', 'something', value).message).toBe(`Invalid option opt: expected something, got ${described}`);
    });

    it('never echoes a long secret in full', () => {
      const secret = 's'.repeat(64);
      expect(SessionError.invalidOption('secret', 'x', secret).message).not.toContain(secret);
    });
  });
});
