import { inspect } from 'node:util';
import { SessionError } from '../core/SessionError.js';
import { MAX_AGE_LIMIT_SECONDS } from '../core/timers.js';
import { Cookie, type CookieData } from './Cookie.js';
import { warnOnce } from './warnings.js';

/** What a live cookie needs from its session. */
export interface CookieSource {
  /** This session's idle lifetime in seconds (its own or the middleware's), or `undefined` for a browser-session cookie without one. */
  lifetime(): number | undefined;
  /** When the session runs out if nothing else happens. */
  expiresAt(): Date;
  /** Gives the session a lifetime of its own, in seconds. */
  setLifetime(seconds: number): void;
  /** The cookie attributes as configured (`secure` resolved for this request). */
  readonly attributes: Pick<CookieData, 'path' | 'httpOnly' | 'secure' | 'domain' | 'sameSite' | 'partitioned' | 'priority'>;
}

const ATTRIBUTES = ['path', 'httpOnly', 'secure', 'domain', 'sameSite', 'partitioned', 'priority'] as const;

/**
 * `req.session.cookie`: reads come from the session, `maxAge`/`expires` set its own lifetime;
 * the other attributes belong to the middleware (one warning when an app assigns them).
 */
export class LiveCookie extends Cookie {
  readonly #source: CookieSource;

  constructor(source: CookieSource) {
    super();
    this.#source = source;
    for (const key of ATTRIBUTES) {
      Object.defineProperty(this, key, {
        enumerable: true,
        configurable: true,
        get: () => source.attributes[key],
        set: () => warnOnce('SWARMAURI_SESSION_COOKIE_ATTRIBUTE', `express-session drop-in: req.session.cookie.${key} is set by the middleware options; per-session values are ignored`),
      });
    }
  }

  /** What `console.log` shows: the values, not the accessors. */
  [inspect.custom](): CookieData {
    return this.data;
  }

  override get originalMaxAge(): number | null {
    const seconds = this.#source.lifetime();
    return seconds === undefined ? null : seconds * 1000;
  }

  override set originalMaxAge(_ms: number | null) {
    // Follows the lifetime (set maxAge to change it); the base constructor writes it.
  }

  override get expires(): Date | null {
    return this.#source.lifetime() === undefined ? null : this.#source.expiresAt();
  }

  override set expires(date: Date | null | undefined) {
    if (date === null || date === undefined || (date as unknown) === false) {
      // A browser-session cookie for this session alone: not supported (docs/migration.md).
      if (this.#source.lifetime() !== undefined) warnOnce('SWARMAURI_SESSION_COOKIE_ATTRIBUTE', 'express-session drop-in: req.session.cookie.expires = null (a browser-session cookie for one session) is not supported and is ignored');
      return;
    }
    if (!(date instanceof Date) || !Number.isFinite(date.getTime())) throw new SessionError('invalid-value', 'cookie.expires must be a Date or null');
    this.maxAge = date.getTime() - Date.now();
  }

  override get maxAge(): number | undefined {
    return this.#source.lifetime() === undefined ? undefined : this.#source.expiresAt().getTime() - Date.now();
  }

  override set maxAge(ms: number | null | undefined) {
    if (ms === null || ms === undefined) {
      this.expires = null;
      return;
    }
    if (typeof ms !== 'number' || !Number.isFinite(ms) || ms <= 0) {
      throw new SessionError('invalid-value', `cookie.maxAge must be a number of milliseconds > 0 or null, got ${String(ms)}`);
    }
    // Browsers keep a cookie at most 400 days: a longer lifetime means the same (as for the option).
    this.#source.setLifetime(Math.min(Math.ceil(ms / 1000), MAX_AGE_LIMIT_SECONDS));
  }
}
