/** RFC 9110 token characters: what a header or cookie name may contain. */
export const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** The attributes of the session cookie, validated by the options parser. */
export interface CookieAttributes {
  httpOnly: boolean;
  sameSite: 'Lax' | 'Strict' | 'None' | undefined;
  path: string;
  domain: string | undefined;
  partitioned: boolean;
  priority: 'Low' | 'Medium' | 'High' | undefined;
  /** With `Max-Age` (the default); `false`: a browser-session cookie, unless a session has its own lifetime. */
  persistent: boolean;
}

/** Most values of one cookie name looked at: a header stuffed with copies costs no more than this. */
export const MAX_COOKIE_VALUES = 8;

/**
 * The values of cookie `name` in a `Cookie` header, in order, without surrounding quotes (at most
 * {@link MAX_COOKIE_VALUES}). Browsers send the most specific path first; a cookie planted from
 * a sibling subdomain may come first too, so callers pick the first valid one, not the first.
 */
export function readCookies(header: string | undefined, name: string): string[] {
  const values: string[] = [];
  if (!header) return values;
  let start = 0;
  let eq = -1;
  while (start < header.length && values.length < MAX_COOKIE_VALUES) {
    let end = header.indexOf(';', start);
    if (end === -1) end = header.length;
    // Reuse the last '=' found while it is still ahead: one pass, even over ";;;;...".
    if (eq < start) eq = header.indexOf('=', start);
    if (eq === -1) break;
    if (eq < end && header.slice(start, eq).trim() === name) {
      const value = header.slice(eq + 1, end).trim();
      values.push(value.length >= 2 && value.startsWith('"') && value.endsWith('"') ? value.slice(1, -1) : value);
    }
    start = end + 1;
  }
  return values;
}

/** The first value of cookie `name` in a `Cookie` header (see {@link readCookies}). */
export function readCookie(header: string | undefined, name: string): string | undefined {
  return readCookies(header, name)[0];
}

/** Serializes a `Set-Cookie` value; `value` must already be a validated id. */
export function serializeCookie(
  name: string,
  value: string,
  maxAgeSeconds: number | undefined,
  secure: boolean,
  attributes: CookieAttributes,
): string {
  // Without a Max-Age the browser keeps the cookie until it closes (a "session cookie").
  let cookie = maxAgeSeconds === undefined ? `${name}=${value}; Path=${attributes.path}` : `${name}=${value}; Max-Age=${maxAgeSeconds}; Path=${attributes.path}`;
  if (maxAgeSeconds === 0) cookie += '; Expires=Thu, 01 Jan 1970 00:00:00 GMT';
  if (attributes.domain) cookie += `; Domain=${attributes.domain}`;
  if (attributes.httpOnly) cookie += '; HttpOnly';
  if (secure) cookie += '; Secure';
  if (attributes.sameSite) cookie += `; SameSite=${attributes.sameSite}`;
  if (attributes.partitioned) cookie += '; Partitioned';
  if (attributes.priority) cookie += `; Priority=${attributes.priority}`;
  return cookie;
}
