import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { SessionEngine, type RequestView } from '../../../src/engine/SessionEngine.js';
import { createSession, type Session } from '../../../src/concrete/Session.js';
import { resolveOptions } from '../../../src/engine/options.js';
import { IdTokens } from '../../../src/core/idToken.js';
import type { SessionEvent, SessionLogger } from '../../../src/core/logger.js';
import { hashId } from '../../../src/core/logger.js';
import { MemoryStore, SessionError, type SessionMiddlewareOptions, type StoredSession } from '../../../src/index.js';

const SECRET = 'test-secret-of-at-least-32-characters!!';
const T0 = Date.UTC(2030, 0, 1, 12, 0, 0);
const TOKEN_SHAPE = /^[A-Za-z0-9_-]{22}\.[0-9a-z]{1,10}\.[A-Za-z0-9_-]{24}$/;

/** A MemoryStore that counts loads, so tests can tell when the store was not consulted. */
class CountingStore extends MemoryStore {
  loads = 0;
  override async load(id: string): Promise<StoredSession | undefined> {
    this.loads++;
    return super.load(id);
  }
}

class FailingStore extends MemoryStore {
  override async load(): Promise<StoredSession | undefined> {
    throw new Error('connection refused');
  }
}

function view(headers: Record<string, string> = {}, encrypted = false): RequestView {
  const lower = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
  return { header: (name) => lower[name], encrypted };
}

describe('SessionEngine<Session>', () => {
  const stores: MemoryStore[] = [];
  let rejected: SessionEvent[];
  let logger: SessionLogger;

  function engine(options: SessionMiddlewareOptions = {}, store: MemoryStore = new CountingStore({ sweepIntervalSeconds: 0 })): SessionEngine<Session> {
    stores.push(store);
    const resolved = resolveOptions({ secret: SECRET, logger, ...options });
    store.defaultTtlSeconds = resolved.maxAge;
    return new SessionEngine(resolved, store, createSession);
  }

  beforeEach(() => {
    rejected = [];
    logger = { warn: (event) => void (event.event === 'rejected' && rejected.push(event)) };
  });

  afterEach(() => {
    jest.useRealTimers();
    stores.splice(0).forEach((store) => store.close());
  });

  describe('open with fake clock', () => {
    beforeEach(() => {
      jest.useFakeTimers({ now: T0, doNotFake: ['nextTick', 'queueMicrotask', 'setImmediate'] });
    });

    it('issues a fresh signed id when none is presented, storing nothing', async () => {
      const e = engine();
      const session = await e.open(view());
      expect(session?.id).toMatch(TOKEN_SHAPE);
      expect(session?.isNew).toBe(true);
      expect(new IdTokens([SECRET]).verify(session!.id)).toEqual({ kind: 'signed', startedAt: T0 });
      expect(await e.store.length()).toBe(0);
      expect((e.store as CountingStore).loads).toBe(0);
    });

    it('accepts an issued-but-unstored id until maxAge, then rejects it as expired', async () => {
      const e = engine({ maxAge: 60 });
      const first = await e.open(view());
      const id = first!.id;
      await e.commit(first);
      expect(await e.store.length()).toBe(0);

      jest.setSystemTime(T0 + 59_000);
      const again = await e.open(view({ 'x-session-id': id }));
      expect(again?.id).toBe(id);
      expect(again?.isNew).toBe(false);
      expect(rejected).toEqual([]);

      jest.setSystemTime(T0 + 60_000);
      const late = await e.open(view({ 'x-session-id': id }));
      expect(late?.id).not.toBe(id);
      expect(late?.isNew).toBe(true);
      expect(rejected).toEqual([{ event: 'rejected', sessionId: hashId(id), reason: 'expired' }]);
    });

    it('rejects an id whose start is in the future (beyond the clock skew) as from-the-future', async () => {
      const e = engine();
      const future = new IdTokens([SECRET]).issue(Date.now() + 3600_000);
      const session = await e.open(view({ 'x-session-id': future }));
      expect(session?.id).not.toBe(future);
      expect(rejected).toEqual([{ event: 'rejected', sessionId: hashId(future), reason: 'from-the-future' }]);
      expect((e.store as CountingStore).loads).toBe(0);
    });

    it('tolerates a start a few seconds ahead (clock skew between instances)', async () => {
      const e = engine();
      const ahead = new IdTokens([SECRET]).issue(Date.now() + 30_000);
      const session = await e.open(view({ 'x-session-id': ahead }));
      expect(session?.id).toBe(ahead);
      expect(rejected).toEqual([]);
    });

    it('rejects an id older than absoluteTimeout without consulting the store', async () => {
      const e = engine({ maxAge: 600, absoluteTimeout: 60 });
      const old = new IdTokens([SECRET]).issue(Date.now() - 60_000);
      const session = await e.open(view({ 'x-session-id': old }));
      expect(session?.id).not.toBe(old);
      expect(rejected).toEqual([{ event: 'rejected', sessionId: hashId(old), reason: 'expired' }]);
      expect((e.store as CountingStore).loads).toBe(0);
    });

    it('loads a stored session after the unstored window has passed (the idle timeout slides)', async () => {
      const e = engine({ maxAge: 60 });
      const first = (await e.open(view()))!;
      jest.setSystemTime(T0 + 50_000);
      first.set('n', 1);
      await e.commit(first);
      jest.setSystemTime(T0 + 100_000);
      const later = await e.open(view({ 'x-session-id': first.id }));
      expect(later?.id).toBe(first.id);
      expect(later?.get('n')).toBe(1);
      jest.setSystemTime(T0 + 110_000);
      const expired = await e.open(view({ 'x-session-id': first.id }));
      expect(expired?.id).not.toBe(first.id);
      expect(expired?.get('n')).toBeUndefined();
    });
  });

  describe('recognition', () => {
    it('rejects a tampered id as bad-signature without touching the store', async () => {
      const e = engine();
      const id = new IdTokens([SECRET]).issue();
      const tampered = `${id.slice(0, 3)}${id[3] === 'A' ? 'B' : 'A'}${id.slice(4)}`;
      const session = await e.open(view({ 'x-session-id': tampered }));
      expect(session?.id).not.toBe(tampered);
      expect(rejected.map((r) => r.reason)).toEqual(['bad-signature']);
      expect((e.store as CountingStore).loads).toBe(0);
    });

    it('rejects an id signed with another secret', async () => {
      const e = engine();
      const other = new IdTokens(['a-completely-different-secret-0123456789']).issue();
      const session = await e.open(view({ 'x-session-id': other }));
      expect(session?.id).not.toBe(other);
      expect(rejected.map((r) => r.reason)).toEqual(['bad-signature']);
    });

    it('accepts ids signed with an older secret of the rotation list', async () => {
      const e = engine({ secret: [SECRET, 'the-previous-secret-of-32-characters!!'] });
      const old = new IdTokens(['the-previous-secret-of-32-characters!!']).issue();
      expect((await e.open(view({ 'x-session-id': old })))?.id).toBe(old);
    });

    it('rejects a well-formed id it did not issue (not-issued) without touching the store', async () => {
      const e = engine();
      const session = await e.open(view({ 'x-session-id': 'my-own-session-name' }));
      expect(session?.id).not.toBe('my-own-session-name');
      expect(rejected.map((r) => r.reason)).toEqual(['not-issued']);
      expect((e.store as CountingStore).loads).toBe(0);
    });

    it('adopts a client-named id with acceptClientIds, still refusing a destroyed one', async () => {
      const e = engine({ acceptClientIds: true });
      const adopted = await e.open(view({ 'x-session-id': 'my-own-session-name' }));
      expect(adopted?.id).toBe('my-own-session-name');
      expect(adopted?.isNew).toBe(true);
      await e.store.destroy('my-own-session-name');
      const refused = await e.open(view({ 'x-session-id': 'my-own-session-name' }));
      expect(refused?.id).not.toBe('my-own-session-name');
      expect(rejected.map((r) => r.reason)).toEqual(['destroyed']);
    });

    it('rejects a destroyed (tombstoned) issued id', async () => {
      const e = engine();
      const session = (await e.open(view()))!;
      session.set('a', 1);
      await e.commit(session, false);
      await session.destroy();
      const again = await e.open(view({ 'x-session-id': session.id }));
      expect(again?.id).not.toBe(session.id);
      expect(rejected.map((r) => r.reason)).toEqual(['destroyed']);
    });

    it('prefers the header over the cookie', async () => {
      const e = engine();
      const tokens = new IdTokens([SECRET]);
      const fromHeader = tokens.issue();
      const fromCookie = tokens.issue();
      const session = await e.open(view({ 'x-session-id': fromHeader, cookie: `session_id=${fromCookie}` }));
      expect(session?.id).toBe(fromHeader);
    });

    it('reads the cookie when there is no header', async () => {
      const e = engine();
      const fromCookie = new IdTokens([SECRET]).issue();
      const session = await e.open(view({ cookie: `theme=dark; session_id=${fromCookie}` }));
      expect(session?.id).toBe(fromCookie);
    });

    it.each([
      ['bad characters', 'not a valid id!'],
      ['too long', 'a'.repeat(129)],
      ['too short', 'abc'],
      ['CRLF injection', 'abcdefgh\r\nSet-Cookie: x=1'],
    ])('falls back to the cookie when the header is malformed (%s)', async (_label, header) => {
      const e = engine();
      const fromCookie = new IdTokens([SECRET]).issue();
      const session = await e.open(view({ 'x-session-id': header, cookie: `session_id=${fromCookie}` }));
      expect(session?.id).toBe(fromCookie);
      expect(rejected).toEqual([]);
    });

    it('treats a malformed header without a cookie as absent (no rejection, fresh id)', async () => {
      const e = engine();
      const session = await e.open(view({ 'x-session-id': 'x'.repeat(500) }));
      expect(session?.id).toMatch(TOKEN_SHAPE);
      expect(rejected).toEqual([]);
    });

    it('ignores a transport that is turned off', async () => {
      const tokens = new IdTokens([SECRET]);
      const id = tokens.issue();
      const noHeader = engine({ sessionHeader: false });
      expect((await noHeader.open(view({ 'x-session-id': id })))?.id).not.toBe(id);
      expect((await noHeader.open(view({ cookie: `session_id=${id}` })))?.id).toBe(id);
      const noCookie = engine({ sessionCookie: false });
      expect((await noCookie.open(view({ cookie: `session_id=${id}` })))?.id).not.toBe(id);
      expect((await noCookie.open(view({ 'x-session-id': id })))?.id).toBe(id);
    });

    it('uses a custom header name, case-insensitively', async () => {
      const e = engine({ sessionHeader: 'X-My-Session' });
      const id = new IdTokens([SECRET]).issue();
      expect((await e.open(view({ 'X-My-Session': id })))?.id).toBe(id);
    });
  });

  describe('store failures', () => {
    it('rejects with a store-error SessionError when load fails', async () => {
      const e = engine({}, new FailingStore({ sweepIntervalSeconds: 0 }));
      const id = new IdTokens([SECRET]).issue();
      const error = await e.open(view({ 'x-session-id': id })).catch((err: unknown) => err);
      expect(SessionError.is(error)).toBe(true);
      expect((error as SessionError).kind).toBe('store-error');
      expect((error as SessionError).status).toBe(503);
      expect((error as SessionError).message).not.toContain(id);
    });

    it("resolves undefined (no session) with onStoreError 'continue'", async () => {
      const e = engine({ onStoreError: 'continue' }, new FailingStore({ sweepIntervalSeconds: 0 }));
      const id = new IdTokens([SECRET]).issue();
      expect(await e.open(view({ 'x-session-id': id }))).toBeUndefined();
      expect(e.responseHeaders(undefined, view())).toEqual({ sessionId: undefined, setCookie: undefined });
    });
  });

  describe('responseHeaders', () => {
    it('gives the id header and a hardened cookie', async () => {
      const e = engine();
      const session = (await e.open(view()))!;
      const headers = e.responseHeaders(session, view());
      expect(headers.sessionId).toBe(session.id);
      expect(headers.setCookie).toBe(`session_id=${session.id}; Max-Age=3600; Path=/; HttpOnly; SameSite=Lax`);
    });

    it("sets Secure with secure 'auto' on an encrypted request only", async () => {
      const e = engine();
      const session = (await e.open(view()))!;
      expect(e.responseHeaders(session, view({}, true)).setCookie).toContain('; Secure');
      expect(e.responseHeaders(session, view({}, false)).setCookie).not.toContain('Secure');
    });

    it('believes X-Forwarded-Proto only with trustProxy', async () => {
      const trusting = engine({ trustProxy: true });
      const session = (await trusting.open(view()))!;
      expect(trusting.responseHeaders(session, view({ 'x-forwarded-proto': 'https' })).setCookie).toContain('; Secure');
      expect(trusting.responseHeaders(session, view({ 'x-forwarded-proto': 'HTTPS, http' })).setCookie).toContain('; Secure');
      expect(trusting.responseHeaders(session, view({ 'x-forwarded-proto': 'http' })).setCookie).not.toContain('Secure');
      expect(trusting.responseHeaders(session, view()).setCookie).not.toContain('Secure');

      const wary = engine();
      const other = (await wary.open(view()))!;
      expect(wary.responseHeaders(other, view({ 'x-forwarded-proto': 'https' })).setCookie).not.toContain('Secure');
    });

    it('forces Secure with secure true and never sets it with secure false', async () => {
      const forced = engine({ cookie: { secure: true } });
      const a = (await forced.open(view()))!;
      expect(forced.responseHeaders(a, view({}, false)).setCookie).toContain('; Secure');
      const off = engine({ cookie: { secure: false } });
      const b = (await off.open(view()))!;
      expect(off.responseHeaders(b, view({}, true)).setCookie).not.toContain('Secure');
    });

    it('omits what a turned-off transport would carry', async () => {
      const noHeader = engine({ sessionHeader: false });
      const a = (await noHeader.open(view()))!;
      expect(noHeader.responseHeaders(a, view()).sessionId).toBeUndefined();
      expect(noHeader.responseHeaders(a, view()).setCookie).toContain(`session_id=${a.id}`);
      const noCookie = engine({ sessionCookie: false });
      const b = (await noCookie.open(view()))!;
      expect(noCookie.responseHeaders(b, view())).toEqual({ sessionId: b.id, setCookie: undefined });
    });

    it('clears the cookie and sends no id after destroy', async () => {
      const e = engine();
      const session = (await e.open(view()))!;
      await session.destroy();
      const headers = e.responseHeaders(session, view());
      expect(headers.sessionId).toBeUndefined();
      expect(headers.setCookie).toBe('session_id=; Max-Age=0; Path=/; Expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly; SameSite=Lax');
    });
  });
});
