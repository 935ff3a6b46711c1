export { createDatabase, dropDatabase, isTemplateInUse, sealTemplate, withDatabase } from './databases.js';
export {
  EMBEDDED_PASSWORD,
  EMBEDDED_USER,
  type EmbeddedPostgresOptions,
  type RunningPostgres,
  startEmbeddedPostgres,
} from './embedded.js';
export { pickFreePort } from './free-port.js';
export { type PostgresSource, provisionTestPostgres, type TestPostgres } from './provision.js';
