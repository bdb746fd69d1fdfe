import { createHash } from 'node:crypto';
import type { SessionTelemetry } from './telemetry.js';

/**
 * A lifecycle event. `sessionId` is a short SHA-256 digest of the id, never the id itself, so
 * logs cannot be used to hijack sessions.
 */
export interface SessionEvent {
  /** What happened. */
  event: 'created' | 'loaded' | 'regenerated' | 'destroyed' | 'logged-in' | 'revoked' | 'rejected' | 'store-error' | 'store-down' | 'store-up' | 'no-secret';
  /** Digest of the session id (12 base64url characters). */
  sessionId?: string;
  /** For `regenerated`: digest of the id that was replaced (pass the raw id to `emit`; it is hashed). */
  previousSessionId?: string;
  /** For `rejected`: why the presented id was not adopted. */
  reason?: 'bad-signature' | 'not-issued' | 'expired' | 'destroyed' | 'from-the-future' | 'revoked';
  /** For `store-error` and `store-down`: what failed. */
  error?: string;
}

/**
 * Where lifecycle events go. The argument order is pino's (`event`, then `message`), so a pino
 * or Fastify logger can be passed as is; any method may be missing.
 *
 * @example
 * ```ts
 * new SessionMiddleware({ secret, logger: pino() });
 * new SessionMiddleware({ secret, logger: { warn: (e, msg) => console.warn(msg, e) } });
 * ```
 */
export interface SessionLogger {
  /** `created` and `loaded`. */
  debug?(event: SessionEvent, message: string): void;
  /** `regenerated`, `destroyed` and `store-up`. */
  info?(event: SessionEvent, message: string): void;
  /** `rejected` and `no-secret`. */
  warn?(event: SessionEvent, message: string): void;
  /** `store-error` and `store-down`. */
  error?(event: SessionEvent, message: string): void;
}

const LEVEL: Record<SessionEvent['event'], keyof SessionLogger> = {
  created: 'debug',
  loaded: 'debug',
  regenerated: 'info',
  destroyed: 'info',
  'logged-in': 'info',
  revoked: 'info',
  rejected: 'warn',
  'no-secret': 'warn',
  'store-error': 'error',
  'store-down': 'error',
  'store-up': 'info',
};

/** A short, stable, one-way digest of a session id for logs. */
export function hashId(id: string): string {
  return createHash('sha256').update(id).digest('base64url').slice(0, 12);
}

/**
 * Sends events to a {@link SessionLogger}, hashing ids, and counts them in the telemetry (the
 * `telemetry` option); costs nothing (a null check each) when there is neither.
 */
export class EventLog {
  readonly #logger: SessionLogger | undefined;
  #telemetry: SessionTelemetry | undefined;

  constructor(logger: SessionLogger | undefined) {
    this.#logger = logger;
  }

  /** Counts every later event in `telemetry` (set once the telemetry is ready; see `SessionEngine`). */
  countIn(telemetry: SessionTelemetry): void {
    this.#telemetry = telemetry;
  }

  emit(event: SessionEvent['event'], id: string | undefined, extra: Omit<SessionEvent, 'event' | 'sessionId'> = {}): void {
    // Counted with the event and the rejection reason only: never the id, hashed or not.
    const telemetry = this.#telemetry;
    if (telemetry !== undefined) telemetry.event(event, extra.reason);
    const logger = this.#logger;
    const method = logger?.[LEVEL[event]];
    if (!logger || !method) return;
    const payload: SessionEvent = { event, ...extra };
    if (id !== undefined) payload.sessionId = hashId(id);
    if (payload.previousSessionId !== undefined) payload.previousSessionId = hashId(payload.previousSessionId);
    try {
      method.call(logger, payload, `session ${event}`);
    } catch {
      // A broken logger must not break requests.
    }
  }
}
