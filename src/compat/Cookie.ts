import { SessionError } from '../core/SessionError.js';

/** What a {@link Cookie} serializes to (express-session's `cookie.data`). */
export interface CookieData {
  /** The lifetime it was given, in ms; `null` for a browser-session cookie. */
  originalMaxAge: number | null;
  /** When it runs out; `null` (or `undefined`) for a browser-session cookie. */
  expires: Date | null | undefined;
  /** The `Secure` attribute. */
  secure: boolean | 'auto' | undefined;
  /** The `HttpOnly` attribute. */
  httpOnly: boolean | undefined;
  /** The `Domain` attribute. */
  domain: string | undefined;
  /** The `Path` attribute. */
  path: string | undefined;
  /** The `SameSite` attribute. */
  sameSite: boolean | 'lax' | 'strict' | 'none' | undefined;
  /** The `Partitioned` attribute. */
  partitioned: boolean | undefined;
  /** The `Priority` attribute. */
  priority: 'low' | 'medium' | 'high' | undefined;
}

/** The members of express-session's `Cookie` that stores and apps read: any such cookie fits. */
export interface SessionCookie {
  /** The lifetime it was given, in ms; `null` for a browser-session cookie. */
  originalMaxAge: number | null;
  /** Milliseconds left; `undefined` for a browser-session cookie. */
  maxAge?: number | undefined;
  /** Whether the cookie is signed. */
  signed?: boolean | undefined;
  /** When it runs out; `null` for a browser-session cookie. */
  expires?: Date | null | undefined;
  /** The `HttpOnly` attribute. */
  httpOnly?: boolean | undefined;
  /** The `Path` attribute. */
  path?: string | undefined;
  /** The `Domain` attribute. */
  domain?: string | undefined;
  /** The `Secure` attribute. */
  secure?: boolean | 'auto' | undefined;
  /** The `SameSite` attribute. */
  sameSite?: boolean | 'lax' | 'strict' | 'none' | undefined;
  /** The `Partitioned` attribute. */
  partitioned?: boolean | undefined;
  /** The `Priority` attribute. */
  priority?: 'low' | 'medium' | 'high' | undefined;
}

/**
 * express-session's `Cookie` (`session.Cookie`): the session cookie's settings, with `maxAge`
 * (milliseconds left), `expires` and `originalMaxAge`. `req.session.cookie` is one bound to the
 * request's session: setting its `maxAge` (or `expires`) gives that session a lifetime of its
 * own ("remember me"), stored with it; its other attributes are the middleware's and read-only.
 *
 * @example
 * ```ts
 * if (req.body.remember) req.session.cookie.maxAge = 30 * 24 * 3600 * 1000;
 * const left = req.session.cookie.maxAge; // ms, or null for a browser-session cookie
 * ```
 */
export class Cookie implements SessionCookie {
  /** The `Path` attribute. */
  path: string | undefined = '/';
  /** The `HttpOnly` attribute. */
  httpOnly: boolean | undefined = true;
  /** The `Secure` attribute. */
  secure: boolean | 'auto' | undefined;
  /** The `Domain` attribute. */
  domain: string | undefined;
  /** The `SameSite` attribute. */
  sameSite: boolean | 'lax' | 'strict' | 'none' | undefined;
  /** The `Partitioned` attribute. */
  partitioned: boolean | undefined;
  /** The `Priority` attribute. */
  priority: 'low' | 'medium' | 'high' | undefined;
  /** Always signed here. */
  signed = true;
  #expires: Date | null | undefined = null;
  #originalMaxAge: number | null = null;

  /** As express-session's: copies `options` (a cookie's settings, or a stored cookie). */
  constructor(options?: Partial<SessionCookie> & { maxAge?: number | null | undefined }) {
    if (options === undefined || options === null) return;
    if (typeof options !== 'object') throw SessionError.invalidOption('cookie', 'an object', options);
    for (const key of ['path', 'httpOnly', 'secure', 'domain', 'sameSite', 'partitioned', 'priority'] as const) {
      if (options[key] !== undefined) (this as Record<string, unknown>)[key] = options[key];
    }
    if (options.maxAge !== undefined) this.maxAge = options.maxAge;
    else if (options.expires !== undefined) this.expires = typeof options.expires === 'string' ? new Date(options.expires) : options.expires;
    if (options.originalMaxAge !== undefined && options.originalMaxAge !== null) this.originalMaxAge = options.originalMaxAge;
  }

  /** The lifetime it was given, in ms; `null` for a browser-session cookie. */
  get originalMaxAge(): number | null {
    return this.#originalMaxAge;
  }

  set originalMaxAge(ms: number | null) {
    this.#originalMaxAge = ms;
  }

  /** When the cookie runs out; `null` for a browser-session cookie. Setting it also sets `originalMaxAge`. */
  get expires(): Date | null | undefined {
    return this.#expires;
  }

  set expires(date: Date | null | undefined) {
    this.#expires = date;
    this.originalMaxAge = this.maxAge ?? null;
  }

  /** Milliseconds left; `undefined` for a browser-session cookie. Setting it sets `expires` to now plus it. */
  get maxAge(): number | undefined {
    return this.#expires instanceof Date ? this.#expires.getTime() - Date.now() : undefined;
  }

  set maxAge(ms: number | null | undefined) {
    if (ms !== null && ms !== undefined && (typeof ms !== 'number' || Number.isNaN(ms))) {
      throw new SessionError('invalid-value', `cookie.maxAge must be a number of milliseconds or null, got ${typeof ms}`);
    }
    this.expires = typeof ms === 'number' ? new Date(Date.now() + ms) : null;
    // Exactly what was given (the expires setter measured it a moment later).
    if (typeof ms === 'number') this.originalMaxAge = ms;
  }

  /** The settings, as express-session stores them. */
  get data(): CookieData {
    return {
      originalMaxAge: this.originalMaxAge,
      partitioned: this.partitioned,
      priority: this.priority,
      expires: this.expires,
      secure: this.secure,
      httpOnly: this.httpOnly,
      domain: this.domain,
      path: this.path,
      sameSite: this.sameSite,
    };
  }

  /** `name=value` with these attributes (as express-session's, for code that prints it; the middleware sets the real cookie). */
  serialize(name: string, value: string): string {
    const data = this.data;
    let out = `${name}=${encodeURIComponent(value)}`;
    if (data.expires instanceof Date) out += `; Expires=${data.expires.toUTCString()}`;
    if (data.domain) out += `; Domain=${data.domain}`;
    if (data.path) out += `; Path=${data.path}`;
    if (data.httpOnly) out += '; HttpOnly';
    if (data.secure === true) out += '; Secure';
    if (data.partitioned) out += '; Partitioned';
    if (data.priority) out += `; Priority=${data.priority[0]!.toUpperCase()}${data.priority.slice(1)}`;
    const sameSite = data.sameSite === true ? 'strict' : data.sameSite;
    if (sameSite) out += `; SameSite=${sameSite[0]!.toUpperCase()}${sameSite.slice(1)}`;
    return out;
  }

  /** What `JSON.stringify` shows: {@link Cookie.data}. */
  toJSON(): CookieData {
    return this.data;
  }
}
