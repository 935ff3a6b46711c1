export { createDatabase, dropDatabase, isTemplateInUse, sealTemplate, withDatabase } from './databases.js';
export {
  EMBEDDED_PASSWORD,
  EMBEDDED_USER,
  type EmbeddedPostgresOptions,
  type RunningPostgres,
  startEmbeddedPostgres,
} from './embedded.js';
export { pickFreePort } from './free-port.js';
export {
  type Installation,
  installationAt,
  reachableInstallation,
  shippedInstallation,
} from './postgres-binaries.js';
export { isAlive } from './process-alive.js';
export { type PostgresSource, provisionTestPostgres, type TestPostgres } from './provision.js';
export { makeTempDataDir, reachableDataDir, SCRATCH_ROOT } from './scratch-root.js';
