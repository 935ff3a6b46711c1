import { BUILTIN_PAYLOADS, BUILTIN_TYPES, isBuiltinType, type JobType } from '@hourglass/contracts';
import { z } from 'zod';
import type { Db } from '../db/database.js';
import { listJobTypes } from '../queue/read-job-types.js';
import { listRunners } from '../queue/read-runners.js';

/** Built-in schemas as JSON Schema (the input side: what a client sends), computed once. */
const BUILTIN_SCHEMAS = Object.fromEntries(
  BUILTIN_TYPES.map((t) => [t, z.toJSONSchema(BUILTIN_PAYLOADS[t], { io: 'input', unrepresentable: 'any' })]),
) as Record<string, Record<string, unknown>>;

/** `GET /job-types`: every type seen, its schema, the ONLINE runners that serve it, and its due backlog. */
export class JobTypesService {
  constructor(private readonly db: Db) {}

  async list(): Promise<JobType[]> {
    const [types, runners] = await Promise.all([
      listJobTypes(this.db, BUILTIN_TYPES),
      listRunners(this.db, false),
    ]);
    const online = runners.filter((r) => r.status === 'ONLINE');
    return types.map((t) => {
      const builtin = isBuiltinType(t.name);
      return {
        name: t.name,
        builtin,
        payloadSchema: builtin ? (BUILTIN_SCHEMAS[t.name] ?? null) : t.payload_schema,
        schemaVersion: builtin ? 0 : t.schema_version,
        schemaUpdatedAt: builtin ? null : (t.schema_updated_at?.toISOString() ?? null),
        schemaDeclaredBy: builtin ? null : t.schema_runner_id,
        retry: { maxAttempts: builtin ? null : t.max_attempts, backoff: builtin ? null : t.backoff },
        runners: online
          .filter((r) => r.types.includes(t.name))
          .map((r) => ({
            id: r.id,
            name: r.name,
            status: 'ONLINE' as const,
            // Whether this runner declared the schema now in force (null: no schema either way to compare).
            schemaMatches:
              builtin || (!t.schema_hash && !r.schema_hashes[t.name])
                ? null
                : r.schema_hashes[t.name] === t.schema_hash,
          })),
        dueBacklog: t.due_backlog,
        oldestDueAgeSeconds: t.oldest_due_age_seconds === null ? null : Math.max(0, t.oldest_due_age_seconds),
        lastDeclaredAt: t.last_declared_at?.toISOString() ?? null,
      };
    });
  }
}
