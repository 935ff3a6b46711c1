import { randomBytes } from 'node:crypto';
import { ensureDashboardBuilt } from '@hourglass/dashboard/build';
import {
  createDatabase,
  dropDatabase,
  provisionTestPostgres,
  sealTemplate,
  withDatabase,
} from '@hourglass/local-postgres';
import { exclusively } from '@hourglass/testkit/build-lock';
import type { TestProject } from 'vitest/node';
import { migrate } from '../apps/orchestrator/src/db/migrate.js';

/**
 * Runs once per `vitest run`: gets a PostgreSQL server, migrates a template database once, and lets
 * every test clone it (@hourglass/testkit, packages/testkit/src/database.ts), which is far cheaper than migrating per test.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  // The orchestrators the tests start serve apps/dashboard/dist at /ui: built now if its sources changed since
  // (a hash, ~1 s to build), so no test sees a stale dashboard. Under a lock: two runs in one checkout take turns.
  const lock = new URL('../node_modules/.cache/hourglass-dashboard-build.lock', import.meta.url).pathname;
  if (await exclusively(lock, () => ensureDashboardBuilt({ quiet: true }))) {
    console.log('[global-setup] built the dashboard (apps/dashboard/dist)');
  }
  const server = await provisionTestPostgres();
  // Random, so that runs sharing one server (TEST_DATABASE_URL on a dev box) do not collide.
  const templateDb = `hourglass_template_${randomBytes(6).toString('hex')}`;
  try {
    await createDatabase(server.url, templateDb);
    await migrate(withDatabase(server.url, templateDb));
    // PostgreSQL refuses to clone a template while any session is connected to it.
    await sealTemplate(server.url, templateDb);
  } catch (err) {
    await dropDatabase(server.url, templateDb).catch(() => {});
    await server.stop();
    throw err;
  }

  const { hostname, port } = new URL(server.url);
  console.log(
    `[global-setup] PostgreSQL from ${server.source} at ${hostname}:${port || 5432}, template ${templateDb}`,
  );
  project.provide('pgAdminUrl', server.url);
  project.provide('templateDb', templateDb);

  return async () => {
    try {
      await dropDatabase(server.url, templateDb);
    } finally {
      await server.stop();
    }
  };
}
