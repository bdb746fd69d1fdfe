import type { IncomingMessage, ServerResponse } from 'node:http';
import { SessionStore } from '../abstract/SessionStore.js';
import { holdResponseUntilCommitted, type HoldHooks } from '../adapters/holdResponse.js';
import type { ConnectHandler, ConnectNext } from '../adapters/node.js';
import { SessionMiddleware } from '../concrete/SessionMiddleware.js';
import type { Session as CoreSession } from '../concrete/Session.js';
import { SessionError } from '../core/SessionError.js';
import { LEGACY_IDS } from '../engine/legacy.js';
import { SessionTurn } from '../engine/lifecycle.js';
import type { RequestView } from '../engine/SessionEngine.js';
import { ExpressSessionStoreAdapter, type ExpressSessionStoreLike } from '../stores/ExpressSessionStoreAdapter.js';
import type { CookieSource } from './LiveCookie.js';
import { RequestSession } from './host.js';
import { coreStoreOf, MemoryStore } from './MemoryStore.js';
import { mapOptions, type MappedOptions } from './mapOptions.js';
import type { ExpressSessionOptions } from './options.js';
import { legacyIdOf, resolveSecrets } from './secrets.js';
import type { SessionRequest } from './Session.js';
import type { Store } from './Store.js';

/** Middlewares made for `req.secret` values (cookie-parser's), when no `secret` option was given. */
const MAX_REQUEST_SECRETS = 16;

/** A store of this library (also from another copy of the package): it has `patch` and `increment`, no express-session store does. */
function isSessionStore(store: unknown): store is SessionStore {
  if (store instanceof SessionStore) return true;
  const methods = store as Record<string, unknown> | null | undefined;
  return typeof methods?.load === 'function' && typeof methods.patch === 'function' && typeof methods.increment === 'function';
}

/** The core's store for express-session's `store` option, and what `req.sessionStore` shows. */
function storesOf(store: unknown): { storage: SessionStore; exposed: unknown } {
  if (store === undefined || store === null) {
    const memory = new MemoryStore();
    return { storage: coreStoreOf(memory)!, exposed: memory };
  }
  const memory = coreStoreOf(store);
  if (memory) return { storage: memory, exposed: store };
  if (isSessionStore(store)) return { storage: store, exposed: store };
  // Anything with express-session's callback API; the adapter refuses the rest (invalid-option `store`).
  return { storage: new ExpressSessionStoreAdapter(store as ExpressSessionStoreLike), exposed: store };
}

/** express-session's `issecure`: TLS, else `X-Forwarded-Proto` with `proxy: true`, else Express's `req.secure`. */
class DropinView implements RequestView {
  readonly #req: IncomingMessage;
  readonly #proxy: boolean | undefined;

  constructor(req: IncomingMessage, proxy: boolean | undefined) {
    this.#req = req;
    this.#proxy = proxy;
  }

  header(name: string): string | undefined {
    const value = this.#req.headers[name];
    return Array.isArray(value) ? value.join(', ') : value;
  }

  get encrypted(): boolean {
    return Boolean((this.#req.socket as { encrypted?: boolean } | null)?.encrypted);
  }

  get secure(): boolean {
    if (this.encrypted) return true;
    if (this.#proxy === false) return false;
    if (this.#proxy !== true) return (this.#req as { secure?: unknown }).secure === true;
    const proto = this.header('x-forwarded-proto') ?? '';
    return proto.split(/\s*,\s*/)[0]!.toLowerCase() === 'https';
  }
}

/** True when the request's path is under the cookie's path (express-session serves no session elsewhere). */
function underPath(req: IncomingMessage, path: string): boolean {
  if (path === '/') return true;
  const url = (req as { originalUrl?: string }).originalUrl ?? req.url ?? '/';
  const end = url.search(/[?#]/);
  return (end === -1 ? url : url.slice(0, end)).startsWith(path);
}

/**
 * express-session's middleware on this library's: validates the options at once, then for each
 * request opens the session through the core's lifecycle, installs `req.session`,
 * `req.sessionID` and `req.sessionStore`, and holds the response until the session is stored.
 */
export function createDropin(options: ExpressSessionOptions | undefined): ConnectHandler {
  const mapped = mapOptions(options);
  const { storage, exposed } = storesOf(mapped.store);
  const make = (secret: unknown, option: string): SessionMiddleware => {
    const secrets = resolveSecrets(secret, option);
    return new SessionMiddleware({
      // Sessions express-session stored sit under their raw ids: hashed from now on, moved when read.
      hashIds: 'migrate',
      ...mapped.core,
      secret: secrets.core,
      sessionStorage: storage,
      [LEGACY_IDS]: (value: string) => legacyIdOf(value, secrets.legacy),
    } as ConstructorParameters<typeof SessionMiddleware>[0]);
  };
  const fixed = mapped.secret === undefined ? undefined : make(mapped.secret, 'secret');
  const perSecret = new Map<string, SessionMiddleware>();
  const middlewareFor = (req: IncomingMessage): SessionMiddleware => {
    if (fixed) return fixed;
    const secret = (req as { secret?: unknown }).secret;
    if (typeof secret !== 'string' || secret === '') {
      throw new SessionError('invalid-option', 'secret option required for sessions (or cookie-parser with a secret before the session middleware)', { option: 'secret' });
    }
    let middleware = perSecret.get(secret);
    if (!middleware) {
      if (perSecret.size >= MAX_REQUEST_SECRETS) perSecret.delete(perSecret.keys().next().value!);
      middleware = make(secret, 'req.secret');
      perSecret.set(secret, middleware);
    }
    return middleware;
  };

  // express-session serves requests without a session while its store says it is disconnected.
  let storeReady = true;
  const events = exposed as { on?: (event: string, listener: () => void) => unknown };
  if (typeof events.on === 'function' && !isSessionStore(exposed)) {
    events.on.call(exposed, 'disconnect', () => (storeReady = false));
    events.on.call(exposed, 'connect', () => (storeReady = true));
  }

  return function session(req: IncomingMessage, res: ServerResponse, next: ConnectNext): void {
    const request = req as SessionRequest;
    // Another session middleware (or this one, mounted twice) already ran.
    if (request.session) return next();
    if (!storeReady || !underPath(req, mapped.path)) return next();
    const view = new DropinView(req, mapped.proxy);
    let begun: SessionTurn<CoreSession> | Promise<SessionTurn<CoreSession>>;
    try {
      const middleware = middlewareFor(req);
      request.sessionStore = exposed as Store;
      begun = middleware.lifecycle.begin(req, view);
    } catch (error) {
      return next(error);
    }
    const start = (turn: SessionTurn<CoreSession>): void => {
      // Without a session (onStoreError: 'continue' and a failing store), as express-session without its store.
      if (!turn.owner || turn.session === undefined) return next();
      const host = new RequestSession(request, turn.session, {
        unset: mapped.unset,
        storage,
        maxAge: mapped.core.maxAge,
        persistent: mapped.originalMaxAge !== null,
        attributes: attributesOf(mapped, view),
        fail: next,
      });
      host.install();
      holdResponseUntilCommitted(res, hooksOf(turn, host, mapped.saveUninitialized), next);
      next();
    };
    if (begun instanceof SessionTurn) start(begun);
    else begun.then(start, next);
  };
}

/**
 * The turn's hooks for the hold, with the `unset` decision taken before the session is stored;
 * with `saveUninitialized: false`, a new session that holds nothing gets no cookie, as in
 * express-session (no cookie before there is something to keep, say before consent).
 */
function hooksOf(turn: SessionTurn<CoreSession>, host: RequestSession, saveUninitialized: boolean): HoldHooks {
  return {
    commit: () => {
      host.beforeCommit();
      return turn.commit();
    },
    settle: () => {
      host.beforeCommit();
      return turn.settle();
    },
    finishLater: () => turn.finishLater(),
    sessionHeaders: () => {
      const headers = turn.sessionHeaders();
      if (saveUninitialized || headers.setCookie === undefined || !host.uninitialized) return headers;
      return { ...headers, setCookie: undefined };
    },
    headerName: turn.headerName,
    cacheControl: turn.cacheControl,
  };
}

/** `req.session.cookie`'s attributes, as express-session reports them. */
function attributesOf(mapped: MappedOptions, view: DropinView): CookieSource['attributes'] {
  const cookie = mapped.core.cookie;
  const sameSite = cookie.sameSite === undefined ? 'lax' : cookie.sameSite;
  return {
    path: cookie.path ?? '/',
    httpOnly: cookie.httpOnly ?? true,
    get secure() {
      return cookie.secure === 'auto' || cookie.secure === undefined ? view.secure : cookie.secure;
    },
    domain: cookie.domain,
    sameSite: typeof sameSite === 'string' ? (sameSite.toLowerCase() as 'lax' | 'strict' | 'none') : sameSite,
    partitioned: cookie.partitioned ?? false,
    priority: cookie.priority,
  };
}
