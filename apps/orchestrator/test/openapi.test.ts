import { readFileSync, writeFileSync } from 'node:fs';
import {
  startTestOrchestrator,
  stopTestOrchestrator,
  type TestOrchestrator,
} from '@hourglass/testkit/orchestrator';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { OPERATION_IDS } from '../src/http/operation-ids.js';

let o: TestOrchestrator;
beforeAll(async () => {
  o = await startTestOrchestrator();
});
afterAll(() => stopTestOrchestrator(o));

/** Every route the app serves, as `METHOD /path/:param`, as Fastify registered them. */
const servedRoutes = () => o.app.registeredRoutes.map((r) => `${r.method} ${r.url}`);

test('every API route is in the OpenAPI document, with its auth scheme', async () => {
  const res = await o.app.inject({ method: 'GET', url: '/openapi.json' });
  expect(res.statusCode).toBe(200);
  const doc = res.json();
  expect(doc.openapi).toMatch(/^3\./);
  expect(Object.keys(doc.components.securitySchemes)).toEqual(
    expect.arrayContaining(['bearer', 'apiKeyHeader']),
  );
  const documented = new Set<string>();
  for (const [path, ops] of Object.entries<Record<string, unknown>>(doc.paths)) {
    for (const method of Object.keys(ops))
      documented.add(`${method.toUpperCase()} ${path.replace(/\{(\w+)\}/g, ':$1')}`);
  }
  const undocumented = servedRoutes()
    .filter((r) => !r.startsWith('HEAD ') && !r.startsWith('OPTIONS '))
    .filter((r) => !/ \/(docs|openapi\.json|ui)/.test(r)) // the documentation itself, and the dashboard's files
    .filter((r) => !documented.has(r));
  expect(undocumented).toEqual([]);
  // The core of the API is there by name, so an empty route table cannot pass the check above.
  for (const r of [
    'POST /jobs',
    'POST /runners/:id/next-job',
    'POST /executions/:id/complete',
    'POST /timers',
    'GET /dead-letters',
  ]) {
    expect(documented.has(r), r).toBe(true);
  }
});

test('Swagger UI is served at /docs', async () => {
  const res = await o.app.inject({ method: 'GET', url: '/docs/' });
  expect([200, 302]).toContain(res.statusCode);
});

/** openapi.json at the repository root: the published document. `pnpm openapi` rewrites it from the server. */
const COMMITTED = new URL('../../../openapi.json', import.meta.url);

test('every operation has an operationId and a tag, each operationId once', async () => {
  const doc = (await o.app.inject({ method: 'GET', url: '/openapi.json' })).json();
  const ids: string[] = [];
  for (const [path, ops] of Object.entries<Record<string, { operationId?: string; tags?: string[] }>>(
    doc.paths,
  )) {
    for (const [method, op] of Object.entries(ops)) {
      expect(op.operationId, `${method.toUpperCase()} ${path}`).toMatch(/^[a-z][A-Za-z]+$/);
      expect(op.tags?.length, `${method.toUpperCase()} ${path}`).toBeGreaterThan(0);
      ids.push(op.operationId!);
    }
  }
  expect(new Set(ids).size).toBe(ids.length);
  // Every name in the table belongs to a served route (no stale entries).
  expect(ids.sort()).toEqual(Object.values(OPERATION_IDS).sort());
});

test('the committed openapi.json is what the server generates (pnpm openapi rewrites it)', async () => {
  const generated = `${JSON.stringify((await o.app.inject({ method: 'GET', url: '/openapi.json' })).json(), null, 2)}\n`;
  if (process.env.UPDATE_OPENAPI === '1') writeFileSync(COMMITTED, generated);
  expect(readFileSync(COMMITTED, 'utf8'), 'openapi.json is out of date: run pnpm openapi').toBe(generated);
});
