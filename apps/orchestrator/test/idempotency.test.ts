import {
  startTestOrchestrator,
  stopTestOrchestrator,
  type TestOrchestrator,
} from '@hourglass/testkit/orchestrator';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { rowCounts } from './helpers.js';

/** The same idempotency key always answers the same job, and never creates a second one. */

let o: TestOrchestrator;
beforeAll(async () => {
  o = await startTestOrchestrator();
});
afterAll(() => stopTestOrchestrator(o));

const post = (payload: unknown, headers: Record<string, string> = {}) =>
  o.app.inject({ method: 'POST', url: '/jobs', payload: payload as object, headers });

async function rowsWithKey(key: string) {
  const jobs = await o.db.selectFrom('jobs').select('id').where('idempotency_key', '=', key).execute();
  if (jobs.length === 0) return { jobs: 0, executions: 0 };
  const executions = await o.db
    .selectFrom('executions')
    .select('id')
    .where(
      'job_id',
      'in',
      jobs.map((j) => j.id),
    )
    .execute();
  return { jobs: jobs.length, executions: executions.length };
}

test('the Idempotency-Key header: the second request answers the first job with 200 and idempotent-replayed', async () => {
  const first = await post({ type: 'echo', payload: { n: 1 } }, { 'idempotency-key': 'hdr-1' });
  expect(first.statusCode, first.body).toBe(201);
  expect(first.headers['idempotent-replayed']).toBeUndefined();
  expect(first.json()).toMatchObject({ idempotencyKey: 'hdr-1', payload: { n: 1 } });

  // Even with a different body: the key names the job, the first request's definition stands.
  const second = await post({ type: 'echo', payload: { n: 2 } }, { 'idempotency-key': 'hdr-1' });
  expect(second.statusCode, second.body).toBe(200);
  expect(second.headers['idempotent-replayed']).toBe('true');
  expect(second.json()).toEqual(first.json());
  expect(await rowsWithKey('hdr-1')).toEqual({ jobs: 1, executions: 1 });
});

test('the idempotencyKey field behaves the same, and matches a key first given as a header', async () => {
  const first = await post({ type: 'noop', idempotencyKey: 'field-1' });
  expect(first.statusCode, first.body).toBe(201);
  const second = await post({ type: 'noop', idempotencyKey: 'field-1' });
  expect(second.statusCode, second.body).toBe(200);
  expect(second.headers['idempotent-replayed']).toBe('true');
  expect(second.json().id).toBe(first.json().id);

  // One key space: the header and the field name the same jobs.
  const viaHeader = await post({ type: 'noop' }, { 'idempotency-key': 'field-1' });
  expect(viaHeader.statusCode).toBe(200);
  expect(viaHeader.json().id).toBe(first.json().id);
  const same = await post({ type: 'noop', idempotencyKey: 'field-1' }, { 'idempotency-key': 'field-1' });
  expect(same.statusCode).toBe(200);
  expect(same.json().id).toBe(first.json().id);
  expect(await rowsWithKey('field-1')).toEqual({ jobs: 1, executions: 1 });
});

test('20 concurrent creates with one key make exactly one job', async () => {
  const answers = await Promise.all(
    Array.from({ length: 20 }, (_, i) =>
      post({ type: 'echo', payload: { i } }, { 'idempotency-key': 'race-1' }),
    ),
  );
  expect(answers.map((a) => a.statusCode).sort((a, b) => b - a)).toEqual([
    201,
    ...Array<number>(19).fill(200),
  ]);
  const ids = new Set(answers.map((a) => a.json().id));
  expect(ids.size).toBe(1);
  expect(answers.filter((a) => a.headers['idempotent-replayed'] === 'true')).toHaveLength(19);
  expect(await rowsWithKey('race-1')).toEqual({ jobs: 1, executions: 1 });
});

test('in a batch, items sharing a key make one job; a key that exists answers the existing job', async () => {
  const existing = await post({ type: 'echo' }, { 'idempotency-key': 'batch-0' });
  expect(existing.statusCode).toBe(201);
  const res = await o.app.inject({
    method: 'POST',
    url: '/jobs/batch',
    payload: {
      jobs: [
        { type: 'echo', idempotencyKey: 'batch-1' },
        { type: 'echo', idempotencyKey: 'batch-1' },
        { type: 'echo', idempotencyKey: 'batch-0' },
        { type: 'echo' },
      ],
    },
  });
  expect(res.statusCode, res.body).toBe(201);
  const ids = (res.json().jobs as { id: number }[]).map((j) => j.id);
  expect(ids[0]).toBe(ids[1]);
  expect(ids[2]).toBe(existing.json().id);
  expect(new Set(ids).size).toBe(3);
  expect(await rowsWithKey('batch-1')).toEqual({ jobs: 1, executions: 1 });
  expect(await rowsWithKey('batch-0')).toEqual({ jobs: 1, executions: 1 });
});

test('a header and a field that differ are a 400 naming idempotencyKey, and write nothing', async () => {
  const before = await rowCounts(o);
  const res = await post({ type: 'echo', idempotencyKey: 'a' }, { 'idempotency-key': 'b' });
  expect(res.statusCode).toBe(400);
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  expect(res.json().errors[0].field).toBe('idempotencyKey');
  expect(await rowCounts(o)).toEqual(before);
  expect(await rowsWithKey('a')).toEqual({ jobs: 0, executions: 0 });
  expect(await rowsWithKey('b')).toEqual({ jobs: 0, executions: 0 });
});
