/**
 * The session type, for code below the layer that defines it. `concrete/Session.ts` fills this
 * interface in through declaration merging, so the framework adapters (which sit below
 * `concrete/` and must not import it) type `request.session` as the real `Session` class.
 */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface SessionTypeRegister {}

/** `Session` once `concrete/Session.ts` is part of the program (it always is through the package entry). */
export type RegisteredSession = SessionTypeRegister extends { session: infer S } ? S : unknown;
