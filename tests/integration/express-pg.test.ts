/**
 * Express 5 over a real socket with sessions in PostgreSQL through connect-pg-simple, wrapped by
 * ExpressSessionStoreAdapter: visits, login with regenerate, logout with destroy, and concurrent
 * increments on one session within one process.
 */
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import express from 'express';
import { ExpressSessionStoreAdapter, SessionMiddleware } from '../../src/index.js';
import { CookieClient, ISSUED_ID, listenApp, type Running } from '../support/http.js';
import { PGStore, describeWithPostgres, postgresUnavailable, scratchTable, type ScratchTable } from '../support/postgres.js';
import { hashedKeyOf } from '../../src/core/storageKey.js';

const SECRET = 'pg-integration-secret-of-at-least-32-chars';
const unavailable = await postgresUnavailable();

interface Visit {
  id: string;
  visits: number;
}

describeWithPostgres('Express 5 + ExpressSessionStoreAdapter(connect-pg-simple)', unavailable, () => {
  let scratch: ScratchTable;
  let pgStore: InstanceType<typeof PGStore>;
  let sessions: SessionMiddleware;
  let server: Running;

  beforeAll(async () => {
    scratch = await scratchTable('express');
    pgStore = new PGStore({
      pool: scratch.pool,
      schemaName: scratch.schema,
      tableName: scratch.table,
      createTableIfMissing: true,
      pruneSessionInterval: false,
    });
    sessions = new SessionMiddleware({ secret: SECRET, sessionStorage: new ExpressSessionStoreAdapter(pgStore) });
    const app = express();
    app.use(sessions.express());
    app.get('/visit', async (req, res) => {
      const visits = await req.session.increment('visits');
      res.json({ id: req.state.sessionId, visits });
    });
    app.get('/login', async (req, res) => {
      await req.session.regenerate();
      req.session.set('user', String(req.query.user));
      res.json({ id: req.state.sessionId, data: req.session.toJSON() });
    });
    app.get('/me', (req, res) => {
      res.json({ id: req.state.sessionId, data: req.session.toJSON() });
    });
    app.get('/logout', async (req, res) => {
      await req.session.destroy();
      res.json({ ok: true });
    });
    server = await listenApp(app);
  });

  afterAll(async () => {
    await server?.close();
    await pgStore?.close();
    await scratch?.drop();
  });

  /** The row connect-pg-simple keeps for `id`. */
  async function row(id: string): Promise<{ sess: Record<string, unknown>; expire: Date } | undefined> {
    const { rows } = await scratch.pool.query<{ sess: Record<string, unknown>; expire: Date }>(
      `SELECT sess, expire FROM ${scratch.qualified} WHERE sid = $1`,
      // Ids are filed under their hash.
      [hashedKeyOf(id)],
    );
    return rows[0];
  }

  it('counts visits with req.session.increment, through the cookie and through X-Session-ID', async () => {
    const browser = new CookieClient(server.url);
    const first = (await (await browser.fetch('/visit')).json()) as Visit;
    expect(first.visits).toBe(1);
    expect(first.id).toMatch(ISSUED_ID);
    expect(browser.cookies.get('session_id')).toBe(first.id);
    const second = (await (await browser.fetch('/visit')).json()) as Visit;
    expect(second).toEqual({ id: first.id, visits: 2 });

    const viaHeader = (await (await fetch(`${server.url}/visit`, { headers: { 'X-Session-ID': first.id } })).json()) as Visit;
    expect(viaHeader).toEqual({ id: first.id, visits: 3 });

    const stored = await row(first.id);
    expect(stored?.sess).toMatchObject({ swarmauri: 1, data: { visits: 3 } });
    const expires = Date.parse((stored!.sess.cookie as { expires: string }).expires);
    expect(expires).toBeGreaterThan(Date.now() + 3_500_000);
    await expect(sessions.sessionStorage.get(first.id)).resolves.toEqual({ visits: 3 });
  });

  it('regenerates on login keeping the data, and refuses the old id afterwards', async () => {
    const browser = new CookieClient(server.url);
    const before = (await (await browser.fetch('/visit')).json()) as Visit;
    await browser.fetch('/visit');
    const login = (await (await browser.fetch('/login?user=ada')).json()) as { id: string; data: Record<string, unknown> };
    expect(login.id).not.toBe(before.id);
    expect(login.data).toEqual({ visits: 2, user: 'ada' });
    expect(browser.cookies.get('session_id')).toBe(login.id);
    await expect(sessions.sessionStorage.get(login.id)).resolves.toEqual({ visits: 2, user: 'ada' });
    await expect(sessions.sessionStorage.load(before.id)).resolves.toEqual({ state: 'destroyed' });
    expect((await row(before.id))?.sess).toMatchObject({ swarmauri: 1, tombstone: true });

    const me = (await (await browser.fetch('/me')).json()) as { id: string; data: Record<string, unknown> };
    expect(me).toEqual({ id: login.id, data: { visits: 2, user: 'ada' } });

    const replay = await fetch(`${server.url}/me`, { headers: { 'X-Session-ID': before.id } });
    const replayed = (await replay.json()) as { id: string; data: Record<string, unknown> };
    expect(replayed.id).not.toBe(before.id);
    expect(replayed.id).not.toBe(login.id);
    expect(replayed.data).toEqual({});
  });

  it('destroys on logout: the cookie is cleared, the row is a tombstone and the id is refused', async () => {
    const browser = new CookieClient(server.url);
    const { id } = (await (await browser.fetch('/visit')).json()) as Visit;
    const logout = await browser.fetch('/logout');
    expect(logout.status).toBe(200);
    expect(logout.headers.get('x-session-id')).toBeNull();
    expect(browser.cookies.has('session_id')).toBe(false);
    await expect(sessions.sessionStorage.load(id)).resolves.toEqual({ state: 'destroyed' });
    expect((await row(id))?.sess).toMatchObject({ swarmauri: 1, tombstone: true });

    const again = await fetch(`${server.url}/visit`, { headers: { 'X-Session-ID': id, cookie: `session_id=${id}` } });
    const visit = (await again.json()) as Visit;
    expect(visit.id).not.toBe(id);
    expect(visit.visits).toBe(1);
    await expect(sessions.sessionStorage.load(id)).resolves.toEqual({ state: 'destroyed' });
  });

  it('loses no count when 40 requests increment one session at once (serialised per id in this process)', async () => {
    const { id } = (await (await fetch(`${server.url}/visit`)).json()) as Visit;
    const responses = await Promise.all(
      Array.from({ length: 40 }, () => fetch(`${server.url}/visit`, { headers: { 'X-Session-ID': id } })),
    );
    const seen = await Promise.all(responses.map(async (response) => ((await response.json()) as Visit).visits));
    expect(seen.sort((x, y) => x - y)).toEqual(Array.from({ length: 40 }, (_, i) => i + 2));
    await expect(sessions.sessionStorage.get(id)).resolves.toEqual({ visits: 41 });
  });
});
