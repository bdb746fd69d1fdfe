import type { SessionStore } from '../abstract/SessionStore.js';
import { SessionError } from '../core/SessionError.js';
import type { Session as CoreSession } from '../concrete/Session.js';
import { LiveCookie, type CookieSource } from './LiveCookie.js';
import { isLiveSession, type Session, type SessionCallback, type SessionHost, type SessionRequest } from './Session.js';
import { createView, sourceOf, ViewSource } from './view.js';

/** What a {@link RequestSession} needs from the drop-in. */
export interface HostOptions {
  readonly unset: 'destroy' | 'keep';
  /** The core's store, for `reload`. */
  readonly storage: SessionStore;
  /** The middleware's lifetime in seconds, and whether its cookies carry it (`cookie.maxAge` given). */
  readonly maxAge: number;
  readonly persistent: boolean;
  /** The cookie attributes, express-session style, `secure` resolved for this request. */
  readonly attributes: CookieSource['attributes'];
  /** Where an exception thrown by an application callback goes (the request's `next`). */
  readonly fail: (error: unknown) => void;
}

const noop = (): void => undefined;

/**
 * The express-session side of one request's session: `req.session` (a property view over the
 * core session, replaced by a new one on regenerate, as express-session replaces its object),
 * `req.sessionID`, and the callback methods, each calling back exactly once.
 */
export class RequestSession implements SessionHost {
  readonly #req: SessionRequest;
  readonly #core: CoreSession;
  readonly #options: HostOptions;
  #source: ViewSource | undefined;
  #view: Session | undefined;
  /** The last operation started through a view: `reload` reads the store after it. */
  #last: Promise<unknown> = Promise.resolve();
  #ownLifetime = false;
  #cookie: LiveCookie | undefined;

  constructor(req: SessionRequest, core: CoreSession, options: HostOptions) {
    this.#req = req;
    this.#core = core;
    this.#options = options;
    this.#view = this.#liveView();
  }

  /** `req.session.cookie`, made on first use (one for every view of the request: it shows the session). */
  get cookie(): LiveCookie {
    const core = this.#core;
    this.#cookie ??= new LiveCookie({
      lifetime: () => (this.#options.persistent || this.#hasOwnLifetime() ? core.maxAge : undefined),
      expiresAt: () => core.expiresAt,
      setLifetime: (seconds) => {
        core.setMaxAge(seconds);
        this.#ownLifetime = true;
      },
      attributes: this.#options.attributes,
    });
    return this.#cookie;
  }

  /** Installs `req.session` (an accessor: `req.session = null` follows `unset`) and `req.sessionID`. */
  install(): void {
    const read = (): Session | undefined => this.#view;
    const assign = (value: unknown): void => this.#assign(value);
    const id = (): string => this.#core.id;
    Object.defineProperty(this.#req, 'session', { configurable: true, enumerable: true, get: read, set: assign });
    // The id follows regenerate; assigning it (express-session's store.generate does) changes nothing.
    Object.defineProperty(this.#req, 'sessionID', { configurable: true, enumerable: true, get: id, set: noop });
  }

  /**
   * Before the commit: a request whose `req.session` was set to `null` (or deleted) destroys its
   * session with `unset: 'destroy'`; with `'keep'` the stored session stays.
   */
  beforeCommit(): void {
    const current: unknown = this.#req.session;
    if (current !== undefined && current !== null) return;
    if (this.#core.isDestroyed) return;
    // 'keep': the stored session stays as it was; this request's unsaved changes are dropped.
    if (this.#options.unset === 'destroy') this.#core.destroy().catch(noop);
    else this.#core.discard();
  }

  /**
   * A session this request created (or regenerated) that holds nothing and has no lifetime of its
   * own: express-session's "uninitialized" session.
   */
  get uninitialized(): boolean {
    const core = this.#core;
    return core.isNew && !core.isDestroyed && !this.#hasOwnLifetime() && Object.keys(core.toJSON()).length === 0;
  }

  regenerate(_view: Session, callback: SessionCallback | undefined): void {
    // Like express-session, this acts on the request whichever of its session objects is asked.
    this.#source?.detach();
    const op = this.#core.regenerate({ keepData: false });
    this.#ownLifetime = false;
    this.#view = this.#liveView();
    this.#finish(op, callback);
  }

  destroy(view: Session, callback: SessionCallback | undefined): void {
    if (sourceOf(view).core === undefined) return this.#finish(Promise.resolve(), callback);
    this.#source?.detach();
    this.#view = undefined;
    this.#finish(this.#core.destroy(), callback);
  }

  reload(view: Session, callback: SessionCallback | undefined): void {
    if (sourceOf(view).core === undefined) return this.#finish(Promise.resolve(), callback);
    this.#finish(this.#last.then(() => this.#reload()), callback);
  }

  save(view: Session, callback: SessionCallback | undefined): void {
    // A detached session (the one before a regenerate) is no longer stored anywhere.
    this.#finish(sourceOf(view).core === undefined ? Promise.resolve() : this.#core.save(), callback);
  }

  touch(view: Session): void {
    if (sourceOf(view).core !== undefined) this.#core.touch().catch(noop);
  }

  #liveView(): Session {
    this.#source = new ViewSource(this, this.#core, () => this.cookie, this.#req);
    return createView(this.#source);
  }

  /** `req.session = value`. */
  #assign(value: unknown): void {
    if (value === this.#view) return;
    if (value === null || value === undefined) {
      this.#source?.detach();
      this.#view = undefined;
      return;
    }
    if (isLiveSession(value) && sourceOf(value).host === this) {
      // One of this request's session objects back in place: it shows the session again.
      this.#source?.detach();
      const source = sourceOf(value);
      source.core = this.#core;
      source.snapshot = undefined;
      this.#source = source;
      this.#view = value;
      return;
    }
    if (typeof value !== 'object') return;
    // Another object: its fields become the session's (express-session would store it whole).
    this.#core.clear();
    for (const [key, field] of Object.entries(value)) if (key !== 'cookie' && key !== 'id') this.#core.set(key, field);
    this.#view ??= this.#liveView();
  }

  /** Calls `callback` once `op` settled, exactly once, with its error; an exception it throws goes to `next`. */
  #finish(op: Promise<unknown>, callback: SessionCallback | undefined): void {
    const settled = op.then(
      () => undefined,
      (error: unknown) => error ?? new Error('session operation failed'),
    );
    this.#last = settled;
    if (typeof callback !== 'function') return;
    void settled.then((error) => {
      try {
        if (error === undefined) callback();
        else callback(error);
      } catch (thrown) {
        this.#options.fail(thrown);
      }
    });
  }

  /** express-session's reload: the stored fields replace this request's, unsaved changes are dropped. */
  async #reload(): Promise<void> {
    // The core re-reads on the session's queue, bounded by storeTimeout, without marking anything changed.
    try {
      await this.#core.reload();
    } catch (error) {
      if (SessionError.is(error) && error.kind === 'invalid-id') throw new Error('failed to load session');
      throw error;
    }
  }

  /** The session has a lifetime of its own (set now, or stored by an earlier "remember me"). */
  #hasOwnLifetime(): boolean {
    return this.#ownLifetime || this.#core.maxAge !== this.#options.maxAge;
  }
}
