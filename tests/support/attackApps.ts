// Jest-side helper of the attack batteries, kept apart from attackHarness.ts, which child
// processes (the flood server) import outside Jest.
import { afterAll, afterEach, expect } from '@jest/globals';
import type { SessionMiddlewareOptions, SessionStore } from '../../src/index.js';
import { Stores, startApp, type AttackApp, type Framework, type StoreKind } from './attackHarness.js';

/**
 * For a describe block of one framework and store kind: its stores, and `start`, which starts an
 * app on a new store (or a given one). Each test's apps are closed after it, failing the test if
 * one reached the framework's error path (no attack may); the stores are closed after the block.
 */
export function attackApps(framework: Framework, kind: StoreKind): {
  stores: Stores;
  start(options?: SessionMiddlewareOptions, store?: SessionStore): Promise<AttackApp>;
} {
  const stores = new Stores(kind);
  const apps: AttackApp[] = [];
  afterEach(async () => {
    for (const app of apps.splice(0)) {
      await app.close();
      expect(app.errors).toEqual([]);
    }
  });
  afterAll(() => stores.close());
  return {
    stores,
    async start(options = {}, store = stores.make()) {
      const app = await startApp(framework, store, options);
      apps.push(app);
      return app;
    },
  };
}
