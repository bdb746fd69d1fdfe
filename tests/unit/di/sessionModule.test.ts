import { afterEach, describe, expect, it, jest } from '@jest/globals';
import { Container, inject, injectable, injectFromBase } from 'inversify';
import {
  MemoryStore,
  SessionMiddleware,
  SessionStore,
  TYPES,
  sessionModule,
  type SessionMiddlewareOptions,
} from '../../../src/index.js';
import { RecordingStore } from '../../support/RecordingStore.js';

const secret = 'test-secret-of-at-least-32-characters!!';

/** Runs one Web request through `middleware`; the handler increments `visits`. */
async function visit(middleware: SessionMiddleware, sessionId?: string): Promise<{ id: string | null; visits: number; cookie: string | null }> {
  const headers: Record<string, string> = sessionId === undefined ? {} : { 'X-Session-ID': sessionId };
  const response = await middleware.dispatch(new Request('http://localhost/greet', { headers }), async (request) => {
    const session = middleware.sessionOf(request);
    if (!session) throw new Error('no session on the request');
    const visits = await session.increment('visits');
    session.set('lastPath', new URL(request.url).pathname);
    return Response.json({ visits });
  });
  expect(response.status).toBe(200);
  const body = (await response.json()) as { visits: number };
  return { id: response.headers.get('X-Session-ID'), visits: body.visits, cookie: response.headers.get('set-cookie') };
}

describe('sessionModule (Inversify)', () => {
  const cleanups: Array<() => void> = [];

  afterEach(() => {
    for (const cleanup of cleanups.splice(0)) cleanup();
    jest.restoreAllMocks();
  });

  /** A container with the module loaded; its default MemoryStore is closed after the test. */
  function containerWith(options: SessionMiddlewareOptions = { secret, maxAge: 120 }): Container {
    const container = new Container();
    container.load(sessionModule(options));
    cleanups.push(() => {
      if (!container.isBound(TYPES.SessionStore)) return;
      const store = container.get<SessionStore>(TYPES.SessionStore);
      if (store instanceof MemoryStore) store.close();
    });
    return container;
  }

  it('uses the documented Symbol.for tokens', () => {
    expect(TYPES.SessionStore).toBe(Symbol.for('swarmauri-middleware-session/SessionStore'));
    expect(TYPES.SessionOptions).toBe(Symbol.for('swarmauri-middleware-session/SessionOptions'));
    expect(TYPES.SessionMiddleware).toBe(Symbol.for('swarmauri-middleware-session/SessionMiddleware'));
  });

  it('resolves one singleton SessionMiddleware by class and by TYPES.SessionMiddleware', () => {
    const container = containerWith();
    const byClass = container.get(SessionMiddleware);
    const byToken = container.get<SessionMiddleware>(TYPES.SessionMiddleware);
    expect(byClass).toBeInstanceOf(SessionMiddleware);
    expect(byToken).toBe(byClass);
    expect(container.get(SessionMiddleware)).toBe(byClass);
    expect(container.get<SessionMiddleware>(TYPES.SessionMiddleware)).toBe(byClass);
  });

  it('passes the options through: maxAge, store default TTL, defaults for the rest', () => {
    const warn = jest.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    const options: SessionMiddlewareOptions = { secret, maxAge: 120 };
    const container = containerWith(options);
    expect(container.get(TYPES.SessionOptions)).toBe(options);
    const middleware = container.get(SessionMiddleware);
    expect(middleware.maxAge).toBe(120);
    expect(middleware.sessionStorage.defaultTtlSeconds).toBe(120);
    expect(middleware.sessionHeader).toBe('X-Session-ID');
    expect(middleware.sessionCookie).toBe('session_id');
    expect(warn).not.toHaveBeenCalled(); // the secret arrived: no no-secret warning
  });

  it('signs ids with the configured secret (a same-secret middleware on the same store accepts them)', async () => {
    const container = containerWith();
    const middleware = container.get(SessionMiddleware);
    const first = await visit(middleware);
    expect(first.visits).toBe(1);
    expect(first.cookie).toMatch(/^session_id=[^;]+; Max-Age=120(;|$)/);

    const peer = new SessionMiddleware({ secret, sessionStorage: middleware.sessionStorage, maxAge: 120 });
    const second = await visit(peer, first.id!);
    expect(second).toMatchObject({ id: first.id, visits: 2 });

    // Raw ids in the stranger's store, so that it can hold the id at all (a hashing store refuses
    // ids of our shape that its middleware's secret does not verify).
    const stranger = new SessionMiddleware({ secret: 'another-secret-of-at-least-32-characters', sessionStorage: new MemoryStore({ sweepIntervalSeconds: 0 }), hashIds: false });
    await stranger.sessionStorage.set(first.id!, { visits: 100 });
    const rejected = await visit(stranger, first.id!);
    expect(rejected.id).not.toBe(first.id);
    expect(rejected.visits).toBe(1);
  });

  it('binds a singleton MemoryStore as TYPES.SessionStore, the one the middleware uses', async () => {
    const container = containerWith();
    const store = container.get<SessionStore>(TYPES.SessionStore);
    expect(store).toBeInstanceOf(MemoryStore);
    expect(container.get<SessionStore>(TYPES.SessionStore)).toBe(store);
    const middleware = container.get(SessionMiddleware);
    expect(middleware.sessionStorage).toBe(store);
    const { id } = await visit(middleware);
    await expect(store.get(id!)).resolves.toEqual({ visits: 1, lastPath: '/greet' });
    await expect(store.length()).resolves.toBe(1);
  });

  it('closes the default MemoryStore (its sweep timer) when the container unbinds it', async () => {
    const container = new Container();
    container.load(sessionModule({ secret, maxAge: 120 }));
    const store = container.get<SessionStore>(TYPES.SessionStore);
    const close = jest.spyOn(store, 'close');
    await container.unbind(TYPES.SessionStore);
    expect(close).toHaveBeenCalledTimes(1);
    expect(container.isBound(TYPES.SessionStore)).toBe(false);
  });

  it('closes nothing the application bound itself (its store, its client)', async () => {
    const container = containerWith();
    const mine = new MemoryStore({ sweepIntervalSeconds: 0 });
    container.rebind(TYPES.SessionStore).toConstantValue(mine);
    const close = jest.spyOn(mine, 'close');
    expect(container.get(TYPES.SessionStore)).toBe(mine);
    await container.unbind(TYPES.SessionStore);
    expect(close).not.toHaveBeenCalled();
  });

  it('swaps the store with one rebind to a custom class; requests write into it', async () => {
    const container = containerWith();
    container.rebind(TYPES.SessionStore).to(RecordingStore).inSingletonScope();
    const middleware = container.get(SessionMiddleware);
    const store = container.get<SessionStore>(TYPES.SessionStore);
    expect(store).toBeInstanceOf(RecordingStore);
    expect(middleware.sessionStorage).toBe(store);
    const recording = store as RecordingStore;
    expect(recording.defaultTtlSeconds).toBe(120); // the middleware set its maxAge on the new store

    const first = await visit(middleware);
    expect(first.visits).toBe(1);
    expect(recording.callsOf('increment')).toEqual([{ method: 'increment', id: first.id, ttlSeconds: 120 }]);
    expect(recording.callsOf('patch')).toEqual([{ method: 'patch', id: first.id, ttlSeconds: 120 }]);

    const second = await visit(middleware, first.id!);
    expect(second).toMatchObject({ id: first.id, visits: 2 });
    expect(recording.callsOf('load').map((call) => call.id)).toEqual([first.id]);
    await expect(recording.get(first.id!)).resolves.toEqual({ visits: 2, lastPath: '/greet' });
    await expect(recording.length()).resolves.toBe(1);
  });

  it('swaps the store with one rebind to a constant value', async () => {
    const container = containerWith();
    const mine = new RecordingStore();
    container.rebind(TYPES.SessionStore).toConstantValue(mine);
    const middleware = container.get(SessionMiddleware);
    expect(middleware.sessionStorage).toBe(mine);
    const { id } = await visit(middleware);
    await expect(mine.get(id!)).resolves.toEqual({ visits: 1, lastPath: '/greet' });
    expect(mine.calls.length).toBeGreaterThan(0);
  });

  it('options.sessionStorage wins over the injected store', async () => {
    const mine = new RecordingStore();
    const container = containerWith({ secret, maxAge: 120, sessionStorage: mine });
    const middleware = container.get(SessionMiddleware);
    expect(middleware.sessionStorage).toBe(mine);
    const { id } = await visit(middleware);
    await expect(mine.get(id!)).resolves.toEqual({ visits: 1, lastPath: '/greet' });
    await expect(container.get<SessionStore>(TYPES.SessionStore).length()).resolves.toBe(0);
  });

  it('binds a SessionMiddleware subclass that inherits the injections (@injectFromBase)', async () => {
    @injectable()
    @injectFromBase()
    class CountingSessionMiddleware extends SessionMiddleware {
      readonly label = 'counting';
    }

    const warn = jest.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    const container = containerWith();
    container.rebind(SessionMiddleware).to(CountingSessionMiddleware).inSingletonScope();
    const middleware = container.get<SessionMiddleware>(TYPES.SessionMiddleware);
    expect(middleware).toBeInstanceOf(CountingSessionMiddleware);
    expect(container.get(SessionMiddleware)).toBe(middleware);
    expect((middleware as CountingSessionMiddleware).label).toBe('counting');
    expect(middleware.maxAge).toBe(120);
    expect(middleware.sessionStorage).toBe(container.get(TYPES.SessionStore));
    expect(warn).not.toHaveBeenCalled();

    const first = await visit(middleware);
    const second = await visit(middleware, first.id!);
    expect(second).toMatchObject({ id: first.id, visits: 2 });
    await expect(middleware.sessionStorage.get(first.id!)).resolves.toEqual({ visits: 2, lastPath: '/greet' });
  });

  it('binds a SessionMiddleware subclass with its own injected constructor', async () => {
    @injectable()
    class TenantSessionMiddleware extends SessionMiddleware {
      constructor(@inject(TYPES.SessionOptions) options: SessionMiddlewareOptions, @inject(TYPES.SessionStore) store: SessionStore) {
        super({ ...options, sessionHeader: 'X-Tenant-Session' }, store);
      }
    }

    const container = containerWith();
    container.rebind(TYPES.SessionStore).to(RecordingStore).inSingletonScope();
    container.rebind(SessionMiddleware).to(TenantSessionMiddleware).inSingletonScope();
    const middleware = container.get<SessionMiddleware>(TYPES.SessionMiddleware);
    expect(middleware).toBeInstanceOf(TenantSessionMiddleware);
    expect(middleware.sessionHeader).toBe('X-Tenant-Session');
    expect(middleware.maxAge).toBe(120);
    const store = container.get<RecordingStore>(TYPES.SessionStore);
    expect(middleware.sessionStorage).toBe(store);

    const response = await middleware.dispatch(new Request('http://localhost/'), async (request) => {
      middleware.sessionOf(request)!.set('tenant', 'acme');
      return new Response('ok');
    });
    const id = response.headers.get('X-Tenant-Session');
    expect(id).toBeTruthy();
    expect(response.headers.get('X-Session-ID')).toBeNull();
    await expect(store.get(id!)).resolves.toEqual({ tenant: 'acme' });
  });

  it('new SessionMiddleware() works with no arguments, warning once about the missing secret', async () => {
    const warn = jest.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    const middleware = new SessionMiddleware();
    cleanups.push(() => (middleware.sessionStorage as MemoryStore).close());
    expect(warn).toHaveBeenCalledTimes(1);
    expect(warn.mock.calls[0]?.[1]).toMatchObject({ code: 'SWARMAURI_SESSION_NO_SECRET' });
    expect(String(warn.mock.calls[0]?.[0])).toContain('secret');

    expect(middleware.sessionStorage).toBeInstanceOf(MemoryStore);
    expect(middleware.sessionHeader).toBe('X-Session-ID');
    expect(middleware.sessionCookie).toBe('session_id');
    expect(middleware.maxAge).toBe(3600);
    expect(middleware.sessionStorage.defaultTtlSeconds).toBe(3600);

    const first = await visit(middleware);
    expect(first.visits).toBe(1);
    expect(first.id).toBeTruthy();
    expect(first.cookie).toContain(`session_id=${first.id}; Max-Age=3600`);
    const second = await visit(middleware, first.id!);
    expect(second).toMatchObject({ id: first.id, visits: 2 });
    await expect(middleware.sessionStorage.get(first.id!)).resolves.toEqual({ visits: 2, lastPath: '/greet' });

    // The warning is emitted once per process: a second secret-less middleware stays quiet.
    const container = containerWith({});
    const fromContainer = container.get(SessionMiddleware);
    expect(fromContainer.maxAge).toBe(3600);
    expect(fromContainer.sessionStorage).toBeInstanceOf(MemoryStore);
    expect(warn).toHaveBeenCalledTimes(1);
  });
});
