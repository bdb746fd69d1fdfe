/**
 * The drop-in's pieces on their own: express-session cookie verification against
 * cookie-signature itself, the derivation of core secrets from weak ones, the option mapping,
 * and express-session's `Cookie`, `Store` and `Session` classes used as stores use them.
 */
import { createSecretKey } from 'node:crypto';
import { createRequire } from 'node:module';
import { describe, expect, it } from '@jest/globals';
import { Cookie } from '../../src/compat/Cookie.js';
import session from '../../src/compat/expressSession.js';
import { BROWSER_SESSION_TTL_SECONDS, mapOptions } from '../../src/compat/mapOptions.js';
import { legacyIdOf, resolveSecrets } from '../../src/compat/secrets.js';
import { SessionError } from '../../src/index.js';

const require = createRequire(import.meta.url);
const signature = require('cookie-signature') as { sign(value: string, secret: string | Buffer): string };
const ID = 'Cz1-vkhdBzYKTu8ZMJD6oqD7C7qzO4iO';

describe('legacyIdOf: express-session signed cookies', () => {
  it.each(['keyboard cat', 'a-long-secret-of-more-than-thirty-two-characters'])('opens what cookie-signature signed with %j, raw or URL-encoded', (secret) => {
    const value = `s:${signature.sign(ID, secret)}`;
    expect(legacyIdOf(value, [secret])).toBe(ID);
    expect(legacyIdOf(encodeURIComponent(value), ['other secret', secret])).toBe(ID);
  });

  it('opens cookies signed with a Buffer or KeyObject secret', () => {
    const bytes = Buffer.from('binary secret bytes');
    const value = encodeURIComponent(`s:${signature.sign(ID, bytes)}`);
    expect(legacyIdOf(value, [bytes])).toBe(ID);
    expect(legacyIdOf(value, [createSecretKey(bytes)])).toBe(ID);
  });

  it.each([
    ['another secret', (v: string) => v],
    ['the signature changed', (v: string) => v.slice(0, -1) + (v.endsWith('A') ? 'B' : 'A')],
    ['the id changed', (v: string) => v.replace('Cz1', 'Cz2')],
    ['no s: prefix', (v: string) => v.slice(2)],
    ['no signature', () => `s:${ID}`],
    ['an empty signature', () => `s:${ID}.`],
    ['bad URL encoding', () => '%E0%A4%A'],
    ['nothing', () => ''],
  ])('refuses a cookie with %s', (label, change) => {
    const secret = label === 'another secret' ? 'not the one' : 'keyboard cat';
    expect(legacyIdOf(change(`s:${signature.sign(ID, 'keyboard cat')}`), [secret])).toBeUndefined();
  });
});

describe('resolveSecrets', () => {
  it('keeps a strong secret as it is and derives a stable 64-character key from a weak one', () => {
    const strong = 'a-long-secret-of-more-than-thirty-two-characters';
    const { core, legacy, weak } = resolveSecrets([strong, 'keyboard cat']);
    expect(core[0]).toBe(strong);
    expect(core[1]).toMatch(/^[0-9a-f]{64}$/);
    expect(resolveSecrets('keyboard cat').core[0]).toBe(core[1]);
    expect(resolveSecrets('keyboard dog').core[0]).not.toBe(core[1]);
    expect(legacy).toEqual([strong, 'keyboard cat']);
    expect(weak).toBe(true);
    expect(resolveSecrets(strong).weak).toBe(false);
  });

  it.each([[[]], [['']], [[1]], [null], [{}], [new Array(9).fill('x'.repeat(40))]])('refuses %j with invalid-option', (value) => {
    expect(() => resolveSecrets(value)).toThrow(expect.objectContaining({ kind: 'invalid-option', option: 'secret' }) as unknown as Error);
  });

  it('never puts a secret in its error message', () => {
    try {
      resolveSecrets(['', 'hunter2']);
    } catch (error) {
      expect(SessionError.is(error) && error.message).not.toMatch(/hunter2/);
    }
  });
});

describe('mapOptions', () => {
  it("maps express-session's defaults onto the core's", () => {
    const mapped = mapOptions({ secret: 's' });
    expect(mapped.core).toEqual({
      sessionCookie: 'connect.sid',
      sessionHeader: false,
      maxAge: BROWSER_SESSION_TTL_SECONDS,
      cookie: { persistent: false, secure: 'auto' },
    });
    expect(mapped).toMatchObject({ unset: 'keep', proxy: undefined, path: '/', originalMaxAge: null, saveUninitialized: true });
  });

  it('maps each option', () => {
    const mapped = mapOptions({
      secret: 's',
      key: 'old.sid',
      rolling: true,
      unset: 'destroy',
      proxy: true,
      saveUninitialized: false,
      absoluteTimeout: 3600,
      cookie: { maxAge: 1500, httpOnly: false, secure: true, sameSite: true, path: '/app', domain: 'example.com', partitioned: true, priority: 'high', signed: true },
    });
    expect(mapped.core).toEqual({
      sessionCookie: 'old.sid',
      sessionHeader: false,
      maxAge: 2,
      touchAfter: 0,
      absoluteTimeout: 3600,
      cookie: { persistent: true, secure: true, httpOnly: false, sameSite: 'strict', path: '/app', domain: 'example.com', partitioned: true, priority: 'high' },
    });
    expect(mapped).toMatchObject({ unset: 'destroy', proxy: true, path: '/app', originalMaxAge: 2000, saveUninitialized: false });
  });

  it('takes cookie.expires as a lifetime, and caps lifetimes at the 400 days browsers keep a cookie', () => {
    expect(mapOptions({ cookie: { expires: new Date(Date.now() + 3_600_000) } }).core.maxAge).toBeGreaterThanOrEqual(3599);
    expect(mapOptions({ cookie: { maxAge: 10 * 365 * 24 * 3_600_000 } }).core.maxAge).toBe(400 * 24 * 3600);
    expect(mapOptions({ cookie: { sameSite: 'auto' } }).core.cookie.sameSite).toBe('lax');
  });

  it('reads an empty secret as none (req.secret then), as express-session', () => {
    expect(mapOptions({ secret: '' }).secret).toBeUndefined();
  });
});

describe("express-session's classes", () => {
  it('Cookie: maxAge sets expires, originalMaxAge follows, toJSON is what stores keep', () => {
    const cookie = new session.Cookie({ maxAge: 60_000, path: '/', httpOnly: true });
    expect(cookie.originalMaxAge).toBe(60_000);
    expect(cookie.maxAge).toBeGreaterThan(59_000);
    expect((cookie.expires as Date).getTime()).toBeGreaterThan(Date.now());
    const stored = JSON.parse(JSON.stringify(cookie)) as Record<string, unknown>;
    expect(stored).toMatchObject({ originalMaxAge: 60_000, path: '/', httpOnly: true });
    expect(typeof stored.expires).toBe('string');
    expect(new Cookie().maxAge).toBeUndefined();
    expect(new Cookie().serialize('sid', 'v')).toBe('sid=v; Path=/; HttpOnly');
    expect(() => new Cookie({ maxAge: 'soon' as unknown as number })).toThrow(SessionError);
  });

  it('Store.load and createSession give a Session with a Cookie, as stores expect', async () => {
    const store = new session.MemoryStore();
    const expires = new Date(Date.now() + 60_000);
    await new Promise<void>((resolve) => store.set('sid-1', { cookie: new Cookie({ expires }), visits: 3 } as session.SessionData, () => resolve()));
    const loaded = await new Promise<session.Session>((resolve, reject) => store.load('sid-1', (err, s) => (err ? reject(err) : resolve(s))));
    expect(loaded).toBeInstanceOf(session.Session);
    expect(loaded.id).toBe('sid-1');
    expect(loaded.visits).toBe(3);
    expect(loaded.cookie).toBeInstanceOf(session.Cookie);
    expect(Math.abs((loaded.cookie.expires as Date).getTime() - expires.getTime())).toBeLessThan(1500);
    store.close();
  });

  it('a detached Session (new Session(req, data)) saves, reloads and destroys through req.sessionStore', async () => {
    const store = new session.MemoryStore();
    const req = { sessionID: 'sid-2', sessionStore: store } as session.Session['req'];
    const detached = new session.Session(req, { cookie: new Cookie({ maxAge: 60_000 }), n: 1 });
    (req as { session?: unknown }).session = detached;
    await new Promise((resolve) => detached.save(resolve));
    detached.n = 2;
    await new Promise((resolve) => detached.reload(resolve));
    expect((req.session as session.Session).n).toBe(1);
    await new Promise((resolve) => (req.session as session.Session).destroy(resolve));
    expect(req.session).toBeUndefined();
    const after = await new Promise((resolve) => store.get('sid-2', (_err, s) => resolve(s)));
    expect(after).toBeNull();
    store.close();
  });
});
