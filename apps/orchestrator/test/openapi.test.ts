import {
  startTestOrchestrator,
  stopTestOrchestrator,
  type TestOrchestrator,
} from '@hourglass/testkit/orchestrator';
import { afterAll, beforeAll, expect, test } from 'vitest';

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
    .filter((r) => !/ \/(docs|openapi\.json)/.test(r)) // the documentation itself
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
