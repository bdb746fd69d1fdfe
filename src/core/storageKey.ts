import { createHash } from 'node:crypto';

/** The random part of one of our signed ids (`<random>.<start>.<signature>`). */
const SIGNED_RANDOM = /^([A-Za-z0-9_-]{22})\.[0-9a-z]{1,10}\.[A-Za-z0-9_-]{24}$/;

/** Prefix of hashed storage keys: tells them apart from raw ids in a store being migrated. */
const HASHED_KEY_PREFIX = 'k.';

/**
 * The key a session is filed under when ids are hashed at rest: a SHA-256 of the id's random
 * part (of the whole id for a client-named one). A dump of the store then holds no id a client
 * could present, and a re-signed id (same random part, newer secret) finds the same record.
 * The random part has 128 bits of entropy, so no salt is needed against guessing.
 */
export function hashedKeyOf(id: string): string {
  const random = SIGNED_RANDOM.exec(id)?.[1] ?? id;
  return HASHED_KEY_PREFIX + createHash('sha256').update('swarmauri-session\0').update(random).digest('base64url');
}
