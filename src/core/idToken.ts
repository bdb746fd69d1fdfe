import { createHmac, randomFillSync, timingSafeEqual } from 'node:crypto';

/** Ids a client may name itself (with `acceptClientIds`): 8 to 128 unreserved URL characters. */
const WELL_FORMED = /^[A-Za-z0-9\-_.~]{8,128}$/;
/** Our tokens: 128 random bits, the session start in base-36 seconds, a 144-bit HMAC. */
const SIGNED = /^([A-Za-z0-9_-]{22})\.([0-9a-z]{1,10})\.([A-Za-z0-9_-]{24})$/;
const SIGNATURE_BYTES = 18;

/** What {@link IdTokens.verify} learnt about a presented id. */
export type TokenCheck =
  | { readonly kind: 'signed'; readonly startedAt: number }
  | { readonly kind: 'bad-signature' }
  | { readonly kind: 'foreign' };

/** True for ids of the allowed length and alphabet; anything else is treated as absent. */
export function isWellFormedId(value: string): boolean {
  return WELL_FORMED.test(value);
}

/**
 * Issues and verifies session ids of the form `<random>.<start>.<signature>`:
 * - `random`: 16 bytes from the CSPRNG, base64url (22 characters);
 * - `start`: when the session began, in whole seconds since the epoch, base 36; it survives
 *   `regenerate({ keepData: true })`, so the absolute timeout cannot be dodged;
 * - `signature`: HMAC-SHA256 over `random.start` with the first secret, cut to 18 bytes.
 * Any of the secrets verifies, so secrets rotate without logging anyone out.
 */
/**
 * 16 fresh bytes from the CSPRNG, base64url: taken from a pool refilled 256 ids at a time (as
 * Node's own `randomUUID` does), since one system call per id costs more than the rest of it.
 * Each byte is handed out once.
 */
const POOL = Buffer.allocUnsafe(16 * 256);
let poolOffset = POOL.length;
function randomPart(): string {
  if (poolOffset === POOL.length) {
    randomFillSync(POOL);
    poolOffset = 0;
  }
  const part = POOL.toString('base64url', poolOffset, poolOffset + 16);
  poolOffset += 16;
  return part;
}

/** Ids whose signature checked out, kept so a returning client costs no HMAC. */
const VERIFIED_CACHE = 10_000;

export class IdTokens {
  readonly #keys: Buffer[];
  /** Recently verified ids and their start (insertion order: the oldest go first). */
  readonly #verified = new Map<string, number>();

  constructor(secrets: readonly string[]) {
    this.#keys = secrets.map((secret) => Buffer.from(secret, 'utf8'));
  }

  /** A fresh id for a session that began at `startedAtMs` (default: now). */
  issue(startedAtMs: number = Date.now()): string {
    const payload = `${randomPart()}.${Math.floor(startedAtMs / 1000).toString(36)}`;
    return `${payload}.${this.#sign(this.#keys[0] as Buffer, payload).toString('base64url')}`;
  }

  #remember(id: string, startedAt: number): void {
    if (this.#verified.size >= VERIFIED_CACHE) this.#verified.delete(this.#verified.keys().next().value as string);
    this.#verified.set(id, startedAt);
  }

  /** Classifies a well-formed id: ours (with its start), ours but tampered, or someone else's. */
  verify(id: string): TokenCheck {
    // An exact id seen valid before: only its holder (or one who already has it) can present it.
    const known = this.#verified.get(id);
    if (known !== undefined) return { kind: 'signed', startedAt: known };
    const match = SIGNED.exec(id);
    if (!match) return { kind: 'foreign' };
    const payload = `${match[1]}.${match[2]}`;
    const given = Buffer.from(match[3] as string, 'base64url');
    if (given.length !== SIGNATURE_BYTES) return { kind: 'bad-signature' };
    for (const [index, key] of this.#keys.entries()) {
      if (timingSafeEqual(given, this.#sign(key, payload))) {
        const startedAt = parseInt(match[2] as string, 36) * 1000;
        // Only ids of the newest secret are remembered: an older secret's are re-signed (resign).
        if (index === 0) this.#remember(id, startedAt);
        return { kind: 'signed', startedAt };
      }
    }
    return { kind: 'bad-signature' };
  }

  /**
   * `id` signed with the newest secret: `id` itself when it already is (or is not one of ours),
   * else the same random part and start under a new signature. A rotation (`secret: [new, old]`)
   * moves clients to ids the new secret alone verifies, so `old` can be retired after one
   * `maxAge`. Deterministic: parallel requests with one old id all move to the same new one.
   */
  resign(id: string): string {
    // Remembered ids are the newest secret's already.
    if (this.#keys.length < 2 || this.#verified.has(id)) return id;
    const match = SIGNED.exec(id);
    if (!match) return id;
    const payload = `${match[1]}.${match[2]}`;
    const fresh = `${payload}.${this.#sign(this.#keys[0] as Buffer, payload).toString('base64url')}`;
    if (fresh !== id) this.verify(fresh);
    return fresh;
  }

  #sign(key: Buffer, payload: string): Buffer {
    return createHmac('sha256', key).update(payload).digest().subarray(0, SIGNATURE_BYTES);
  }
}
