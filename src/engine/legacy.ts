/**
 * The option key (a symbol, so it is not part of the public, validated options) of a reader of
 * session cookies in another format: the express-session drop-in passes one that recognises
 * express-session's signed `s:<id>.<signature>` cookies. The engine asks it about session-cookie
 * values that are not ids of its own; a store id it returns is loaded, and a live record there
 * becomes the request's session, at once moved to a new id of this library's (a regenerate
 * that keeps the data), so the old format drops out within one `maxAge`.
 */
export const LEGACY_IDS: unique symbol = Symbol.for('swarmauri-middleware-session/legacyIds');

/** Returns the store id a foreign session-cookie value stands for, when it is genuine; else `undefined`. */
export type LegacyIdReader = (cookieValue: string) => string | undefined;
