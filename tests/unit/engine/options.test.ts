import { afterAll, describe, expect, it } from '@jest/globals';
import { resolveOptions } from '../../../src/engine/options.js';
import { MemoryStore, SessionError, SessionMiddleware, type SessionMiddlewareOptions } from '../../../src/index.js';
import { caught } from '../../support/errors.js';

const SECRET = 'test-secret-of-at-least-32-characters!!';

/** A bad option, the option the error must name, and a label for the test title. */
interface BadCase {
  label: string;
  options: Record<string, unknown>;
  option: string | readonly string[];
}

const BAD: BadCase[] = [
  { label: 'maxAge 0', options: { maxAge: 0 }, option: 'maxAge' },
  { label: 'maxAge -1', options: { maxAge: -1 }, option: 'maxAge' },
  { label: 'maxAge NaN', options: { maxAge: Number.NaN }, option: 'maxAge' },
  { label: "maxAge 'x'", options: { maxAge: 'x' }, option: 'maxAge' },
  { label: 'maxAge Infinity', options: { maxAge: Number.POSITIVE_INFINITY }, option: 'maxAge' },
  { label: 'absoluteTimeout 0', options: { absoluteTimeout: 0 }, option: 'absoluteTimeout' },
  { label: 'touchAfter > maxAge', options: { maxAge: 10, touchAfter: 11 }, option: 'touchAfter' },
  { label: 'touchAfter = maxAge (would never refresh)', options: { maxAge: 10, touchAfter: 10 }, option: 'touchAfter' },
  { label: 'touchAfter -1', options: { touchAfter: -1 }, option: 'touchAfter' },
  { label: 'storeTimeout 0', options: { storeTimeout: 0 }, option: 'storeTimeout' },
  { label: "onStoreError 'x'", options: { onStoreError: 'x' }, option: 'onStoreError' },
  { label: "sessionHeader 'bad header'", options: { sessionHeader: 'bad header' }, option: 'sessionHeader' },
  { label: "sessionHeader ''", options: { sessionHeader: '' }, option: 'sessionHeader' },
  { label: 'sessionHeader true', options: { sessionHeader: true }, option: 'sessionHeader' },
  { label: "sessionCookie 'a;b'", options: { sessionCookie: 'a;b' }, option: 'sessionCookie' },
  { label: "sessionCookie 'a=b'", options: { sessionCookie: 'a=b' }, option: 'sessionCookie' },
  {
    label: 'both transports false',
    options: { sessionHeader: false, sessionCookie: false },
    option: ['sessionHeader', 'sessionCookie'],
  },
  { label: "secret ''", options: { secret: '' }, option: 'secret' },
  { label: 'secret []', options: { secret: [] }, option: 'secret' },
  { label: 'secret [1]', options: { secret: [1] }, option: 'secret' },
  { label: "secret ['ok', '']", options: { secret: [SECRET, ''] }, option: 'secret' },
  { label: 'secret 42', options: { secret: 42 }, option: 'secret' },
  { label: "cookie.sameSite 'x'", options: { cookie: { sameSite: 'x' } }, option: 'cookie.sameSite' },
  {
    label: "cookie.sameSite 'none' with secure false",
    options: { cookie: { sameSite: 'none', secure: false } },
    option: 'cookie.sameSite',
  },
  {
    label: 'cookie.partitioned with secure false',
    options: { cookie: { partitioned: true, secure: false } },
    option: 'cookie.partitioned',
  },
  { label: "cookie.secure 'yes'", options: { cookie: { secure: 'yes' } }, option: 'cookie.secure' },
  { label: "cookie.httpOnly 'yes'", options: { cookie: { httpOnly: 'yes' } }, option: 'cookie.httpOnly' },
  {
    label: '__Host- cookie without secure (auto)',
    options: { sessionCookie: '__Host-sid' },
    option: 'cookie.secure',
  },
  {
    label: '__Host- cookie with secure false',
    options: { sessionCookie: '__Host-sid', cookie: { secure: false } },
    option: 'cookie.secure',
  },
  {
    label: '__Host- cookie with a domain',
    options: { sessionCookie: '__Host-sid', cookie: { secure: true, domain: 'example.com' } },
    option: 'cookie.domain',
  },
  {
    label: "__Host- cookie with path '/x'",
    options: { sessionCookie: '__Host-sid', cookie: { secure: true, path: '/x' } },
    option: 'cookie.path',
  },
  {
    label: '__Secure- cookie without secure (auto)',
    options: { sessionCookie: '__Secure-sid' },
    option: 'cookie.secure',
  },
  {
    label: '__Secure- cookie with secure false',
    options: { sessionCookie: '__Secure-sid', cookie: { secure: false } },
    option: 'cookie.secure',
  },
  { label: "cookie.path 'no-slash'", options: { cookie: { path: 'no-slash' } }, option: 'cookie.path' },
  { label: "cookie.path '/a;b'", options: { cookie: { path: '/a;b' } }, option: 'cookie.path' },
  { label: 'cookie.path with a newline', options: { cookie: { path: '/a\r\nX: y' } }, option: 'cookie.path' },
  { label: 'cookie.persistent "no"', options: { cookie: { persistent: 'no' as unknown as boolean } }, option: 'cookie.persistent' },
  { label: "cookie.domain 'a b'", options: { cookie: { domain: 'a b' } }, option: 'cookie.domain' },
  { label: "cookie.domain 'a;b'", options: { cookie: { domain: 'a;b' } }, option: 'cookie.domain' },
  { label: "cookie.priority 'x'", options: { cookie: { priority: 'x' } }, option: 'cookie.priority' },
  { label: "cookie 'x'", options: { cookie: 'x' }, option: 'cookie' },
  { label: 'acceptClientIds 1', options: { acceptClientIds: 1 }, option: 'acceptClientIds' },
  { label: 'trustProxy "yes"', options: { trustProxy: 'yes' }, option: 'trustProxy' },
  { label: "logger 'x'", options: { logger: 'x' }, option: 'logger' },
];


function expectInvalidOption(error: unknown, option: BadCase['option']): void {
  expect(error).toBeInstanceOf(SessionError);
  expect(SessionError.is(error)).toBe(true);
  const failure = error as SessionError;
  expect(failure.kind).toBe('invalid-option');
  const allowed = typeof option === 'string' ? [option] : option;
  expect(allowed).toContain(failure.option);
  expect(failure.message).toContain(failure.option as string);
}

describe('resolveOptions defaults', () => {
  it('fills in the Python defaults and safe cookie attributes', () => {
    const resolved = resolveOptions({});
    expect(resolved.header).toBe('X-Session-ID');
    expect(resolved.cookieName).toBe('session_id');
    expect(resolved.maxAge).toBe(3600);
    expect(resolved.touchAfter).toBe(60);
    expect(resolved.storeTimeoutMs).toBe(2000);
    expect(resolved.onStoreError).toBe('error');
    expect(resolved.acceptClientIds).toBe(false);
    expect(resolved.absoluteTimeout).toBeUndefined();
    expect(resolved.trustProxy).toBe(false);
    expect(resolved.logger).toBeUndefined();
    expect(resolved.secure).toBe('auto');
    expect(resolved.cookie).toEqual({
      httpOnly: true,
      sameSite: 'Lax',
      path: '/',
      domain: undefined,
      partitioned: false,
      priority: undefined,
      persistent: true,
    });
  });

  it('generates a random secret when none is given, and flags it', () => {
    const a = resolveOptions({});
    const b = resolveOptions({});
    expect(a.generatedSecret).toBe(true);
    expect(a.secrets).toHaveLength(1);
    expect((a.secrets[0] as string).length).toBeGreaterThanOrEqual(32);
    expect(a.secrets[0]).not.toBe(b.secrets[0]);
  });

  it('keeps a given secret or list of secrets in order', () => {
    expect(resolveOptions({ secret: SECRET })).toMatchObject({ secrets: [SECRET], generatedSecret: false });
    expect(resolveOptions({ secret: [SECRET, 'old-secret-also-at-least-32-characters'] }).secrets).toEqual([SECRET, 'old-secret-also-at-least-32-characters']);
  });

  it('defaults touchAfter to the smaller of 60 and maxAge / 2', () => {
    expect(resolveOptions({ maxAge: 10 }).touchAfter).toBe(5);
    expect(resolveOptions({ maxAge: 120 }).touchAfter).toBe(60);
    expect(resolveOptions({ maxAge: 7200 }).touchAfter).toBe(60);
  });

  it('accepts touchAfter 0 (refresh on every request) up to just below maxAge', () => {
    expect(resolveOptions({ touchAfter: 0 }).touchAfter).toBe(0);
    expect(resolveOptions({ maxAge: 10, touchAfter: 9.5 }).touchAfter).toBe(9.5);
  });

  it('converts storeTimeout to milliseconds', () => {
    expect(resolveOptions({ storeTimeout: 0.2 }).storeTimeoutMs).toBe(200);
  });

  it('normalises cookie attribute values', () => {
    const resolved = resolveOptions({
      cookie: { sameSite: 'strict', priority: 'high', httpOnly: false, domain: 'example.com', path: '/app' },
    });
    expect(resolved.cookie).toEqual({
      httpOnly: false,
      sameSite: 'Strict',
      path: '/app',
      domain: 'example.com',
      partitioned: false,
      priority: 'High',
      persistent: true,
    });
    expect(resolveOptions({ cookie: { persistent: false } }).cookie.persistent).toBe(false);
    expect(resolveOptions({ cookie: { sameSite: false } }).cookie.sameSite).toBeUndefined();
    expect(resolveOptions({ cookie: { sameSite: 'none', secure: 'auto' } }).cookie.sameSite).toBe('None');
    expect(resolveOptions({ cookie: { partitioned: true, secure: true } }).cookie.partitioned).toBe(true);
  });

  it('turns transports off with false', () => {
    expect(resolveOptions({ sessionHeader: false }).header).toBe(false);
    expect(resolveOptions({ sessionCookie: false }).cookieName).toBe(false);
  });

  it('accepts a __Host- cookie with secure true (and a __Secure- one with a domain and path)', () => {
    const host = resolveOptions({ sessionCookie: '__Host-sid', cookie: { secure: true } });
    expect(host.cookieName).toBe('__Host-sid');
    expect(host.secure).toBe(true);
    expect(host.cookie.path).toBe('/');
    const secure = resolveOptions({ sessionCookie: '__Secure-sid', cookie: { secure: true, domain: 'example.com', path: '/x' } });
    expect(secure.cookie.domain).toBe('example.com');
  });
});

describe('resolveOptions rejects bad options with a SessionError naming the option', () => {
  it.each(BAD.map((c) => [c.label, c] as const))('%s', (_label, { options, option }) => {
    expectInvalidOption(caught(() => resolveOptions(options as SessionMiddlewareOptions)), option);
  });

  it('rejects a non-object', () => {
    expectInvalidOption(caught(() => resolveOptions(null as unknown as SessionMiddlewareOptions)), 'options');
  });

  it('quotes the bad value in the message', () => {
    const error = caught(() => resolveOptions({ maxAge: 'x' } as unknown as SessionMiddlewareOptions)) as SessionError;
    expect(error.message).toContain('maxAge');
    expect(error.message).toContain('"x"');
  });
});

describe('new SessionMiddleware validates its options at construction', () => {
  const stores: MemoryStore[] = [];
  afterAll(() => stores.forEach((store) => store.close()));

  function build(options: Record<string, unknown>): SessionMiddleware {
    const store = new MemoryStore();
    stores.push(store);
    return new SessionMiddleware({ secret: SECRET, sessionStorage: store, ...options } as SessionMiddlewareOptions);
  }

  it.each(BAD.map((c) => [c.label, c] as const))('%s', (_label, { options, option }) => {
    expectInvalidOption(caught(() => build(options)), option);
  });

  it('rejects a sessionStorage that is not a SessionStore', () => {
    expectInvalidOption(caught(() => new SessionMiddleware({ secret: SECRET, sessionStorage: {} as unknown as MemoryStore })), 'sessionStorage');
  });

  it('builds with a valid __Host-sid cookie and secure true, and emits the prefixed cookie', async () => {
    const mw = build({ sessionCookie: '__Host-sid', cookie: { secure: true } });
    expect(mw.sessionCookie).toBe('__Host-sid');
    const response = await mw.dispatch(new Request('http://localhost/'), () => new Response('ok'));
    const cookie = response.headers.get('set-cookie') ?? '';
    expect(cookie).toMatch(/^__Host-sid=[^;]+; Max-Age=3600; Path=\/; HttpOnly; Secure; SameSite=Lax$/);
  });

  it('applies the resolved options to its public properties', () => {
    const mw = build({ sessionHeader: 'X-Sid', sessionCookie: 'sid', maxAge: 90 });
    expect(mw.sessionHeader).toBe('X-Sid');
    expect(mw.sessionCookie).toBe('sid');
    expect(mw.maxAge).toBe(90);
  });
});
