import { readdir, readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { type Migration, type MigrationProvider, Migrator, sql } from 'kysely';
import { createDatabase } from './database.js';

const MIGRATIONS_DIR = fileURLToPath(new URL('./migrations/', import.meta.url));

/** Numbered plain-SQL files (`0001_core.sql`, …) as Kysely migrations, applied in name order. */
class SqlFileProvider implements MigrationProvider {
  async getMigrations(): Promise<Record<string, Migration>> {
    const files = (await readdir(MIGRATIONS_DIR)).filter((f) => /^\d{4}_.+\.sql$/.test(f)).sort();
    const migrations: Record<string, Migration> = {};
    for (const file of files) {
      const text = await readFile(MIGRATIONS_DIR + file, 'utf8');
      migrations[file.replace(/\.sql$/, '')] = { up: async (db) => void (await sql.raw(text).execute(db)) };
    }
    return migrations;
  }
}

/**
 * Applies pending migrations (all of them, or up to `to`). Kysely's Migrator records them in `kysely_migration` and holds a lock while it
 * runs, so several orchestrator replicas starting at once apply each migration exactly once.
 */
export async function migrate(connectionString: string, to?: string): Promise<string[]> {
  const { db, destroy } = createDatabase(connectionString, { max: 1, applicationName: 'hourglass-migrate' });
  try {
    const migrator = new Migrator({ db, provider: new SqlFileProvider() });
    // `to`: up to that migration only (tests of a migration with data written under the schema before it).
    const { error, results } = to ? await migrator.migrateTo(to) : await migrator.migrateToLatest();
    if (error) throw error;
    return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
  } finally {
    await destroy();
  }
}
