/**
 * Inversify service identifiers. Rebind `TYPES.SessionStore` to swap the store.
 *
 * @example
 * ```ts
 * const container = new Container();
 * container.load(sessionModule({ secret }));
 * container.rebind(TYPES.SessionStore).toConstantValue(new MemoryStore({ maxEntries: 10_000 }));
 * const sessions = container.get(SessionMiddleware);
 * ```
 */
export const TYPES = {
  /** The {@link SessionStore} the middleware uses (a singleton {@link MemoryStore} by default). */
  SessionStore: Symbol.for('swarmauri-middleware-session/SessionStore'),
  /** The {@link SessionMiddlewareOptions} object. */
  SessionOptions: Symbol.for('swarmauri-middleware-session/SessionOptions'),
  /** The {@link SessionMiddleware} singleton. */
  SessionMiddleware: Symbol.for('swarmauri-middleware-session/SessionMiddleware'),
} as const satisfies Record<string, symbol>;
