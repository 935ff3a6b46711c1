import { migrate } from './migrate.js';

const url = process.env.DATABASE_URL;
if (!url) {
  console.error(
    'DATABASE_URL is not set: give the PostgreSQL server to migrate, e.g. postgres://user@host:5432/db',
  );
  process.exit(2);
}
const applied = await migrate(url);
console.log(applied.length ? `applied: ${applied.join(', ')}` : 'database is up to date');
