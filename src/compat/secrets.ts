import { createHmac, KeyObject, timingSafeEqual, type BinaryLike } from 'node:crypto';
import { SessionError } from '../core/SessionError.js';
import { MAX_SECRETS, MIN_SECRET_LENGTH } from '../engine/options.js';

/** A secret express-session accepts: a string, bytes, or a secret `KeyObject` (Node's `CipherKey`). */
export type LegacySecret = string | NodeJS.ArrayBufferView | KeyObject;

/** The secrets of one drop-in: what signs this library's ids, and what verifies express-session cookies. */
export interface DropinSecrets {
  /** The core's secrets (each at least 32 characters), in the same order. */
  readonly core: string[];
  /** The secrets exactly as given, to verify `s:<id>.<signature>` cookies express-session issued. */
  readonly legacy: readonly LegacySecret[];
  /** At least one secret was weak, and a key was derived from it. */
  readonly weak: boolean;
}

/** The fixed label the core key of a weak secret is derived under (changing it ends every session). */
const DERIVE_LABEL = 'swarmauri-middleware-session/express-session: core key of a short secret';

let warnedWeak = false;

/**
 * Validates express-session's `secret` (a secret or a non-empty list) and derives the core's
 * secrets: a secret of 32 characters or more is used as it is; a shorter one (express-session's
 * README uses `keyboard cat`), bytes or a `KeyObject` become HMAC-SHA256 of it under a fixed
 * label (hex, 64 characters), so the same secret gives the same ids on every instance and after
 * a restart. A weak one still only resists what its own entropy resists: one warning says so.
 */
export function resolveSecrets(value: unknown, option = 'secret'): DropinSecrets {
  const list = Array.isArray(value) ? value : [value];
  if (list.length === 0 || list.length > MAX_SECRETS) {
    throw SessionError.invalidOption(option, `a secret or a list of 1 to ${MAX_SECRETS} secrets`, value);
  }
  const core: string[] = [];
  let weak = false;
  for (const secret of list) {
    if (typeof secret === 'string' && secret.length >= MIN_SECRET_LENGTH) {
      core.push(secret);
      continue;
    }
    const key = keyBytes(secret, option);
    if (typeof secret === 'string') weak = true;
    else if (key.length < MIN_SECRET_LENGTH) weak = true;
    core.push(createHmac('sha256', DERIVE_LABEL).update(key).digest('hex'));
  }
  if (weak) warnWeakSecret();
  return { core, legacy: list as LegacySecret[], weak };
}

/** The bytes of a secret, refusing what express-session could not sign with. */
function keyBytes(secret: unknown, option: string): Buffer {
  if (typeof secret === 'string' && secret !== '') return Buffer.from(secret, 'utf8');
  if (ArrayBuffer.isView(secret) && secret.byteLength > 0) return Buffer.from(secret.buffer, secret.byteOffset, secret.byteLength);
  if (secret instanceof KeyObject && secret.type === 'secret') return secret.export();
  // The message names the type only: a secret must not end up in logs.
  throw SessionError.invalidOption(option, 'non-empty strings, bytes or secret KeyObjects', typeof secret === 'string' ? '' : secret);
}

function warnWeakSecret(): void {
  if (warnedWeak) return;
  warnedWeak = true;
  process.emitWarning(
    `express-session drop-in: a secret shorter than ${MIN_SECRET_LENGTH} characters signs the session ids (through a key derived from it). ` +
      'Anyone who guesses it can forge ids: use a long random one (`openssl rand -base64 48`), listed first, and keep the old one after it until the old cookies are gone.',
    { code: 'SWARMAURI_SESSION_WEAK_SECRET' },
  );
}

/**
 * The store id inside a cookie value express-session issued (`s:<id>.<signature>`, URL-encoded
 * in the header), when the signature verifies with one of `secrets`; otherwise `undefined`.
 * The algorithm of `cookie-signature`: HMAC-SHA256 of the id, base64 without padding, compared
 * in constant time.
 */
export function legacyIdOf(raw: string, secrets: readonly LegacySecret[]): string | undefined {
  let value = raw;
  if (value.includes('%')) {
    try {
      value = decodeURIComponent(value);
    } catch {
      return undefined;
    }
  }
  if (!value.startsWith('s:')) return undefined;
  const signed = value.slice(2);
  const dot = signed.lastIndexOf('.');
  if (dot <= 0) return undefined;
  const id = signed.slice(0, dot);
  const presented = Buffer.from(signed);
  for (const secret of secrets) {
    const expected = Buffer.from(`${id}.${signatureOf(id, secret)}`);
    if (expected.length === presented.length && timingSafeEqual(expected, presented)) return id;
  }
  return undefined;
}

/** cookie-signature's signature of `value`. */
export function signatureOf(value: string, secret: LegacySecret): string {
  return createHmac('sha256', secret as BinaryLike | KeyObject)
    .update(value)
    .digest('base64')
    .replace(/=+$/, '');
}
