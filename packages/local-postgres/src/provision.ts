import { startEmbeddedPostgres } from './embedded.js';
import { makeTempDataDir } from './scratch-root.js';

export type PostgresSource = 'env' | 'docker' | 'embedded';

export interface TestPostgres {
  /** Superuser URL on which tests may create and drop databases. */
  url: string;
  source: PostgresSource;
  stop(): Promise<void>;
}

const DOCKER_IMAGE = 'postgres:17-alpine';
// getContainerRuntimeClient() fails within milliseconds when no runtime is configured; this only
// bounds the case of a DOCKER_HOST that accepts the connection and then never answers.
const DOCKER_PROBE_TIMEOUT_MS = 15_000;
// Same durability trade-offs and connection headroom as the embedded server in fast mode.
const SERVER_FLAGS = [
  '-c',
  'fsync=off',
  '-c',
  'synchronous_commit=off',
  '-c',
  'full_page_writes=off',
  '-c',
  'max_connections=300',
];

/**
 * A PostgreSQL server for the test run, from the first source available: a URL in the environment
 * (TEST_DATABASE_URL, then DATABASE_URL), a Docker container, or an embedded server in a temporary
 * directory. Only the last two are stopped by stop(); a server from the environment is not ours.
 */
export async function provisionTestPostgres(): Promise<TestPostgres> {
  const fromEnv = process.env.TEST_DATABASE_URL || process.env.DATABASE_URL;
  if (fromEnv) return { url: fromEnv, source: 'env', stop: async () => {} };

  if (await dockerAnswers()) return startDockerPostgres();

  const dataDir = await makeTempDataDir('hourglass-pg-');
  const server = await startEmbeddedPostgres({ dataDir, persistent: false, fast: true });
  return { url: server.url, source: 'embedded', stop: () => server.stop() };
}

async function dockerAnswers(): Promise<boolean> {
  // Imported lazily: testcontainers pulls in a Docker client stack we do not need otherwise.
  const { getContainerRuntimeClient } = await import('testcontainers');
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('container runtime probe timed out')), DOCKER_PROBE_TIMEOUT_MS);
  });
  try {
    await Promise.race([getContainerRuntimeClient(), timeout]);
    return true;
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
  }
}

async function startDockerPostgres(): Promise<TestPostgres> {
  const { PostgreSqlContainer } = await import('@testcontainers/postgresql');
  const container = await new PostgreSqlContainer(DOCKER_IMAGE)
    .withDatabase('postgres')
    .withUsername('postgres')
    .withPassword('postgres')
    .withCommand(['postgres', ...SERVER_FLAGS])
    .start();
  return {
    url: container.getConnectionUri(),
    source: 'docker',
    stop: async () => {
      await container.stop();
    },
  };
}
