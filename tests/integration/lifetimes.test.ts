/**
 * Per-session lifetimes ("remember me", `Session.setMaxAge`), browser-session cookies
 * (`cookie.persistent: false`) and the reader of foreign session cookies (`LEGACY_IDS`, which the
 * express-session drop-in uses), through a real Express 5 app on a real socket.
 */
import { afterEach, describe, expect, it } from '@jest/globals';
import express from 'express';
import { MemoryStore, SessionError, SessionMiddleware, type SessionMiddlewareOptions } from '../../src/index.js';
import { LEGACY_IDS } from '../../src/engine/legacy.js';
import { cookieLine, cookieValue, listenApp, type Running } from '../support/http.js';

const SECRET = 'lifetimes-test-secret-of-32-characters!!';
const running: Running[] = [];
const stores: MemoryStore[] = [];

afterEach(async () => {
  for (const server of running.splice(0)) await server.close();
  for (const store of stores.splice(0)) store.close();
});

async function start(options: SessionMiddlewareOptions = {}, store = new MemoryStore({ sweepIntervalSeconds: 0 })) {
  stores.push(store);
  const mw = new SessionMiddleware({ secret: SECRET, sessionStorage: store, sessionHeader: false, ...options });
  const app = express();
  app.use(mw.express());
  app.get('/remember', (req, res) => {
    req.session.set('user', 'u1');
    req.session.setMaxAge(30 * 24 * 3600);
    res.json({ maxAge: req.session.maxAge });
  });
  app.get('/count', async (req, res) => {
    res.json({ visits: await req.session.increment('visits'), maxAge: req.session.maxAge, user: req.session.get('user') ?? null });
  });
  app.get('/regenerate', async (req, res) => {
    await req.session.regenerate();
    res.json({ maxAge: req.session.maxAge });
  });
  app.get('/bad', (req, res) => {
    let kind: string | undefined;
    try {
      req.session.setMaxAge(-1);
    } catch (error) {
      kind = SessionError.is(error) ? error.kind : 'other';
    }
    res.json({ kind });
  });
  const server = await listenApp(app);
  running.push(server);
  return { mw, store, url: server.url };
}

const maxAgeOf = (line: string | undefined): number | undefined => {
  const match = /Max-Age=(\d+)/.exec(line ?? '');
  return match ? Number(match[1]) : undefined;
};

describe('Session.setMaxAge ("remember me")', () => {
  it('gives the session its own lifetime: cookie Max-Age, store TTL, kept across requests, instances and regenerate', async () => {
    const { url, store, mw } = await start({ maxAge: 600 });
    const first = await fetch(`${url}/remember`);
    expect(await first.json()).toEqual({ maxAge: 2592000 });
    expect(maxAgeOf(cookieLine(first, 'session_id'))).toBe(2592000);
    const id = cookieValue(first, 'session_id')!;
    const found = await store.load(id);
    expect(found?.state === 'active' && found.expiresAt! - Date.now()).toBeGreaterThan(29 * 24 * 3600 * 1000);
    // Hidden from the app's data.
    expect(await store.get(id)).toEqual({ user: 'u1' });

    // A second instance on the same store honours it.
    const other = new SessionMiddleware({ secret: SECRET, sessionStorage: store, sessionHeader: false, maxAge: 600 });
    const app = express();
    app.use(other.express());
    app.get('/count', async (req, res) => {
      res.json({ visits: await req.session.increment('visits'), maxAge: req.session.maxAge });
    });
    const second = await listenApp(app);
    running.push(second);
    const counted = await fetch(`${second.url}/count`, { headers: { cookie: `session_id=${id}` } });
    expect(await counted.json()).toEqual({ visits: 1, maxAge: 2592000 });
    const after = await store.load(id);
    expect(after?.state === 'active' && after.expiresAt! - Date.now()).toBeGreaterThan(29 * 24 * 3600 * 1000);

    const regenerated = await fetch(`${url}/regenerate`, { headers: { cookie: `session_id=${id}` } });
    expect(await regenerated.json()).toEqual({ maxAge: 2592000 });
    const newId = cookieValue(regenerated, 'session_id')!;
    expect(newId).not.toBe(id);
    expect(maxAgeOf(cookieLine(regenerated, 'session_id'))).toBe(2592000);
    expect((await (await fetch(`${url}/count`, { headers: { cookie: `session_id=${newId}` } })).json())).toEqual({ visits: 2, maxAge: 2592000, user: 'u1' });
    void mw;
  });

  it('is still capped by absoluteTimeout: the cookie and the store TTL end with the absolute end', async () => {
    const { url, store } = await start({ maxAge: 600, absoluteTimeout: 120 });
    const first = await fetch(`${url}/remember`);
    expect(await first.json()).toEqual({ maxAge: 2592000 });
    // The id keeps its start in whole seconds: up to a second less than 120.
    const cookieMaxAge = maxAgeOf(cookieLine(first, 'session_id'))!;
    expect(cookieMaxAge).toBeGreaterThanOrEqual(118);
    expect(cookieMaxAge).toBeLessThanOrEqual(120);
    const found = await store.load(cookieValue(first, 'session_id')!);
    expect(found?.state === 'active' && found.expiresAt! - Date.now()).toBeLessThanOrEqual(120_000);
  });

  it('refuses a nonsense lifetime with invalid-value', async () => {
    const { url } = await start();
    expect(await (await fetch(`${url}/bad`)).json()).toEqual({ kind: 'invalid-value' });
  });
});

describe('cookie.persistent: false', () => {
  it('sends a browser-session cookie (no Max-Age) that is never refreshed, while the store still expires the session', async () => {
    const { url, store } = await start({ cookie: { persistent: false }, maxAge: 600, touchAfter: 0 });
    const first = await fetch(`${url}/count`);
    const line = cookieLine(first, 'session_id')!;
    expect(line).not.toMatch(/Max-Age|Expires/);
    const id = cookieValue(first, 'session_id')!;
    const again = await fetch(`${url}/count`, { headers: { cookie: `session_id=${id}` } });
    expect(await again.json()).toMatchObject({ visits: 2, maxAge: 600 });
    expect(cookieLine(again, 'session_id')).toBeUndefined();
    const found = await store.load(id);
    expect(found?.state === 'active' && found.expiresAt! - Date.now()).toBeLessThanOrEqual(600_000);
  });

  it('turns persistent for a session given its own lifetime', async () => {
    const { url } = await start({ cookie: { persistent: false } });
    const remembered = await fetch(`${url}/remember`);
    expect(maxAgeOf(cookieLine(remembered, 'session_id'))).toBe(2592000);
  });
});

describe('LEGACY_IDS: session cookies of another format', () => {
  const reader = (value: string): string | undefined => (value.startsWith('s:') ? value.slice(2) : undefined);

  it('opens the foreign session with its data and moves it to a signed id of ours; the old id is destroyed', async () => {
    const store = new MemoryStore({ sweepIntervalSeconds: 0 });
    await store.set('legacyRawId0123456789', { user: 'alice' });
    // As the express-session drop-in runs it: records of the old format sit under raw ids, moved when read.
    const { url } = await start({ [LEGACY_IDS]: reader, hashIds: 'migrate' } as SessionMiddlewareOptions, store);
    const response = await fetch(`${url}/count`, { headers: { cookie: 'session_id=s:legacyRawId0123456789' } });
    expect(await response.json()).toMatchObject({ visits: 1, user: 'alice' });
    const id = cookieValue(response, 'session_id')!;
    expect(id).toMatch(/^[A-Za-z0-9_-]{22}\.[0-9a-z]+\.[A-Za-z0-9_-]{24}$/);
    expect((await store.load('legacyRawId0123456789'))?.state).toBe('destroyed');
    expect(await store.get(id)).toEqual({ user: 'alice', visits: 1 });
    // The old cookie is refused from now on: a fresh session, none of the data.
    const replay = await fetch(`${url}/count`, { headers: { cookie: 'session_id=s:legacyRawId0123456789' } });
    expect(await replay.json()).toMatchObject({ visits: 1, user: null });
    expect(cookieValue(replay, 'session_id')).not.toBe(id);
  });

  it('issues a fresh session for a foreign cookie the reader refuses, one naming nothing, or a reader that throws', async () => {
    const throwing = (): string | undefined => {
      throw new Error('boom');
    };
    for (const [options, cookie] of [
      [{ [LEGACY_IDS]: reader }, 'session_id=x:notours'],
      [{ [LEGACY_IDS]: reader }, 'session_id=s:missingRawId0123456789'],
      [{ [LEGACY_IDS]: throwing }, 'session_id=s:whatever'],
    ] as const) {
      const { url } = await start(options as unknown as SessionMiddlewareOptions);
      const response = await fetch(`${url}/count`, { headers: { cookie } });
      expect(response.status).toBe(200);
      expect(await response.json()).toMatchObject({ visits: 1, user: null });
    }
  });

  it('refuses a reader that is not a function', () => {
    expect(() => new SessionMiddleware({ secret: SECRET, [LEGACY_IDS]: 'nope' } as SessionMiddlewareOptions)).toThrow(SessionError);
  });
});
