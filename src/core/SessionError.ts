/**
 * What went wrong, so callers can branch without parsing messages.
 *
 * - `invalid-option`: a constructor option is wrong (see {@link SessionError.option}).
 * - `invalid-value`: a session value is not JSON-serializable.
 * - `invalid-key`: a session key is empty or reserved (`__proto__`).
 * - `invalid-id`: a store was given a session id that is not a non-empty string.
 * - `store-error`: the store rejected a call.
 * - `store-timeout`: the store did not answer within `storeTimeout`.
 * - `store-unavailable`: the store failed repeatedly and the circuit breaker refuses calls for a
 *   while (see the `breaker` option), so the request fails at once instead of waiting.
 * - `not-a-number`: `increment` found a value that is not a number.
 * - `unsupported-request`: `dispatch` was given something that is neither a Web `Request` nor a
 *   Node/Express request.
 * - `too-large`: a write would make the session larger than `maxSessionBytes` (nothing of it is
 *   stored), or a record is larger than a store's byte bound.
 * - `session-closed`: the session was changed after its request's final commit (after the
 *   response, or the Web response's body, was complete), when the change could no longer be
 *   stored; the change is refused rather than silently dropped.
 * - `unsupported`: the store lacks a capability the call needs (a custom store without the user
 *   index, asked for `sessionsOf`, `revoke` or `revokeAll`).
 */
export type SessionErrorKind =
  | 'invalid-option'
  | 'invalid-value'
  | 'invalid-key'
  | 'invalid-id'
  | 'store-error'
  | 'store-timeout'
  | 'store-unavailable'
  | 'not-a-number'
  | 'unsupported-request'
  | 'too-large'
  | 'session-closed'
  | 'unsupported';

const BRAND = Symbol.for('swarmauri-middleware-session/SessionError');

/**
 * The one error type of this library. Store failures reach the framework's error path as a
 * `SessionError` with HTTP status 503; its message never contains a session id.
 *
 * @example
 * ```ts
 * app.use((err, req, res, next) => {
 *   if (SessionError.is(err) && err.kind === 'store-timeout') return res.status(503).end();
 *   next(err);
 * });
 * ```
 */
export class SessionError extends Error {
  /** What went wrong. */
  readonly kind: SessionErrorKind;
  /** For `invalid-option`: the name of the offending option. */
  readonly option: string | undefined;
  /** The HTTP status a framework should answer with: 503 for store failures, 500 otherwise. */
  readonly status: number;
  /** Same as {@link SessionError.status}, for frameworks that read `statusCode`. */
  readonly statusCode: number;
  /** Tells Koa/http-errors style handlers not to show the message to clients. */
  readonly expose = false;
  private readonly [BRAND] = true;

  constructor(kind: SessionErrorKind, message: string, options: { option?: string; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'SessionError';
    this.kind = kind;
    this.option = options.option;
    this.status = kind === 'store-error' || kind === 'store-timeout' || kind === 'store-unavailable' ? 503 : 500;
    this.statusCode = this.status;
  }

  /** Type guard that also works across copies of this package. */
  static is(value: unknown): value is SessionError {
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[BRAND] === true;
  }

  /** Builds the `invalid-option` error for `option`, quoting the bad value. */
  static invalidOption(option: string, expected: string, value: unknown): SessionError {
    return new SessionError('invalid-option', `Invalid option ${option}: expected ${expected}, got ${describe(value)}`, {
      option,
    });
  }
}

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  if (typeof value === 'function') return 'a function';
  if (Array.isArray(value)) return 'an array';
  if (value === null) return 'null';
  if (typeof value === 'object') return 'an object';
  return String(value);
}
