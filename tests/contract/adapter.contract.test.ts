/**
 * The store contract suite and the failure battery against ExpressSessionStoreAdapter over real
 * express-session stores: express-session's own MemoryStore, and connect-pg-simple on the
 * machine's PostgreSQL.
 *
 * connect-pg-simple has no `all` or `clear`, which `ids()`, `length()` and `clear()` need; the
 * full battery runs over a subclass that adds them with two SQL statements (what a user of that
 * store would add), and a short suite checks what the bare store does.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ExpressSessionStoreAdapter, SessionError } from '../../src/index.js';
import { PGStore, callback, describeWithPostgres, expressSession, postgresUnavailable, scratchTable, type ScratchTable } from '../support/postgres.js';
import { runFailureContract } from './failureContract.js';
import { runStoreContract } from './storeContract.js';
import { runUserIndexContract } from './userIndexContract.js';

const overMemoryStore = async () => ({ store: new ExpressSessionStoreAdapter(new expressSession.MemoryStore()), cleanup: async () => undefined });
runStoreContract("ExpressSessionStoreAdapter over express-session's MemoryStore", overMemoryStore, { strictJson: true });
runFailureContract("ExpressSessionStoreAdapter over express-session's MemoryStore", overMemoryStore);
runUserIndexContract("ExpressSessionStoreAdapter over express-session's MemoryStore", overMemoryStore);

const unavailable = await postgresUnavailable();

describeWithPostgres('ExpressSessionStoreAdapter over connect-pg-simple (PostgreSQL)', unavailable, () => {
  let scratch: ScratchTable;
  let pgStore: InstanceType<typeof PGStore>;

  /** connect-pg-simple plus `all` and `clear` over the same table. */
  class ListingPGStore extends PGStore {
    override all(done: (error: unknown, sessions?: unknown) => void): void {
      scratch.pool.query<{ sid: string; sess: unknown }>(`SELECT sid, sess FROM ${scratch.qualified}`).then(
        (result) => done(null, Object.fromEntries(result.rows.map((row) => [row.sid, row.sess]))),
        (error: unknown) => done(error),
      );
    }

    override clear(done?: (error?: unknown) => void): void {
      scratch.pool.query(`DELETE FROM ${scratch.qualified}`).then(
        () => done?.(),
        (error: unknown) => done?.(error),
      );
    }
  }

  beforeAll(async () => {
    scratch = await scratchTable('contract');
    pgStore = new ListingPGStore({
      pool: scratch.pool,
      schemaName: scratch.schema,
      tableName: scratch.table,
      createTableIfMissing: true,
      pruneSessionInterval: false,
    });
    // The first call creates the table.
    await callback((done) => pgStore.get('warm-up', done));
  });

  afterAll(async () => {
    await pgStore?.close();
    await scratch?.drop();
  });

  const overPostgres = async () => {
    await scratch.pool.query(`DELETE FROM ${scratch.qualified}`);
    return { store: new ExpressSessionStoreAdapter(pgStore), cleanup: async () => undefined };
  };
  runStoreContract('ExpressSessionStoreAdapter over connect-pg-simple', overPostgres, { strictJson: true });
  runFailureContract('ExpressSessionStoreAdapter over connect-pg-simple', overPostgres);
  runUserIndexContract('ExpressSessionStoreAdapter over connect-pg-simple', overPostgres);

  describe('the bare connect-pg-simple store (no all, no clear)', () => {
    it('serves the session operations and refuses to list, with a store-error naming all()', async () => {
      const bare = new PGStore({ pool: scratch.pool, schemaName: scratch.schema, tableName: scratch.table, pruneSessionInterval: false });
      const store = new ExpressSessionStoreAdapter(bare);
      const id = `bare-${Date.now()}`;
      await store.set(id, { a: 1 }, 30);
      await store.patch(id, { b: 2 }, 30);
      await expect(store.increment(id, 'n', 2, 30)).resolves.toBe(2);
      await expect(store.get(id)).resolves.toStrictEqual({ a: 1, b: 2, n: 2 });
      await store.destroy(id);
      await expect(store.load(id)).resolves.toEqual({ state: 'destroyed' });
      for (const call of [() => store.length(), () => store.clear(), async () => { for await (const _ of store.ids()) break; }]) {
        const error = await call().then(
          () => undefined,
          (caught: unknown) => caught,
        );
        expect(SessionError.is(error)).toBe(true);
        expect((error as SessionError).kind).toBe('store-error');
        expect((error as SessionError).message).toContain('all()');
      }
      await bare.close();
    });

    it('stores the record in a shape connect-pg-simple understands: its expire column follows cookie.expires', async () => {
      const store = new ExpressSessionStoreAdapter(pgStore);
      const id = `shape-${Date.now()}`;
      const before = Date.now();
      await store.set(id, { cookie: 'an app field named cookie', visits: 1 }, 120);
      const { rows } = await scratch.pool.query<{ sess: Record<string, unknown>; expire: Date }>(
        `SELECT sess, expire FROM ${scratch.qualified} WHERE sid = $1`,
        [id],
      );
      const row = rows[0]!;
      const cookie = row.sess.cookie as { originalMaxAge: number; expires: string; httpOnly: boolean; path: string };
      expect(row.sess).toEqual({ cookie, swarmauri: 1, data: { cookie: 'an app field named cookie', visits: 1 } });
      expect(cookie).toEqual({ originalMaxAge: 120_000, expires: expect.any(String), httpOnly: true, path: '/' });
      const expires = Date.parse(cookie.expires);
      expect(expires).toBeGreaterThanOrEqual(before + 120_000);
      expect(expires).toBeLessThan(Date.now() + 120_000 + 1);
      // connect-pg-simple rounds up to whole seconds (the column is timestamp without time zone, in the server's zone: compare loosely).
      const { rows: lag } = await scratch.pool.query<{ seconds: number }>(
        `SELECT extract(epoch FROM expire - to_timestamp($2)::timestamp)::float AS seconds FROM ${scratch.qualified} WHERE sid = $1`,
        [id, expires / 1000],
      );
      expect(Math.abs(lag[0]!.seconds)).toBeLessThanOrEqual(1);
      await expect(store.get(id)).resolves.toStrictEqual({ cookie: 'an app field named cookie', visits: 1 });
    });
  });
});
