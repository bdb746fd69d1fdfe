import type { SessionLifecycle } from '../engine/lifecycle.js';

/** PLACEHOLDER: the fastify adapter's public type (the helper that writes this adapter replaces it). */
export type FastifySessionPlugin = (...args: never[]) => unknown;

/** PLACEHOLDER: builds the fastify adapter on the lifecycle. */
export function fastifySession(lifecycle: SessionLifecycle<unknown>): FastifySessionPlugin {
  void lifecycle;
  throw new Error('fastify adapter not written yet');
}
