import type { RegisteredSession } from '../engine/registered.js';
import type { SessionState } from '../engine/state.js';

declare global {
  // Express merges this namespace into its Request type, so `req.state` and `req.session` are typed.
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    interface Request {
      /** Set by {@link SessionMiddleware}: `req.state.sessionId`. */
      state: SessionState;
      /** Set by {@link SessionMiddleware}: the request's `Session`. */
      session: RegisteredSession;
    }
  }
}

export {};
