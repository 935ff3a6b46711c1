import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

export type Scope = 'admin' | 'client' | 'runner';
export const SCOPES: readonly Scope[] = ['admin', 'client', 'runner'];

/**
 * Keys look like `hg_<prefix>_<secret>`: the prefix (public) finds the row, the whole key is hashed. Secrets
 * are 32 random bytes, so a plain SHA-256 is enough (no password stretching needed for high-entropy secrets).
 */
export function newApiKey(): { key: string; prefix: string; hash: Buffer } {
  const prefix = randomBytes(6).toString('hex');
  const key = `hg_${prefix}_${randomBytes(32).toString('base64url')}`;
  return { key, prefix, hash: hashKey(key) };
}

export function hashKey(key: string): Buffer {
  return createHash('sha256').update(key).digest();
}

/** The public prefix of a well-formed key, or undefined. */
export function prefixOf(key: string): string | undefined {
  return /^hg_([0-9a-f]{12})_[A-Za-z0-9_-]{43}$/.exec(key)?.[1];
}

/** Constant-time comparison of two hashes (or of a key against the bootstrap admin key's hash). */
export function sameHash(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}
