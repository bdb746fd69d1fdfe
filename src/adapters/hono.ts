import type { SessionLifecycle } from '../engine/lifecycle.js';

/** PLACEHOLDER: the hono adapter's public type (the helper that writes this adapter replaces it). */
export type HonoSessionMiddleware = (...args: never[]) => unknown;

/** PLACEHOLDER: builds the hono adapter on the lifecycle. */
export function honoSession(lifecycle: SessionLifecycle<unknown>): HonoSessionMiddleware {
  void lifecycle;
  throw new Error('hono adapter not written yet');
}
