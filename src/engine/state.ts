import type { EngineSession as Session } from './runtime.js';

/** What the middleware puts at `request.state` (as the Python package's `request.state`). */
export interface SessionState {
  /**
   * The id of the request's session; follows `Session.regenerate`. Typed as a string for
   * the common case; it is `undefined` only when `onStoreError: 'continue'` served the request
   * without a session.
   */
  readonly sessionId: string;
}

/** Where an existing `state` object keeps the session its `sessionId` getter reads. */
const STATE_SESSION = Symbol('swarmauri-middleware-session/state');
const SESSION_ID_GETTER: PropertyDescriptor = {
  get(this: Record<symbol, Session | undefined>): string | undefined {
    return this[STATE_SESSION]?.id;
  },
  enumerable: true,
  configurable: true,
};

/** Remembers each request's session (for `sessionOf`) and exposes `request.state.sessionId`. */
export class SessionRegistry {
  /** The session rides on the request under a key of this registry (cheaper than a WeakMap entry per request). */
  readonly #key = Symbol('session');
  /** For requests that take no new property (frozen ones). */
  readonly #sessions = new WeakMap<object, Session>();

  attach(request: object, session: Session | undefined): void {
    if (session) {
      try {
        (request as Record<symbol, Session>)[this.#key] = session;
      } catch {
        this.#sessions.set(request, session);
      }
    }
    const holder = request as { state?: unknown };
    if (typeof holder.state !== 'object' || holder.state === null) {
      // The common case: one small object of one shape, its getter on the prototype.
      holder.state = new RequestState(session);
      return;
    }
    // Another middleware (or the framework: Koa's ctx.state) made `state`: add the id to it, as a
    // live getter. One shared descriptor reading the session from the state itself, instead of a
    // closure per request (about 4 µs a request under Koa).
    try {
      (holder.state as Record<symbol, Session | undefined>)[STATE_SESSION] = session;
      Object.defineProperty(holder.state, 'sessionId', SESSION_ID_GETTER);
    } catch {
      // A frozen state: nothing to add to.
    }
  }

  get(request: object): Session | undefined {
    return (request as Record<symbol, Session | undefined>)[this.#key] ?? this.#sessions.get(request);
  }
}

/** `request.state` when the middleware creates it: `sessionId` follows the session (regenerate). */
class RequestState {
  readonly #session: Session | undefined;

  constructor(session: Session | undefined) {
    this.#session = session;
  }

  get sessionId(): string {
    return this.#session?.id as string;
  }

  /** What `JSON.stringify(req.state)` and spreading show (the getter is on the prototype). */
  toJSON(): { sessionId: string } {
    return { sessionId: this.sessionId };
  }
}
