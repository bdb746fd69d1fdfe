/**
 * Type-level settings of the package, filled in through declaration merging.
 *
 * - `concrete/Session.ts` adds `session: Session`, so that the framework adapters (which sit
 *   below `concrete/` and must not import it) type `request.session` as the real class.
 * - An app that sets `onStoreError: 'continue'` adds `onStoreError: 'continue'`, and
 *   `req.session`, `request.session`, `ctx.session` and `c.get('session')` become
 *   `Session | undefined`, as the middleware then serves requests without a session when the
 *   store is down.
 *
 * @example
 * ```ts
 * declare module 'swarmauri-middleware-session' {
 *   interface SessionTypeRegister {
 *     onStoreError: 'continue';
 *   }
 * }
 * ```
 */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface SessionTypeRegister {}

/**
 * The type of `request.session` in the framework adapters: `Session`, or `Session | undefined`
 * when the app registered `onStoreError: 'continue'` (see {@link SessionTypeRegister}).
 */
export type RegisteredSession =
  | (SessionTypeRegister extends Record<'session', infer S> ? S : unknown)
  | (SessionTypeRegister extends Record<'onStoreError', 'continue'> ? undefined : never);
