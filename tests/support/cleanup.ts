import { afterEach } from '@jest/globals';
import type { Running } from './http.js';

/** What a test file registers to be closed after each test. */
export interface AfterEachCleanup {
  /** Closers, run (and emptied) after each test. */
  readonly cleanup: Array<() => Promise<void> | void>;
  /** `made` (a store, say), closed after the test. */
  track<T extends { close(): unknown }>(made: T): T;
  /** The started server, closed after the test. */
  serve(server: Promise<Running>): Promise<Running>;
}

/** Registers an `afterEach` that closes whatever the test tracked: stores, servers, anything with a closer. */
export function closeAfterEach(): AfterEachCleanup {
  const cleanup: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    for (const close of cleanup.splice(0)) await close();
  });
  return {
    cleanup,
    track(made) {
      cleanup.push(async () => {
        await made.close();
      });
      return made;
    },
    async serve(server) {
      const running = await server;
      cleanup.push(() => running.close());
      return running;
    },
  };
}
