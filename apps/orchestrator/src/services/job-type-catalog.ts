import { type Backoff, isBuiltinType } from '@hourglass/contracts';
import { sql } from 'kysely';
import type { Logger } from 'pino';
import type { Db } from '../db/database.js';
import { findJobTypes, type JobTypeRow } from '../queue/read-job-types.js';
import type { ListenConnection } from './listen-connection.js';
import { compile, type PayloadValidator } from './payload-schemas.js';

/** What a create needs to know about a declared type. */
export interface JobTypeEntry {
  name: string;
  schemaVersion: number;
  /** Checks a payload against the declared schema; undefined when none was declared. */
  validate: PayloadValidator | undefined;
  maxAttempts: number | null;
  backoff: Partial<Backoff> | null;
}

const CHANNEL = 'hourglass_job_types';
const MAX_CACHED = 10_000;

/**
 * The declared job types, cached per replica so that creating a job of a custom type does not read the database
 * each time. A registration invalidates the names it declared here at once and on every other replica through
 * NOTIFY; entries also expire after `ttlMs` (a notification lost during a LISTEN reconnect costs at most that
 * long). Validators are compiled once per schema (by hash), however many versions and replicas see it.
 */
export class JobTypeCatalog {
  private readonly cache = new Map<string, { entry: JobTypeEntry | null; expires: number }>();
  private readonly validators = new Map<string, PayloadValidator>();
  /** Bumped by every invalidation: a lookup that read the database before one must not cache what it read. */
  private generation = 0;

  constructor(
    private readonly db: Db,
    listen: ListenConnection,
    private readonly log: Logger,
    private readonly ttlMs = 10_000,
  ) {
    listen.subscribe(CHANNEL, (payload) => this.invalidate(payload.split(',')));
    listen.onConnected(() => {
      this.generation++;
      this.cache.clear();
    });
  }

  /** The entries of custom (not built-in) types among `names`; null for a type no runner has declared. */
  async lookup(names: Iterable<string>): Promise<Map<string, JobTypeEntry | null>> {
    const now = Date.now();
    const found = new Map<string, JobTypeEntry | null>();
    const missing: string[] = [];
    for (const name of new Set(names)) {
      if (isBuiltinType(name)) continue;
      const cached = this.cache.get(name);
      if (cached && cached.expires > now) found.set(name, cached.entry);
      else missing.push(name);
    }
    if (missing.length > 0) {
      const generation = this.generation;
      const rows = new Map((await findJobTypes(this.db, missing)).map((r) => [r.name, r]));
      const cacheable = generation === this.generation;
      if (cacheable) this.makeRoom(now);
      for (const name of missing) {
        const row = rows.get(name);
        const entry = row ? this.entryOf(row) : null;
        if (cacheable) this.cache.set(name, { entry, expires: now + this.ttlMs });
        found.set(name, entry);
      }
    }
    return found;
  }

  /**
   * Any well-formed name is a type, so clients can name many: expired entries go first, and past MAX_CACHED the
   * cache starts over rather than grow without bound.
   */
  private makeRoom(now: number): void {
    if (this.cache.size < MAX_CACHED) return;
    for (const [name, c] of this.cache) if (c.expires <= now) this.cache.delete(name);
    if (this.cache.size >= MAX_CACHED) this.cache.clear();
  }

  /** Types declared just now by a registration on this replica: forget them here and on every other replica. */
  async declared(names: string[]): Promise<void> {
    this.invalidate(names);
    const payload = names.join(',');
    if (!payload) return;
    await sql`SELECT pg_notify(${CHANNEL}, ${payload.slice(0, 7_900)})`.execute(this.db).catch((err) => {
      this.log.warn({ err }, 'NOTIFY failed; other replicas pick up the new types when their cache expires');
    });
  }

  private invalidate(names: string[]): void {
    this.generation++;
    for (const name of names) this.cache.delete(name);
  }

  private entryOf(row: JobTypeRow): JobTypeEntry {
    return {
      name: row.name,
      schemaVersion: row.schema_version,
      validate:
        row.payload_schema && row.schema_hash
          ? this.validator(row.schema_hash, row.payload_schema)
          : undefined,
      maxAttempts: row.max_attempts,
      backoff: row.backoff as Partial<Backoff> | null,
    };
  }

  private validator(hash: string, schema: Record<string, unknown>): PayloadValidator | undefined {
    let v = this.validators.get(hash);
    if (!v) {
      try {
        v = compile(schema);
      } catch (err) {
        // Checked at registration, so only a schema stored by another version of the orchestrator can get here.
        this.log.error({ err, hash }, 'a stored payload schema does not compile; payloads are not checked');
        return undefined;
      }
      this.validators.set(hash, v);
    }
    return v;
  }
}
