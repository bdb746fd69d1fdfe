import type { RegisteredSession } from '../engine/registered.js';
import type { SessionState } from '../engine/state.js';

/**
 * What the middleware adds to Express's request. Merged into `Express.Request` as a base
 * interface, not as members of its own: `@types/express-session` declares `session` as a member,
 * and two members of one name must have identical types, so an app migrating from
 * express-session (both packages in one program) would not compile. A base member may be
 * overridden by a member of a narrower type instead; when express-session's typings are present
 * (they add `sessionID`), ours steps back to `unknown` and theirs wins, which is what an app
 * using the express-session drop-in expects.
 */
interface SwarmauriExpressRequest {
  /** Set by the middleware: `req.state.sessionId`. */
  state: SessionState;
  /** Set by the middleware: the request's `Session`. */
  session: Express.Request extends { sessionID: string } ? unknown : RegisteredSession;
}

declare global {
  // Express merges this namespace into its Request type, so `req.state` and `req.session` are typed.
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    // eslint-disable-next-line @typescript-eslint/no-empty-object-type
    interface Request extends SwarmauriExpressRequest {}
  }
}

export {};
