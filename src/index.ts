/**
 * Session middleware for Node: the TypeScript port of `swarmauri_middleware_session`, safe by
 * default, framework-agnostic and Inversify-ready.
 *
 * @packageDocumentation
 */
import './adapters/express-types.js';

export { MiddlewareBase } from './abstract/MiddlewareBase.js';
export { SessionStore, type StoredSession } from './abstract/SessionStore.js';
export { SessionMiddleware } from './concrete/SessionMiddleware.js';
export { Session } from './concrete/Session.js';
export { SessionError, type SessionErrorKind } from './core/SessionError.js';
export { MemoryStore, type MemoryStoreOptions } from './stores/MemoryStore.js';
export {
  RedisStore,
  type RedisStoreOptions,
  type RedisStoreClient,
  type IoRedisLike,
  type IoRedisClusterLike,
  type NodeRedisClientLike,
  type NodeRedisClusterLike,
} from './stores/RedisStore.js';
export { RecordStore, type RecordStoreOptions, type SessionRecord, type TimedSessionRecord } from './stores/RecordStore.js';
export {
  ExpressSessionStoreAdapter,
  type ExpressSessionStoreLike,
  type ExpressSessionRecord,
  type ExpressSessionCookie,
  type ExpressStoreCallback,
} from './stores/ExpressSessionStoreAdapter.js';
export { TYPES } from './abstract/TYPES.js';
export { sessionModule } from './di/sessionModule.js';
export type { SessionMiddlewareOptions, SessionCookieOptions, BreakerOptions } from './engine/options.js';
export type { SessionLogger, SessionEvent } from './core/logger.js';
export type { JsonValue, SessionData, SessionChanges } from './core/json.js';
export type { SessionState } from './engine/state.js';
export type { SessionTypeRegister, RegisteredSession } from './engine/registered.js';
export { SessionLifecycle, SessionTurn, type SessionHeader } from './engine/lifecycle.js';
export type { RequestView } from './engine/SessionEngine.js';
export type { UserSession } from './engine/users.js';
export type { UserSessionEntry, UserRevocation, UserIndex } from './abstract/userIndex.js';
export type { WebNext } from './adapters/web.js';
export type { ConnectHandler, ConnectNext, NodeRequest } from './adapters/node.js';
export type { FastifySessionPlugin } from './adapters/fastify.js';
export type { KoaSessionMiddleware } from './adapters/koa.js';
export type { HonoSessionMiddleware } from './adapters/hono.js';
export { default as expressSession, type ExpressSessionOptions, type ExpressSessionCookieOptions } from './compat/expressSession.js';
