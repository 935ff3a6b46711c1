import { lookup } from 'node:dns/promises';
import { hostname } from 'node:os';
import { isPrivateAddress, refusedLiteral } from '@hourglass/runner/builtin';
import {
  startTestOrchestrator,
  stopTestOrchestrator,
  type TestOrchestrator,
} from '@hourglass/testkit/orchestrator';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createJob, jobExecutions, rowCounts } from './helpers.js';

/**
 * The timers API through `app.inject`: validation (a 400 naming the field, nothing stored), the 201 answer and
 * its countdown, idempotent creation, timers as `webhook` jobs, and the private-target policy at creation.
 * Two replicas on one database: `o` lets private targets through (local development), `strict` refuses them.
 */

let o: TestOrchestrator;
let strict: TestOrchestrator;
beforeAll(async () => {
  o = await startTestOrchestrator({ env: { WEBHOOK_BLOCK_PRIVATE_TARGETS: 'false' } });
  strict = await startTestOrchestrator({
    env: { WEBHOOK_BLOCK_PRIVATE_TARGETS: 'true' },
    database: o.database,
  });
});
afterAll(async () => {
  await stopTestOrchestrator(strict, true);
  await stopTestOrchestrator(o);
});

const URL_OK = 'https://example.com/hook';

function postTimer(on: TestOrchestrator, payload: unknown, headers: Record<string, string> = {}) {
  return on.app.inject({ method: 'POST', url: '/timers', payload: payload as object, headers });
}

async function getTimer(id: number | string) {
  return o.app.inject({ method: 'GET', url: `/timers/${id}` });
}

describe('POST /timers validation: a 400 naming the field, nothing stored', () => {
  const cases: [string, unknown, RegExp][] = [
    ['negative hours', { hours: -1, seconds: 5, url: URL_OK }, /^hours$/],
    ['non-integer minutes', { minutes: 1.5, url: URL_OK }, /^minutes$/],
    ['string seconds', { seconds: '5', url: URL_OK }, /^seconds$/],
    ['null seconds', { seconds: null, url: URL_OK }, /^seconds$/],
    ['no hours, minutes or seconds', { url: URL_OK }, /^(hours|minutes|seconds)$/],
    ['all zero', { hours: 0, minutes: 0, seconds: 0, url: URL_OK }, /^(hours|minutes|seconds)$/],
    ['hours over the bound', { hours: 366 * 24 + 1, url: URL_OK }, /^hours$/],
    ['seconds over the bound', { seconds: 366 * 86_400 + 1, url: URL_OK }, /^seconds$/],
    ['sum over the bound', { hours: 366 * 24, minutes: 1, url: URL_OK }, /^(hours|minutes|seconds)$/],
    ['missing url', { seconds: 5 }, /^url$/],
    ['empty url', { seconds: 5, url: '' }, /^url$/],
    ['blank url', { seconds: 5, url: '   ' }, /^url$/],
    ['relative url', { seconds: 5, url: '/hook' }, /^url$/],
    ['ftp url', { seconds: 5, url: 'ftp://example.com/file' }, /^url$/],
    ['url not a string', { seconds: 5, url: 42 }, /^url$/],
    ['host header', { seconds: 5, url: URL_OK, headers: { host: 'internal' } }, /^headers/],
    [
      'x-forwarded-for header',
      { seconds: 5, url: URL_OK, headers: { 'x-forwarded-for': '10.0.0.1' } },
      /^headers/,
    ],
    ['idempotency-key header', { seconds: 5, url: URL_OK, headers: { 'idempotency-key': 'x' } }, /^headers/],
    ['unknown field', { seconds: 5, url: URL_OK, callback: 'x' }, /^callback$/],
    ['maxAttempts 0', { seconds: 5, url: URL_OK, maxAttempts: 0 }, /^maxAttempts$/],
  ];

  test.each(cases)('%s', async (_, body, field) => {
    const before = await rowCounts(o);
    const res = await postTimer(o, body);
    expect(res.statusCode, res.body).toBe(400);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    const problem = res.json();
    expect(problem.code).toBe('VALIDATION_FAILED');
    expect(problem.errors.map((e: { field: string }) => e.field)).toContainEqual(
      expect.stringMatching(field),
    );
    expect(await rowCounts(o)).toEqual(before);
  });

  test('a body that is not an object is a 400, nothing stored', async () => {
    const before = await rowCounts(o);
    for (const body of [[], 'x', 5]) {
      const res = await o.app.inject({
        method: 'POST',
        url: '/timers',
        payload: JSON.stringify(body),
        headers: { 'content-type': 'application/json' },
      });
      expect(res.statusCode, res.body).toBe(400);
    }
    expect(await rowCounts(o)).toEqual(before);
  });
});

describe('GET /timers/:id', () => {
  test('a non-numeric id is a 400 naming id', async () => {
    for (const id of ['abc', '1.5', '-1', '0']) {
      const res = await getTimer(id);
      expect(res.statusCode, `${id}: ${res.body}`).toBe(400);
      expect(res.json().errors.map((e: { field: string }) => e.field)).toEqual(['id']);
    }
  });

  test('an unknown id is a 404', async () => {
    const res = await getTimer(999_999);
    expect(res.statusCode).toBe(404);
    expect(res.json().code).toBe('NOT_FOUND');
  });

  test('the id of a job that is not a webhook is a 404', async () => {
    const job = await createJob(o, { type: 'echo', delayMs: 60_000 });
    const res = await getTimer(job.id);
    expect(res.statusCode, res.body).toBe(404);
  });
});

describe('creating a timer', () => {
  test('{hours 4, minutes 0, seconds 1} answers 201 {id, time_left: 14401}, and GET counts down from there', async () => {
    const res = await postTimer(o, { hours: 4, minutes: 0, seconds: 1, url: 'https://example.com' });
    expect(res.statusCode, res.body).toBe(201);
    const created = res.json();
    expect(created).toEqual({ id: expect.any(Number), time_left: 14401 });

    const got = await getTimer(created.id);
    expect(got.statusCode, got.body).toBe(200);
    const timer = got.json();
    expect([14401, 14400]).toContain(timer.time_left);
    expect(timer).toMatchObject({
      id: created.id,
      url: 'https://example.com',
      status: 'SCHEDULED',
      fired_at: null,
      attempts: 0,
      last_error: null,
    });
    // fire_at is creation + 4 h 1 s (checked against the job's own createdAt, from the same statement).
    const job = (await o.app.inject({ method: 'GET', url: `/jobs/${created.id}` })).json();
    expect(Date.parse(timer.fire_at) - Date.parse(job.createdAt)).toBe(14_401_000);
    expect(job).toMatchObject({ type: 'webhook', status: 'SCHEDULED', maxAttempts: 3 });
    expect(job.payload).toMatchObject({ url: 'https://example.com' });
  });

  test('the bound itself (366 days) is accepted, in any unit', async () => {
    for (const body of [{ hours: 366 * 24 }, { minutes: 366 * 1440 }, { seconds: 366 * 86_400 }]) {
      const res = await postTimer(o, { ...body, url: URL_OK });
      expect(res.statusCode, res.body).toBe(201);
      expect(res.json().time_left).toBe(366 * 86_400);
    }
  });

  test('missing parts default to 0; payload and allowed headers are stored with the job', async () => {
    const res = await postTimer(o, {
      minutes: 2,
      url: URL_OK,
      payload: { order: 17, tags: ['a'] },
      headers: { authorization: 'Bearer t', 'X-Tenant': 'acme' },
      maxAttempts: 5,
    });
    expect(res.statusCode, res.body).toBe(201);
    expect(res.json().time_left).toBe(120);
    const job = (await o.app.inject({ method: 'GET', url: `/jobs/${res.json().id}` })).json();
    expect(job.maxAttempts).toBe(5);
    expect(job.payload).toEqual({
      url: URL_OK,
      payload: { order: 17, tags: ['a'] },
      headers: { authorization: 'Bearer t', 'x-tenant': 'acme' },
    });
  });

  test('the same Idempotency-Key (header or field) gives back the same timer, stored once', async () => {
    const first = await postTimer(o, { seconds: 600, url: URL_OK }, { 'idempotency-key': 'timer-key-1' });
    expect(first.statusCode, first.body).toBe(201);
    const before = await rowCounts(o);
    const again = await postTimer(o, { seconds: 600, url: URL_OK }, { 'idempotency-key': 'timer-key-1' });
    expect(again.statusCode, again.body).toBe(200);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(again.json().id).toBe(first.json().id);
    expect([600, 599]).toContain(again.json().time_left);
    expect(await rowCounts(o)).toEqual(before);

    const byField = await postTimer(o, { seconds: 600, url: URL_OK, idempotencyKey: 'timer-key-2' });
    const byFieldAgain = await postTimer(o, { seconds: 600, url: URL_OK, idempotencyKey: 'timer-key-2' });
    expect([byField.statusCode, byFieldAgain.statusCode]).toEqual([201, 200]);
    expect(byFieldAgain.json().id).toBe(byField.json().id);
    expect(byField.json().id).not.toBe(first.json().id);
  });

  test('a timer is a webhook job: listed in GET /jobs?type=webhook, with its pending execution', async () => {
    const { id } = (await postTimer(o, { seconds: 900, url: URL_OK })).json();
    const list = await o.app.inject({ method: 'GET', url: '/jobs?type=webhook&limit=500' });
    expect(list.statusCode, list.body).toBe(200);
    const ids = list.json().items.map((j: { id: number; type: string }) => j.id);
    expect(ids).toContain(id);
    expect(list.json().items.every((j: { type: string }) => j.type === 'webhook')).toBe(true);
    const executions = await jobExecutions(o, id);
    expect(executions.map((e) => [e.attempt, e.status])).toEqual([[1, 'PENDING']]);
    // And GET /timers/:id reads it back.
    expect((await getTimer(id)).json().status).toBe('SCHEDULED');
  });

  test('POST /jobs can create a webhook job directly, and GET /timers/:id shows it', async () => {
    const job = await createJob(o, { type: 'webhook', payload: { url: URL_OK }, delayMs: 30_000 });
    const res = await getTimer(job.id);
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({ id: job.id, url: URL_OK, status: 'SCHEDULED' });
    expect([30, 29]).toContain(res.json().time_left);
  });
});

describe('private targets refused at creation (WEBHOOK_BLOCK_PRIVATE_TARGETS=true)', () => {
  const refused = [
    'http://127.0.0.1:9/',
    'http://127.1.2.3/hook',
    'http://localhost:9/',
    'http://api.localhost/',
    'http://10.0.0.1/',
    'http://192.168.1.20/',
    'http://172.16.5.4/',
    'http://[::1]/',
    'http://[::ffff:127.0.0.1]/',
    'http://[fe80::1]/',
    'http://169.254.169.254/latest/meta-data',
    'http://0.0.0.0/',
  ];

  test.each(refused)('POST /timers with %s is a 400 on url, nothing stored', async (url) => {
    const before = await rowCounts(o);
    const res = await postTimer(strict, { seconds: 5, url });
    expect(res.statusCode, res.body).toBe(400);
    expect(res.json().errors).toEqual([{ field: 'url', message: expect.stringMatching(/^target refused/) }]);
    expect(await rowCounts(o)).toEqual(before);
  });

  test.each(refused)('POST /jobs type webhook with %s is a 400 on payload.url', async (url) => {
    const before = await rowCounts(o);
    const res = await strict.app.inject({
      method: 'POST',
      url: '/jobs',
      payload: { type: 'webhook', payload: { url } },
    });
    expect(res.statusCode, res.body).toBe(400);
    expect(res.json().errors.map((e: { field: string }) => e.field)).toEqual(['payload.url']);
    expect(await rowCounts(o)).toEqual(before);
  });

  test('a batch naming one private target is refused whole, naming its index', async () => {
    const before = await rowCounts(o);
    const res = await strict.app.inject({
      method: 'POST',
      url: '/jobs/batch',
      payload: {
        jobs: [
          { type: 'webhook', payload: { url: URL_OK } },
          { type: 'webhook', payload: { url: 'http://10.1.1.1/' } },
        ],
      },
    });
    expect(res.statusCode, res.body).toBe(400);
    expect(res.json().errors.map((e: { field: string }) => e.field)).toEqual(['jobs.1.payload.url']);
    expect(await rowCounts(o)).toEqual(before);
  });

  test('a DNS name that resolves to a private address is refused on url', async () => {
    // `localhost` is refused by name; find a name that only the lookup can judge (e.g. this host's name).
    let name: string | undefined;
    for (const candidate of ['localhost.', hostname()]) {
      if (refusedLiteral(candidate)) continue;
      const addresses = await lookup(candidate, { all: true }).catch(() => []);
      if (addresses.some((a) => isPrivateAddress(a.address))) {
        name = candidate;
        break;
      }
    }
    expect(name, 'no name here resolves to a private address besides localhost').toBeDefined();
    const before = await rowCounts(o);
    const res = await postTimer(strict, { seconds: 5, url: `http://${name}:9/hook` });
    expect(res.statusCode, res.body).toBe(400);
    expect(res.json().errors).toEqual([
      { field: 'url', message: expect.stringMatching(/^target refused: .* resolves to /) },
    ]);
    expect(await rowCounts(o)).toEqual(before);
  });

  test('a public literal and a name that does not resolve are accepted', async () => {
    for (const url of ['http://93.184.215.14/hook', 'https://no-such-host.invalid/hook']) {
      const res = await postTimer(strict, { seconds: 3600, url });
      expect(res.statusCode, `${url}: ${res.body}`).toBe(201);
    }
  });

  test('with the policy off, the same private targets are accepted', async () => {
    for (const url of ['http://127.0.0.1:9/', 'http://localhost:9/', 'http://[::1]/']) {
      const res = await postTimer(o, { seconds: 3600, url });
      expect(res.statusCode, `${url}: ${res.body}`).toBe(201);
    }
  });
});
