import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { listeningPort, type ServiceProcess, spawnService, waitForHttp } from '@hourglass/devkit';
import {
  createDatabase,
  pickFreePort,
  type RunningPostgres,
  startEmbeddedPostgres,
  withDatabase,
} from '@hourglass/local-postgres';
import { afterAll, afterEach, expect, test } from 'vitest';
import { migrate } from '../../apps/orchestrator/src/db/migrate.js';

/**
 * PostgreSQL goes away under load and comes back: /readyz says not ready meanwhile, the orchestrator recovers by
 * itself (no restart), and every job it accepted is done in the end.
 */
let pg: RunningPostgres | undefined;
let dataDir = '';
const services: ServiceProcess[] = [];
const logs: string[] = [];
afterEach((ctx) => {
  if (ctx.task.result?.state === 'fail')
    console.error(`--- process output ---\n${logs.slice(-80).join('\n')}`);
});
afterAll(async () => {
  for (const s of services.reverse()) await s.stop('SIGTERM', 5_000);
  await pg?.stop();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('the orchestrator reports not ready while PostgreSQL is down and recovers by itself', async () => {
  dataDir = await mkdtemp(path.join(os.tmpdir(), 'hourglass-pg-restart-'));
  const pgPort = await pickFreePort();
  pg = await startEmbeddedPostgres({ dataDir, port: pgPort, persistent: true, fast: true });
  await createDatabase(pg.url, 'hourglass');
  const dbUrl = withDatabase(pg.url, 'hourglass');
  await migrate(dbUrl);

  const onLine = (n: string, l: string) => logs.push(`[${n}] ${l}`);
  const orchestrator = spawnService(
    'orchestrator',
    'orchestrator',
    { DATABASE_URL: dbUrl, PORT: '0', MIGRATE_ON_START: 'false', AUTH_DISABLED: 'true' },
    onLine,
  );
  services.push(orchestrator);
  const api = `http://127.0.0.1:${await listeningPort(orchestrator, 60_000)}`;
  await waitForHttp(`${api}/readyz`);
  services.push(spawnService('runner', 'runner', { ORCHESTRATOR_URL: api, RUNNER_CONCURRENCY: '4' }, onLine));

  // Load: a job every 20 ms while the database goes down and comes back; keep the ids of those accepted.
  const accepted: number[] = [];
  let refused = 0;
  let loading = true;
  const load = (async () => {
    for (let i = 0; loading && i < 2_000; i++) {
      try {
        const res = await fetch(`${api}/jobs`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ type: 'sleep', payload: { durationMs: 10 } }),
          signal: AbortSignal.timeout(6_000),
        });
        if (res.status === 201) accepted.push(((await res.json()) as { id: number }).id);
        else {
          expect(res.status, await res.text()).toBeLessThan(600);
          refused++;
        }
      } catch {
        refused++;
      }
      await sleep(20);
    }
  })();

  await sleep(1_000);
  await pg.stop();
  const down = Date.now();
  let ready = 0;
  for (let i = 0; i < 100 && ready !== 503; i++) {
    ready = (await fetch(`${api}/readyz`)).status;
    await sleep(100);
  }
  expect(ready).toBe(503);
  await sleep(Math.max(0, 2_000 - (Date.now() - down)));

  pg = await startEmbeddedPostgres({ dataDir, port: pgPort, persistent: true, fast: true });
  await waitForHttp(`${api}/readyz`, 30_000);
  await sleep(1_500);
  loading = false;
  await load;
  expect(refused).toBeGreaterThan(0); // the outage was real
  expect(accepted.length).toBeGreaterThan(20);

  // Every accepted job is done: nothing accepted was lost.
  const deadline = Date.now() + 30_000;
  let unfinished = accepted;
  while (unfinished.length > 0 && Date.now() < deadline) {
    const statuses = await Promise.all(
      unfinished.map(
        async (id) =>
          [id, ((await (await fetch(`${api}/jobs/${id}`)).json()) as { status: string }).status] as const,
      ),
    );
    unfinished = statuses.filter(([, s]) => s !== 'SUCCEEDED').map(([id]) => id);
    if (unfinished.length) await sleep(250);
  }
  if (unfinished.length) console.error(logs.slice(-80).join('\n'));
  expect(unfinished).toEqual([]);
}, 90_000);
