import type { SessionStore } from '../abstract/SessionStore.js';
import type { SessionData } from '../core/json.js';
import type { StoredMeta } from '../core/meta.js';
import type { EventLog } from '../core/logger.js';

/**
 * What a {@link Session} needs from the middleware that made it.
 */
export interface SessionRuntime {
  readonly store: SessionStore;
  readonly log: EventLog;
  /** Milliseconds a session that stored nothing lives after its start, and the idle timeout. */
  readonly maxAgeMs: number;
  /** Milliseconds between TTL refreshes of an unchanged session. */
  readonly touchAfterMs: number;
  /** Runs one store call, bounded by `storeTimeout`, failures turned into `SessionError`s. */
  call<T>(what: string, op: () => Promise<T>): Promise<T>;
  /** The TTL of a write now: the session's own `maxAge` or the middleware's, cut short by the absolute timeout. */
  ttlSeconds(startedAt: number | undefined, now: number, ownMaxAge?: number): number;
  /** The middleware's `maxAge`, seconds. */
  readonly maxAgeSeconds: number;
  /** Session cookies carry a `Max-Age` (`cookie.persistent`). */
  readonly persistentCookie: boolean;
  /** A new signed id for a session that began at `startedAt`. */
  issueId(startedAt: number): string;
  /** The store's synchronous operations, when it has them (`MemoryStore`). */
  readonly sync: import('../abstract/syncStore.js').SyncStoreOps | undefined;
  /** Largest session, in bytes of JSON. */
  readonly maxSessionBytes: number;
  /** The session cookie transport is on. */
  readonly cookieTransport: boolean;
  /** Notes that `id` was regenerated or destroyed: responses in flight must not send it again. */
  ended(id: string): void;
  /** True when this process saw `id` regenerated or destroyed recently. */
  hasEnded(id: string): boolean;
}

/** How a session came to be; built by the engine, not by applications. */
export interface SessionInit {
  /** The id. */
  id: string;
  /** Epoch ms the session began (from its signed id); `undefined` for client-named ids. */
  startedAt: number | undefined;
  /** True when this request created it. */
  isNew: boolean;
  /** The stored record, when there is one, without the middleware's own fields. */
  stored?: { data: SessionData; expiresAt: number | undefined; meta: StoredMeta };
  /** The response may carry the id in the header (the client did not present a session cookie). */
  sendsHeader: boolean;
  /** The request's headers. */
  request?: { header(name: string): string | undefined };
  /** The request does not count as activity (`ignoreActivity`): no TTL or cookie refresh. */
  quiet?: boolean;
  /** The id was re-signed with the newest secret: the response carries it. */
  reissued?: boolean;
}

/**
 * What the engine needs of a session object: the public {@link Session} implements it. The engine
 * is given a factory of them, so it depends on this interface and not on the class (which sits in
 * a layer above it).
 */
export interface EngineSession {
  readonly id: string;
  readonly isNew: boolean;
  readonly isDestroyed: boolean;
  /** The response may carry the id in the header transport. */
  readonly sendsHeader: boolean;
  /** The response must carry the session cookie: a new id, or a due refresh of its expiry. */
  readonly cookieDue: boolean;
  /** Seconds the cookie should live (until the session would expire), or `undefined` for a browser-session cookie. */
  cookieMaxAge(now: number): number | undefined;
  /** The response headers are going out (see `Session.markSent`). */
  markSent(sent: boolean, cookieExpiresAt: number | undefined): void;
  /** Writes what is pending; with `close`, later changes are refused. */
  commit(close?: boolean): Promise<void>;
  /** Stores now what the commit would store, when that needs no waiting; true then. */
  commitNow(): boolean;
  /** Closes the session when its last commit would do nothing; true then. */
  closeIfIdle(): boolean;
  /** A new id for the same data (a session carried over from another id format). */
  regenerate(options?: { keepData?: boolean }): Promise<void>;
}

/** Makes the session object of a request. */
export type SessionFactory<S extends EngineSession = EngineSession> = (runtime: SessionRuntime, init: SessionInit) => S;
