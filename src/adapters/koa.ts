import type { SessionLifecycle } from '../engine/lifecycle.js';

/** PLACEHOLDER: the koa adapter's public type (the helper that writes this adapter replaces it). */
export type KoaSessionMiddleware = (...args: never[]) => unknown;

/** PLACEHOLDER: builds the koa adapter on the lifecycle. */
export function koaSession(lifecycle: SessionLifecycle<unknown>): KoaSessionMiddleware {
  void lifecycle;
  throw new Error('koa adapter not written yet');
}
