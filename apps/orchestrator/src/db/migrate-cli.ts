import { migrate } from './migrate.js';

/**
 * The orchestrator's migration command (`node migrate.js` in the image): applies pending migrations to DATABASE_URL.
 * It knows nothing of the development database; `pnpm db:migrate` (scripts/migrate.ts) finds that one and calls
 * `migrate` itself.
 */
async function main(): Promise<void> {
  const url = process.env.DATABASE_URL;
  if (!url) {
    throw new Error(
      'DATABASE_URL is not set. Set it to the database to migrate (in a checkout, `pnpm db:migrate` migrates the development database).',
    );
  }
  const applied = await migrate(url);
  console.log(applied.length ? `applied: ${applied.join(', ')}` : 'database is up to date');
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  },
);
