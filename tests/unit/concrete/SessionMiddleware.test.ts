import { IncomingMessage } from 'node:http';
import { Socket } from 'node:net';
import { afterEach, describe, expect, it } from '@jest/globals';
import {
  MemoryStore,
  MiddlewareBase,
  Session,
  SessionError,
  SessionMiddleware,
  type NodeRequest,
} from '../../../src/index.js';

const SECRET = 'test-secret-of-at-least-32-characters!!';

describe('SessionMiddleware', () => {
  const stores: MemoryStore[] = [];
  function memory(): MemoryStore {
    const store = new MemoryStore();
    stores.push(store);
    return store;
  }
  afterEach(() => {
    stores.splice(0).forEach((store) => store.close());
  });

  describe('construction and public properties', () => {
    it('mirrors the Python defaults', () => {
      const mw = new SessionMiddleware({ secret: SECRET });
      stores.push(mw.sessionStorage as MemoryStore);
      expect(mw).toBeInstanceOf(MiddlewareBase);
      expect(mw.sessionStorage).toBeInstanceOf(MemoryStore);
      expect(mw.sessionHeader).toBe('X-Session-ID');
      expect(mw.sessionCookie).toBe('session_id');
      expect(mw.maxAge).toBe(3600);
      expect(mw.sessionStorage.defaultTtlSeconds).toBe(3600);
    });

    it('shows the configured values', () => {
      const store = memory();
      const mw = new SessionMiddleware({ secret: SECRET, sessionStorage: store, sessionHeader: 'X-Sid', sessionCookie: 'sid', maxAge: 120 });
      expect(mw.sessionStorage).toBe(store);
      expect(mw.sessionHeader).toBe('X-Sid');
      expect(mw.sessionCookie).toBe('sid');
      expect(mw.maxAge).toBe(120);
    });

    it('shows a turned-off transport as false', () => {
      const mw = new SessionMiddleware({ secret: SECRET, sessionStorage: memory(), sessionCookie: false });
      expect(mw.sessionCookie).toBe(false);
      expect(mw.sessionHeader).toBe('X-Session-ID');
    });

    it("sets the store's default TTL to maxAge, so direct Python-style writes expire with the session", async () => {
      const store = memory();
      expect(store.defaultTtlSeconds).toBe(3600);
      const mw = new SessionMiddleware({ secret: SECRET, sessionStorage: store, maxAge: 120 });
      expect(store.defaultTtlSeconds).toBe(120);
      const before = Date.now();
      await mw.sessionStorage.set('direct-write-id', { visits: 1 });
      const loaded = await store.load('direct-write-id');
      expect(loaded?.state).toBe('active');
      const expiresAt = (loaded as { expiresAt: number }).expiresAt;
      expect(expiresAt).toBeGreaterThanOrEqual(before + 120_000);
      expect(expiresAt).toBeLessThanOrEqual(Date.now() + 120_000);
    });

    it('uses the injected store when no sessionStorage option is given, and sets its TTL', () => {
      const injected = memory();
      const mw = new SessionMiddleware({ secret: SECRET, maxAge: 300 }, injected);
      expect(mw.sessionStorage).toBe(injected);
      expect(injected.defaultTtlSeconds).toBe(300);
    });

    it('lets the sessionStorage option win over the injected store', () => {
      const option = memory();
      const injected = memory();
      const mw = new SessionMiddleware({ secret: SECRET, sessionStorage: option, maxAge: 300 }, injected);
      expect(mw.sessionStorage).toBe(option);
      expect(option.defaultTtlSeconds).toBe(300);
      expect(injected.defaultTtlSeconds).toBe(3600);
    });

    it('stores sessions in the option store, not the injected one', async () => {
      const option = memory();
      const injected = memory();
      const mw = new SessionMiddleware({ secret: SECRET, sessionStorage: option }, injected);
      const response = await mw.dispatch(new Request('http://localhost/'), (req) => {
        mw.sessionOf(req)?.set('a', 1);
        return new Response('ok');
      });
      const id = response.headers.get('x-session-id') as string;
      expect(await option.get(id)).toEqual({ a: 1 });
      expect(await injected.length()).toBe(0);
    });

    it('throws a SessionError for bad options', () => {
      expect(() => new SessionMiddleware({ secret: SECRET, maxAge: -5 })).toThrow(SessionError);
      expect(() => new SessionMiddleware({ secret: SECRET, maxAge: -5 })).toThrow(/maxAge/);
    });
  });

  describe('dispatch', () => {
    it.each([
      ['an empty object', {}],
      ['null', null],
      ['a string', 'http://localhost/'],
      ['a Node request without res (plain node:http)', new IncomingMessage(new Socket())],
    ])('rejects %s with an unsupported-request SessionError and does not call next', async (_label, request) => {
      const mw = new SessionMiddleware({ secret: SECRET, sessionStorage: memory() });
      let called = false;
      const next = (): void => {
        called = true;
      };
      const error = await mw.dispatch(request as unknown as NodeRequest, next).catch((err: unknown) => err);
      expect(SessionError.is(error)).toBe(true);
      expect((error as SessionError).kind).toBe('unsupported-request');
      expect(called).toBe(false);
    });

    it('returns the Response of next with the id attached (Web)', async () => {
      const mw = new SessionMiddleware({ secret: SECRET, sessionStorage: memory() });
      const response = await mw.dispatch(new Request('http://localhost/'), () => new Response('hello', { status: 201 }));
      expect(response.status).toBe(201);
      expect(await response.text()).toBe('hello');
      expect(response.headers.get('x-session-id')).toMatch(/^[A-Za-z0-9_-]{22}\.[0-9a-z]{1,10}\.[A-Za-z0-9_-]{24}$/);
    });
  });

  describe('sessionOf', () => {
    it('gives the Session of a handled request, and undefined for any other object', async () => {
      const mw = new SessionMiddleware({ secret: SECRET, sessionStorage: memory() });
      const request = new Request('http://localhost/');
      let during: Session | undefined;
      const response = await mw.dispatch(request, (req) => {
        during = mw.sessionOf(req);
        return new Response('ok');
      });
      expect(during).toBeInstanceOf(Session);
      expect(mw.sessionOf(request)).toBe(during);
      expect(during?.id).toBe(response.headers.get('x-session-id'));
      expect(mw.sessionOf(new Request('http://localhost/'))).toBeUndefined();
      expect(mw.sessionOf({})).toBeUndefined();
    });

    it('is per middleware: another instance does not know the request', async () => {
      const store = memory();
      const a = new SessionMiddleware({ secret: SECRET, sessionStorage: store });
      const b = new SessionMiddleware({ secret: SECRET, sessionStorage: store });
      const request = new Request('http://localhost/');
      await a.dispatch(request, () => new Response('ok'));
      expect(a.sessionOf(request)).toBeInstanceOf(Session);
      expect(b.sessionOf(request)).toBeUndefined();
    });
  });

  describe('instances sharing a store and secret', () => {
    it('recognise and refuse ids across instances', async () => {
      const store = memory();
      const a = new SessionMiddleware({ secret: SECRET, sessionStorage: store });
      const b = new SessionMiddleware({ secret: SECRET, sessionStorage: store });
      const first = await a.dispatch(new Request('http://localhost/'), (req) => {
        a.sessionOf(req)?.set('user', 'ann');
        return new Response('ok');
      });
      const id = first.headers.get('x-session-id') as string;
      const seen: unknown[] = [];
      await b.dispatch(new Request('http://localhost/', { headers: { 'x-session-id': id } }), async (req) => {
        const session = b.sessionOf(req) as Session;
        seen.push(session.get('user'));
        await session.destroy();
        return new Response('bye');
      });
      expect(seen).toEqual(['ann']);
      const third = await a.dispatch(new Request('http://localhost/', { headers: { 'x-session-id': id } }), () => new Response('ok'));
      expect(third.headers.get('x-session-id')).not.toBe(id);
    });
  });
});
