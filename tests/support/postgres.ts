/**
 * PostgreSQL for tests: the machine's server (127.0.0.1:5432, trust auth, database `test`,
 * user `postgres`; `DATABASE_URL` overrides), a scratch schema per test file, and
 * connect-pg-simple loaded without `@types/express-session`.
 *
 * Without `CI`, a suite whose database is unreachable is skipped with a printed reason; with
 * `CI=true` it fails instead.
 */
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { describe, it } from '@jest/globals';
import pg from 'pg';
import type { ExpressSessionStoreLike } from '../../src/index.js';

const require = createRequire(import.meta.url);

/** Where the tests find PostgreSQL. */
export const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/** express-session's module, as far as these tests use it (its types are not installed on purpose). */
export interface ExpressSessionModule {
  MemoryStore: new () => ExpressSessionStoreLike & {
    all(callback: (error: unknown, sessions?: unknown) => void): void;
    clear(callback?: (error?: unknown) => void): void;
    sessions: Record<string, string>;
  };
  Store: new () => object;
}

/** Options of connect-pg-simple's store that the tests use. */
export interface PGStoreOptions {
  pool: pg.Pool;
  schemaName?: string;
  tableName?: string;
  createTableIfMissing?: boolean;
  pruneSessionInterval?: false | number;
}

/** A connect-pg-simple store. */
export type PGStore = ExpressSessionStoreLike & { close(): Promise<void> };

/** connect-pg-simple's store class. */
export type PGStoreClass = new (options: PGStoreOptions) => PGStore;

/** express-session itself. */
export const expressSession = require('express-session') as ExpressSessionModule;

/** connect-pg-simple's store class, bound to express-session. */
export const PGStore = (require('connect-pg-simple') as (session: ExpressSessionModule) => PGStoreClass)(expressSession);

/** Why PostgreSQL cannot be used, or `undefined` when it answers. */
export async function postgresUnavailable(): Promise<string | undefined> {
  const client = new pg.Client({ connectionString: DATABASE_URL, connectionTimeoutMillis: 2000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
    return undefined;
  } catch (error) {
    return `PostgreSQL at ${DATABASE_URL.replace(/\/\/[^@/]*@/, '//')} is unreachable: ${(error as Error).message}`;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/**
 * `describe(name, body)` when PostgreSQL answers. Otherwise: with `CI=true`, a failing test that
 * says why; without, the suite is skipped and the reason printed.
 */
export function describeWithPostgres(name: string, unavailable: string | undefined, body: () => void): void {
  if (unavailable === undefined) {
    describe(name, body);
  } else if (process.env.CI === 'true' || process.env.CI === '1') {
    describe(name, () => {
      it('needs PostgreSQL (CI is set, so this fails instead of skipping)', () => {
        throw new Error(unavailable);
      });
    });
  } else {
    console.warn(`Skipping "${name}": ${unavailable} (set DATABASE_URL, or CI=true to fail instead)`);
    describe.skip(name, body);
  }
}

/**
 * A scratch schema with a connect-pg-simple session table in it, unique per call, and the pool
 * that reaches it. A schema of its own because connect-pg-simple's table definition names its
 * index and primary key the same way for every table (`IDX_session_expire`, `session_pkey`),
 * and index names are unique per schema: two tables in one schema cannot both be created.
 */
export interface ScratchTable {
  pool: pg.Pool;
  schema: string;
  table: string;
  /** `"schema"."table"`, for queries. */
  qualified: string;
  /** Drops the schema and closes the pool. */
  drop(): Promise<void>;
}

/** Creates the scratch schema; the table itself is created by connect-pg-simple (`createTableIfMissing`). */
export async function scratchTable(label: string): Promise<ScratchTable> {
  const suffix = `${process.pid}_${randomBytes(4).toString('hex')}`;
  const schema = `swarmauri_test_${label}_${suffix}`;
  const table = `session_${suffix}`;
  const pool = new pg.Pool({ connectionString: DATABASE_URL, max: 10 });
  await pool.query(`CREATE SCHEMA "${schema}"`);
  return {
    pool,
    schema,
    table,
    qualified: `"${schema}"."${table}"`,
    drop: async () => {
      try {
        await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      } finally {
        await pool.end();
      }
    },
  };
}

/** Promisifies one callback-style call of an express-session store. */
export function callback<T = unknown>(invoke: (done: (error?: unknown, result?: T) => void) => void): Promise<T | undefined> {
  return new Promise((resolve, reject) => invoke((error, result) => (error ? reject(error) : resolve(result))));
}
