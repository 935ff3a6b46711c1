import { resolveDevDatabase } from '@hourglass/devkit';
import { migrate } from '@hourglass/orchestrator';

/**
 * `pnpm db:migrate`: migrates DATABASE_URL, or without it the development database `pnpm start` uses (the
 * embedded PostgreSQL in .data/postgres: joined if `pnpm start` is running, else started for the migration).
 */
async function main(): Promise<void> {
  const fromEnv = process.env.DATABASE_URL;
  if (fromEnv) {
    report(await migrate(fromEnv));
    return;
  }
  const database = await resolveDevDatabase({ joinRunning: true, log: (line) => console.error(line) });
  const interrupted = () => void database.stop().finally(() => process.exit(130));
  process.once('SIGINT', interrupted);
  process.once('SIGTERM', interrupted);
  try {
    console.error(`DATABASE_URL is not set: migrating the development database ${database.url}`);
    report(await migrate(database.url));
  } finally {
    await database.stop();
  }
}

function report(applied: string[]): void {
  console.log(applied.length ? `applied: ${applied.join(', ')}` : 'database is up to date');
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  },
);
