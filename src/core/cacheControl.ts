/**
 * Keeping responses that carry the session id out of shared caches.
 *
 * A response with our `Set-Cookie` (or `X-Session-ID`) that a CDN or proxy may store would be
 * replayed to the next visitor, handing them someone else's session. `express.static` with
 * `maxAge` does exactly that (`Cache-Control: public, max-age=...`), so the adapters rewrite
 * `Cache-Control` on such responses. Responses without the id are never touched.
 */

/** Directives that make a response storable by shared caches only; dropped when we make it private. */
const SHARED_ONLY = new Set(['public', 's-maxage', 'proxy-revalidate']);

/**
 * Splits a `Cache-Control` value into its directives (trimmed, empty ones dropped). Commas inside
 * quoted strings (`no-cache="a, b"`) do not split, and `\"` does not end a quoted string, so a
 * `private` inside a quoted argument is never mistaken for the directive.
 */
function directivesOf(value: string): string[] {
  const directives: string[] = [];
  let start = 0;
  let quoted = false;
  const push = (end: number): void => {
    const directive = value.slice(start, end).trim();
    if (directive !== '') directives.push(directive);
  };
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (quoted) {
      if (c === 0x5c /* \ */) i++;
      else if (c === 0x22 /* " */) quoted = false;
    } else if (c === 0x22) {
      quoted = true;
    } else if (c === 0x2c /* , */) {
      push(i);
      start = i + 1;
    }
  }
  push(value.length);
  return directives;
}

/** A directive's name, lower-cased (directive names are case-insensitive). */
function nameOf(directive: string): string {
  const eq = directive.indexOf('=');
  return (eq === -1 ? directive : directive.slice(0, eq)).trim().toLowerCase();
}

/**
 * The `Cache-Control` value to send on a response that carries the session id, or `undefined`
 * to leave the header as it is.
 *
 * - none set (`undefined`, `''`, `[]`): `'no-store'`;
 * - a bare `private` or `no-store` directive already keeps shared caches out: `undefined`;
 * - anything else is made private: `public`, `s-maxage=…`, `proxy-revalidate` and a
 *   field-qualified `private="…"` (which lets shared caches store the rest of the response)
 *   are dropped, the other directives kept as written and in order, and `private` put first:
 *   `'public, max-age=86400'` becomes `'private, max-age=86400'`.
 *
 * Node lets an app set the header as a list (`setHeader('Cache-Control', [...])`), sent as
 * several lines that mean their `', '`-joined value, so a list is judged (and replaced) as that.
 */
export function privateCacheControl(existing: string | number | readonly string[] | undefined): string | undefined {
  const value = existing === undefined ? '' : typeof existing === 'object' ? existing.join(', ') : String(existing);
  const directives = directivesOf(value);
  if (directives.length === 0) return 'no-store';
  const kept: string[] = [];
  for (const directive of directives) {
    const name = nameOf(directive);
    if ((name === 'private' || name === 'no-store') && !directive.includes('=')) return undefined;
    if (name !== 'private' && !SHARED_ONLY.has(name)) kept.push(directive);
  }
  return ['private', ...kept].join(', ');
}

/**
 * {@link privateCacheControl} applied to a Web `Headers` object, for the Web adapter. Call it only
 * for a response that carries the session id, on headers you may change (a copy: the headers of
 * `Response.redirect()` and `fetch()` responses are immutable and throw on `set`).
 */
export function applyCacheControl(headers: Headers): void {
  const value = privateCacheControl(headers.get('cache-control') ?? undefined);
  if (value !== undefined) headers.set('cache-control', value);
}
