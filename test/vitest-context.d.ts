// Values test/global-setup.ts hands to every test file through provide()/inject().
import 'vitest';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Superuser URL of the test server's `postgres` database; tests create their databases through it. */
    pgAdminUrl: string;
    /** Migrated database that freshDatabase() clones; nobody may connect to it. */
    templateDb: string;
  }
}
