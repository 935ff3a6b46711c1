import { sql } from 'kysely';
import { expect, test } from 'vitest';
import {
  claimOne,
  completeOk,
  createJob,
  orchestratorPerFile,
  registerRunner,
  succeeded,
} from './helpers.js';

/** Unique jobs (issue 14): one job per unique key while it holds, enforced by the database. */

const o = orchestratorPerFile();

const post = (body: object, headers: Record<string, string> = {}) =>
  o.app.inject({ method: 'POST', url: '/jobs', payload: { type: 'echo', ...body }, headers });

const jobsWithKey = async (key: string) =>
  (
    await sql<{ n: number }>`SELECT count(*)::int AS n FROM jobs WHERE unique_key LIKE ${`${key}%`}`.execute(
      o.db,
    )
  ).rows[0]!.n;

test('20 concurrent creates with one unique key: one job; the others answer it with 200 and unique-existing', async () => {
  const answers = await Promise.all(
    Array.from({ length: 20 }, (_, i) => post({ unique: { key: 'report-42' }, payload: { i } })),
  );
  const created = answers.filter((r) => r.statusCode === 201);
  const existing = answers.filter((r) => r.statusCode === 200);
  expect(created).toHaveLength(1);
  expect(existing).toHaveLength(19);
  const id = created[0]!.json().id;
  for (const r of existing) {
    expect(r.headers['unique-existing']).toBe('true');
    expect(r.headers['idempotent-replayed']).toBeUndefined();
    expect(r.json()).toMatchObject({ id, uniqueExisting: true });
  }
  expect(await jobsWithKey('report-42')).toBe(1);
});

test('once the holder is final, the key is free again (default states: not final)', async () => {
  const runner = await registerRunner(o, { name: 'u', types: ['uniq'], capacity: 1 });
  const first = await createJob(o, { type: 'uniq', unique: { key: 'nightly' } });
  const e = await claimOne(o, runner);
  expect(e.jobId).toBe(first.id);
  // Still RUNNING: held.
  expect((await post({ type: 'uniq', unique: { key: 'nightly' } })).json().id).toBe(first.id);
  await completeOk(o, runner, e.id, succeeded());
  const second = await post({ type: 'uniq', unique: { key: 'nightly' } });
  expect(second.statusCode).toBe(201);
  expect(second.json().id).not.toBe(first.id);
});

test('a window holds the key whatever the status, until the window ends; states narrow what holds it', async () => {
  const first = await post({ unique: { key: 'digest', windowSeconds: 3600 } });
  expect(first.statusCode).toBe(201);
  await o.app.inject({ method: 'POST', url: `/jobs/${first.json().id}/cancel` });
  const again = await post({ unique: { key: 'digest', windowSeconds: 3600 } });
  expect(again.statusCode).toBe(200);
  expect(again.json().id).toBe(first.json().id);
  // Held while SCHEDULED or RUNNING only (not PAUSED, unlike the default): a cancelled holder frees the key.
  const narrow = { key: 'not-paused', states: ['SCHEDULED', 'RUNNING'] };
  const s1 = await post({ unique: narrow });
  await o.app.inject({ method: 'POST', url: `/jobs/${s1.json().id}/cancel` });
  expect((await post({ unique: narrow })).statusCode).toBe(201);
});

test('a batch with the same unique key twice creates one job; Idempotency-Key replays stay as they were', async () => {
  const res = await o.app.inject({
    method: 'POST',
    url: '/jobs/batch',
    payload: {
      jobs: [
        { type: 'echo', unique: { key: 'batch-u' } },
        { type: 'echo', unique: { key: 'batch-u' } },
        { type: 'echo' },
      ],
    },
  });
  expect(res.statusCode, res.body).toBe(201);
  const [x, y, z] = res.json().jobs;
  expect(y.id).toBe(x.id);
  expect(y.uniqueExisting).toBe(true);
  expect(x.uniqueExisting).toBeUndefined();
  expect(z.id).not.toBe(x.id);
  expect(await jobsWithKey('batch-u')).toBe(1);

  const one = await post({}, { 'idempotency-key': 'idem-u' });
  const two = await post({}, { 'idempotency-key': 'idem-u' });
  expect(two.statusCode).toBe(200);
  expect(two.headers['idempotent-replayed']).toBe('true');
  expect(two.headers['unique-existing']).toBeUndefined();
  expect(two.json().id).toBe(one.json().id);
});

test('bad unique specs are a 400 naming the field', async () => {
  for (const [unique, field] of [
    [{}, 'unique.key'],
    [{ key: 'k', windowSeconds: 0 }, 'unique.windowSeconds'],
    [{ key: 'k', states: ['RUNNING', 'RUNNING'] }, 'unique.states'],
    [{ key: 'k', states: ['NOPE'] }, 'unique.states.0'],
    // The engine moves jobs between SCHEDULED and RUNNING itself: a key held in one alone could collide mid-claim.
    [{ key: 'k', states: ['SCHEDULED'] }, 'unique.states'],
    [{ key: 'k', states: ['RUNNING', 'PAUSED'] }, 'unique.states'],
  ] as const) {
    const res = await post({ unique });
    expect(res.statusCode, JSON.stringify(unique)).toBe(400);
    expect(res.json().errors[0].field).toBe(field);
  }
});
