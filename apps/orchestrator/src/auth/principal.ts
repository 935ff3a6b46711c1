import { LRUCache } from 'lru-cache';
import type { Db } from '../db/database.js';
import { findApiKeyByPrefix, touchApiKeys } from '../queue/api-keys.js';
import { hashKey, prefixOf, type Scope, sameHash } from './api-key.js';

/** Who is calling: a stored key, or the bootstrap admin key from ADMIN_API_KEY (keyId null). */
export interface Principal {
  keyId: number | null;
  name: string;
  scopes: Scope[];
  rateLimitPerMinute: number;
}

export interface RateLimits {
  client: number;
  runner: number;
  admin: number;
}

const CACHE_TTL_MS = 10_000;
const TOUCH_EVERY_MS = 60_000;

interface CachedKey {
  principal: Principal | null;
  hash: Buffer | null;
}

/**
 * Resolves API keys to principals. Looked-up keys are cached for 10 s per replica, so a busy runner costs one
 * query every 10 s, not one per request; a revoked key stops working here at once and on other replicas
 * within those 10 s. Unknown prefixes are cached too (a caller retrying a bad key costs no query), in a cache of
 * bounded size (least recently used out), so callers inventing keys cannot grow memory (issue 10, defect 9).
 */
export class KeyResolver {
  private readonly cache: LRUCache<string, CachedKey>;
  private touched = new Map<number, number>();
  private readonly adminHash: Buffer | undefined;

  constructor(
    private readonly db: Db,
    adminKey: string | undefined,
    private readonly limits: RateLimits,
    maxCached = 10_000,
  ) {
    this.adminHash = adminKey ? hashKey(adminKey) : undefined;
    this.cache = new LRUCache({ max: maxCached, ttl: CACHE_TTL_MS });
  }

  /** Keys cached now (bounded by `maxCached`). */
  get cached(): number {
    return this.cache.size;
  }

  async resolve(key: string): Promise<Principal | null> {
    const hash = hashKey(key);
    if (this.adminHash && sameHash(hash, this.adminHash)) {
      return {
        keyId: null,
        name: 'bootstrap admin (ADMIN_API_KEY)',
        scopes: ['admin'],
        rateLimitPerMinute: this.limits.admin,
      };
    }
    const prefix = prefixOf(key);
    if (!prefix) return null;
    const now = Date.now();
    let entry = this.cache.get(prefix);
    if (!entry) {
      const row = await findApiKeyByPrefix(this.db, prefix);
      const scopes = (row?.scopes ?? []) as Scope[];
      entry = {
        hash: row?.hash ?? null,
        principal: row
          ? {
              keyId: row.id,
              name: row.name,
              scopes,
              rateLimitPerMinute: row.rate_limit_per_minute ?? Math.max(...scopes.map((s) => this.limits[s])),
            }
          : null,
      };
      this.cache.set(prefix, entry);
    }
    if (!entry.principal || !entry.hash || !sameHash(hash, entry.hash)) return null;
    this.noteUse(entry.principal.keyId!, now);
    return entry.principal;
  }

  /** Drops cached keys, so a revocation takes effect on this replica at once. */
  forgetAll(): void {
    this.cache.clear();
  }

  private noteUse(keyId: number, now: number): void {
    if ((this.touched.get(keyId) ?? 0) > now - TOUCH_EVERY_MS) return;
    this.touched.set(keyId, now);
    void touchApiKeys(this.db, [keyId]).catch(() => {});
  }
}

/** Whether a principal may use a route that needs `scope` (admin may use everything). */
export function allows(p: Principal, scope: Scope): boolean {
  return p.scopes.includes('admin') || p.scopes.includes(scope);
}
