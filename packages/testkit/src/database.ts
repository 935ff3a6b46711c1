import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { createDatabase, dropDatabase, isTemplateInUse, withDatabase } from '@hourglass/local-postgres';
import { inject } from 'vitest';

export interface FreshDatabase {
  /** Connection URL of the new database. */
  url: string;
  /** Drops the database, ending any session still connected to it. */
  drop(): Promise<void>;
}

const CLONE_ATTEMPTS = 5;

/** A new database with the migrated schema, cloned from the template that global setup prepared. */
export async function freshDatabase(): Promise<FreshDatabase> {
  const adminUrl = inject('pgAdminUrl');
  const template = inject('templateDb');
  const name = `hourglass_test_${randomBytes(6).toString('hex')}`;

  for (let attempt = 1; ; attempt++) {
    try {
      await createDatabase(adminUrl, name, template);
      break;
    } catch (err) {
      // Global setup seals the template, but a session may still be on its way out (PostgreSQL only
      // waits 5 s for them itself); give it a moment rather than failing the test.
      if (!isTemplateInUse(err) || attempt >= CLONE_ATTEMPTS) throw err;
      await sleep(200 * attempt);
    }
  }

  return { url: withDatabase(adminUrl, name), drop: () => dropDatabase(adminUrl, name) };
}
