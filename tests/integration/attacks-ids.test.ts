/**
 * The attack battery, part 1: attacks on the id, on every framework adapter (Express 5, Fastify 5,
 * Koa 3, Hono 4, node:http) over real sockets, with MemoryStore and with RedisStore (ioredis, the
 * machine's Redis): the cookie's attributes and cache headers; fixation (an attacker's valid id
 * planted in a victim who then logs in); forged, tampered, truncated and retired-secret ids;
 * destroyed, revoked, cleared and expired ids replayed, also on a second instance sharing the
 * store; a small flood of made-up ids that must leave the store empty, tombstones included. The
 * app and the flood client are in tests/support/attackHarness.ts. Header bytes, CRLF and sizes
 * are in attacks-headers.test.ts; the big flood, concurrency and races in attacks-load.test.ts.
 * docs/security.md maps these tests to ASVS 5.0 and the OWASP Session Management Cheat Sheet.
 */
import { describe, expect, it, jest } from '@jest/globals';
import { ISSUED_ID, cookieValue, flipChar, sleep } from '../support/http.js';
import { describeWithServer, probeRedis } from '../support/redisServers.js';
import {
  FRAMEWORKS,
  NEW_SECRET,
  OLD_SECRET,
  Stores,
  cookie,
  flood,
  forgedId,
  json,
  sid,
  startApp,
  type AttackApp,
  type Framework,
  type StoreKind,
} from '../support/attackHarness.js';
import { attackApps } from '../support/attackApps.js';
import { MemoryStore } from '../../src/index.js';

const unavailable = await probeRedis();

interface WhoAmI {
  id: string;
  isNew: boolean;
  userId: string | null;
  data: Record<string, unknown>;
}

/** A clock that runs ahead of the real one by what the test says (Date.now only). */
function shiftedClock(): { advance(seconds: number): void; restore(): void } {
  const real = Date.now;
  let offset = 0;
  const spy = jest.spyOn(Date, 'now').mockImplementation(() => real() + offset);
  return {
    advance: (seconds) => {
      offset += seconds * 1000;
    },
    restore: () => spy.mockRestore(),
  };
}

/** The id cases for one framework and one kind of store. */
function idCases(framework: Framework, kind: StoreKind): void {
  // Apps closed after each test (no attack reaches the framework's error path), stores after all.
  const { stores, start } = attackApps(framework, kind);
  /** `presented` is refused: the response hands out a fresh issued id, and the session is empty and anonymous. */
  const expectRefused = async (app: AttackApp, presented: string, via: 'cookie' | 'header' = 'cookie'): Promise<WhoAmI> => {
    const response = await app.get('/whoami', via === 'cookie' ? cookie(presented) : { 'x-session-id': presented });
    expect(response.status).toBe(200);
    const body = await json<WhoAmI>(response);
    expect(body.id).not.toBe(presented);
    expect(body.id).toMatch(ISSUED_ID);
    expect(sid(response)).toBe(body.id);
    expect(body.isNew).toBe(true);
    expect(body.userId).toBeNull();
    expect(body.data).toEqual({});
    return body;
  };


  it('the cookie is HttpOnly, SameSite=Lax, Path=/, and responses that hand out or clear the id are not cached (no-store)', async () => {
    const app = await start();
    const first = await app.get('/count');
    const id = sid(first);
    expect(first.headers.getSetCookie().filter((line) => line.startsWith('session_id='))).toEqual([`session_id=${id}; Max-Age=3600; Path=/; HttpOnly; SameSite=Lax`]);
    expect(first.headers.get('cache-control')).toBe('no-store');
    const logout = await app.get('/logout', cookie(id));
    expect(logout.headers.getSetCookie().filter((line) => line.startsWith('session_id='))).toEqual([
      'session_id=; Max-Age=0; Path=/; Expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly; SameSite=Lax',
    ]);
    expect(logout.headers.get('cache-control')).toBe('no-store');
  });

  it('fixation: an attacker id planted in a victim (stored or not) is replaced at login and refused afterwards, on every instance', async () => {
    const app = await start();
    const twin = await start({}, app.store);
    for (const route of ['/count', '/nothing']) {
      // The attacker gets a valid id of its own (a session that stored data, or one that stored nothing)...
      const planted = sid(await app.get(route));
      // ...and plants it in the victim's browser (cookie tossing, a crafted link): it is valid, so it is served.
      expect((await json<WhoAmI>(await app.get('/whoami', cookie(planted)))).id).toBe(planted);
      // The victim logs in.
      const login = await app.get('/login?user=victim', cookie(planted));
      expect(login.status).toBe(200);
      const loggedIn = await json<{ id: string; userId: string }>(login);
      const victimId = cookieValue(login, 'session_id');
      expect(victimId).toMatch(ISSUED_ID);
      expect(victimId).not.toBe(planted);
      expect(loggedIn.id).toBe(victimId);
      expect(loggedIn.userId).toBe('victim');
      // A client that presented a cookie never reads the id in a header.
      expect(login.headers.get('x-session-id')).toBeNull();
      // The victim is logged in under the new id; the attacker's copy opens nothing, by cookie or header, here or on a twin.
      const victim = await json<WhoAmI>(await app.get('/whoami', cookie(victimId!)));
      expect(victim).toMatchObject({ id: victimId, userId: 'victim' });
      await expectRefused(app, planted);
      await expectRefused(app, planted, 'header');
      await expectRefused(twin, planted);
      expect((await app.store.load(planted))?.state).not.toBe('active');
      // The planted id cannot be used to write into the victim's session either.
      expect((await json<{ id: string }>(await app.get('/set?stolen=1', cookie(planted)))).id).not.toBe(planted);
      expect((await json<WhoAmI>(await app.get('/whoami', cookie(victimId!)))).data).not.toHaveProperty('stolen');
    }
  });

  it('forged ids (our shape with a made-up signature, one signed by another secret, a client-chosen name) are refused and store nothing', async () => {
    const app = await start();
    const foreignStore = new MemoryStore({ sweepIntervalSeconds: 0 });
    const foreign = await startApp(framework, foreignStore, { secret: 'an-attackers-own-secret-of-32-characters!' });
    let signedElsewhere: string;
    try {
      signedElsewhere = sid(await foreign.get('/count'));
    } finally {
      await foreign.close();
      foreignStore.close();
    }
    for (const forged of [forgedId(1), signedElsewhere, 'attacker-chosen-session-name', `${forgedId(2).slice(0, 23)}${(Math.floor(Date.now() / 1000) + 30).toString(36)}.${'A'.repeat(24)}`]) {
      for (const via of ['cookie', 'header'] as const) {
        await expectRefused(app, forged, via);
        const write = await app.get('/set?x=1', via === 'cookie' ? cookie(forged) : { 'x-session-id': forged });
        const written = (await json<{ id: string }>(write)).id;
        expect(written).not.toBe(forged);
        expect(await app.store.get(written)).toEqual({ x: '1' });
        expect(await app.store.load(forged)).toBeUndefined();
      }
    }
  });

  it('tampered ids (one character of the random part, the start or the signature changed) are refused; the real one still works', async () => {
    const app = await start();
    const real = sid(await app.get('/set?secret=yes'));
    const [random, start36, signature] = real.split('.') as [string, string, string];
    const later = (parseInt(start36, 36) + 3600).toString(36);
    const tampered = [
      flipChar(real, 5),
      `${random}.${later}.${signature}`,
      `${random}.${(parseInt(start36, 36) - 1).toString(36)}.${signature}`,
      flipChar(real, real.length - 3),
      `${random}.${start36}.${signature.slice(0, -1)}${signature.endsWith('A') ? 'B' : 'A'}`,
    ];
    for (const id of tampered) {
      expect(id).not.toBe(real);
      expect(id).toMatch(ISSUED_ID);
      await expectRefused(app, id);
      await expectRefused(app, id, 'header');
    }
    // Nothing was stored for them, and the real session is untouched.
    expect(await app.store.length()).toBe(1);
    expect(await json<WhoAmI>(await app.get('/whoami', cookie(real)))).toMatchObject({ id: real, data: { secret: 'yes' } });
  });

  it('truncated ids (a character short, without the signature, the random part alone, 8 characters) are refused', async () => {
    const app = await start();
    const real = sid(await app.get('/set?secret=yes'));
    const dot = real.lastIndexOf('.');
    for (const id of [real.slice(0, -1), real.slice(0, dot), real.slice(0, dot + 1), real.slice(0, 22), real.slice(0, 8), real.slice(1)]) {
      await expectRefused(app, id);
      await expectRefused(app, id, 'header');
    }
    expect((await json<WhoAmI>(await app.get('/whoami', cookie(real)))).data).toEqual({ secret: 'yes' });
  });

  it('retired secrets: ["new", "old"] accepts an old-signed id with its data; ["new"] alone refuses it; new ids pass both', async () => {
    const store = stores.make();
    const old = await start({ secret: OLD_SECRET }, store);
    const rotated = await start({ secret: [NEW_SECRET, OLD_SECRET] }, store);
    const onlyNew = await start({ secret: NEW_SECRET }, store);
    const signedOld = sid(await old.get('/count'));
    // Accepted with its data. (The id the client holds afterwards may be the same or, once
    // rotation re-signs, a new one: either way it carries the session on.)
    const accepted = await rotated.get('/count', cookie(signedOld));
    expect(((await json<{ count: number }>(accepted)).count)).toBe(2);
    const held = cookieValue(accepted, 'session_id') || signedOld;
    expect((await json<WhoAmI>(await rotated.get('/whoami', cookie(held)))).data).toEqual({ count: 2 });
    // An old-signed id the middleware with only the new secret sees is refused, its data out of reach.
    const another = sid(await old.get('/count'));
    await expectRefused(onlyNew, another);
    await expectRefused(onlyNew, another, 'header');
    // Ids issued under rotation are signed with the newest secret: the new-only middleware takes them.
    const fresh = sid(await rotated.get('/count'));
    expect((await json<{ id: string; count: number }>(await onlyNew.get('/count', cookie(fresh))))).toEqual({ id: fresh, count: 2 });
    // And the old-only middleware, whose secret is not the signing one, refuses them.
    await expectRefused(old, fresh);
  });

  it('a destroyed id replayed (cookie or header, here or on a second instance) opens nothing and revives nothing', async () => {
    const app = await start();
    const twin = await start({}, app.store);
    const id = sid(await app.get('/count'));
    expect((await json<{ count: number }>(await app.get('/count', cookie(id)))).count).toBe(2);
    const logout = await app.get('/logout', cookie(id));
    expect(logout.status).toBe(200);
    expect(logout.headers.get('x-session-id')).toBeNull();
    expect(cookieValue(logout, 'session_id')).toBe('');
    expect(logout.headers.getSetCookie().find((line) => line.startsWith('session_id='))).toMatch(/Max-Age=0/);
    await expectRefused(app, id);
    await expectRefused(app, id, 'header');
    await expectRefused(twin, id);
    // Writes presenting it go to a fresh session.
    const count = await json<{ id: string; count: number }>(await app.get('/count', cookie(id)));
    expect(count.id).not.toBe(id);
    expect(count.count).toBe(1);
    expect((await json<{ id: string; count: number }>(await twin.get('/count', { 'x-session-id': id }))).count).toBe(1);
    expect((await app.store.load(id))?.state).toBe('destroyed');
    expect(await app.store.get(id)).toBeUndefined();
  });

  it('revoked ids replayed: revokeAll(user) ends every device on every instance, revokeAll(user, { except }) spares one', async () => {
    const app = await start();
    const twin = await start({}, app.store);
    const user = `alice-${framework}-${kind}`;
    const phone = sid(await app.get(`/login?user=${user}`));
    const laptop = sid(await twin.get(`/login?user=${user}`));
    expect(await app.mw.sessionsOf(user)).toHaveLength(2);
    await app.mw.revokeAll(user);
    for (const id of [phone, laptop]) {
      await expectRefused(app, id);
      await expectRefused(twin, id, 'header');
    }
    expect(await app.mw.sessionsOf(user)).toEqual([]);
    // "Log out my other devices".
    const bob = `bob-${framework}-${kind}`;
    const kept = await json<{ id: string; handle: string }>(await app.get(`/login?user=${bob}`));
    const other = sid(await app.get(`/login?user=${bob}`));
    await twin.mw.revokeAll(bob, { except: kept.handle });
    await expectRefused(app, other);
    expect(await json<WhoAmI>(await twin.get('/whoami', cookie(kept.id)))).toMatchObject({ id: kept.id, userId: bob });
    // One device by its handle.
    await app.mw.revoke(bob, kept.handle);
    await expectRefused(twin, kept.id);
  });

  it('an administrator ends every session with store.clear(): replayed ids open nothing (no user, no data) on any instance', async () => {
    const app = await start();
    const twin = await start({}, app.store);
    const user = `cleared-${framework}-${kind}`;
    const loggedIn = sid(await app.get(`/login?user=${user}`));
    const anonymous = sid(await app.get('/count'));
    await app.store.clear();
    for (const id of [loggedIn, anonymous]) {
      for (const on of [app, twin]) {
        const body = await json<WhoAmI>(await on.get('/whoami', cookie(id)));
        expect(body.userId).toBeNull();
        expect(body.data).toEqual({});
      }
    }
    expect(await app.mw.sessionsOf(user)).toEqual([]);
  });

  it('expired ids replayed: past the absolute timeout (however active, and logging in does not restart it) the id is refused', async () => {
    const clock = shiftedClock();
    try {
      const app = await start({ maxAge: 60, absoluteTimeout: 120 });
      const id = sid(await app.get('/count'));
      clock.advance(50);
      expect(await json(await app.get('/count', cookie(id)))).toEqual({ id, count: 2 });
      clock.advance(50);
      expect(await json(await app.get('/count', cookie(id)))).toEqual({ id, count: 3 });
      // A login (a new id, the data kept) keeps the session's start.
      const loggedIn = sid(await app.get('/login?user=late', cookie(id)));
      expect(loggedIn).not.toBe(id);
      clock.advance(21);
      await expectRefused(app, id);
      await expectRefused(app, id, 'header');
      await expectRefused(app, loggedIn);
    } finally {
      clock.restore();
    }
  });

  if (kind === 'memory') {
    it('expired ids replayed: idle past maxAge, a stored and an unstored id are refused (fake clock; Redis TTL: see below)', async () => {
      const clock = shiftedClock();
      try {
        const app = await start({ maxAge: 60 });
        const stored = sid(await app.get('/count'));
        const unstored = sid(await app.get('/nothing'));
        clock.advance(59);
        expect((await json<WhoAmI>(await app.get('/whoami', cookie(stored)))).data).toEqual({ count: 1 });
        expect((await json<WhoAmI>(await app.get('/whoami', cookie(unstored)))).id).toBe(unstored);
        clock.advance(61);
        await expectRefused(app, stored);
        await expectRefused(app, unstored, 'header');
        expect(await app.store.load(stored)).toBeUndefined();
      } finally {
        clock.restore();
      }
    });
  }

  it('a flood of 1,200 made-up well-formed ids (header and cookie; reads and logouts): fresh ids, and the store holds nothing, not even a tombstone', async () => {
    const app = await start();
    const report = await flood({ port: app.port, count: 1200, connections: 2 });
    expect(report.failures).toEqual([]);
    expect(report).toMatchObject({ requests: 1200, ok: 1200, distinct: 800, logouts: 400 });
    expect(await app.store.length()).toBe(0);
    expect(await stores.footprint(app.store)).toBe(0);
  });
}

describe.each(FRAMEWORKS)('id attacks on %s with MemoryStore', (framework) => idCases(framework, 'memory'));

describeWithServer('id attacks with RedisStore (ioredis)', unavailable, () => {
  describe.each(FRAMEWORKS)('on %s', (framework) => idCases(framework, 'redis'));

  it('expired ids replayed: idle past maxAge (Redis TTL, real time), a stored and an unstored id are refused on every framework', async () => {
    const stores = new Stores('redis');
    const apps: AttackApp[] = [];
    try {
      const issued: Array<{ app: AttackApp; stored: string; unstored: string }> = [];
      for (const framework of FRAMEWORKS) {
        const app = await startApp(framework, stores.make(), { maxAge: 1 });
        apps.push(app);
        issued.push({ app, stored: sid(await app.get('/count')), unstored: sid(await app.get('/nothing')) });
      }
      await sleep(1100);
      for (const { app, stored, unstored } of issued) {
        for (const id of [stored, unstored]) {
          const body = await json<WhoAmI>(await app.get('/whoami', cookie(id)));
          expect(body.id).not.toBe(id);
          expect(body.data).toEqual({});
        }
        expect(await app.store.load(stored)).toBeUndefined();
        expect(app.errors).toEqual([]);
      }
    } finally {
      for (const app of apps) await app.close();
      await stores.close();
    }
  });
});
