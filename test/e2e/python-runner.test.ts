import { fileURLToPath } from 'node:url';
import type { Execution, Job, JobType, Runner } from '@hourglass/contracts';
import { type ServiceProcess, spawnService } from '@hourglass/devkit';
import { Cluster } from '@hourglass/testkit/cluster';
import { afterAll, beforeAll, expect, test } from 'vitest';

/**
 * A runner in another language, written from docs/runner-protocol.md alone: examples/python-runner (Python's
 * standard library only) against a real orchestrator process with authentication on, through a runner-scoped key.
 */

const ADMIN = 'python-e2e-admin-key-0123456789';
const SCRIPT = fileURLToPath(new URL('../../examples/python-runner/runner.py', import.meta.url));
const cluster = new Cluster();
let python: ServiceProcess;
const output: string[] = [];

beforeAll(async () => {
  await cluster.start({ AUTH_DISABLED: 'false', ADMIN_API_KEY: ADMIN, HEARTBEAT_INTERVAL_MS: '500' });
  cluster.headers = { authorization: `Bearer ${ADMIN}` };
  const key = await cluster.request<{ key: string }>('POST', '/api-keys', {
    name: 'python',
    scopes: ['runner'],
  });
  expect(key.status).toBe(201);
  python = spawnService(
    'script',
    'python-runner',
    {
      ORCHESTRATOR_URL: cluster.url,
      API_KEY: key.body.key,
      RUNNER_NAME: 'python-e2e',
      PYTHONUNBUFFERED: '1',
    },
    (_, line) => output.push(line),
    { command: 'python3', entry: SCRIPT },
  );
  await cluster
    .until(
      'the Python runner to register',
      async () => {
        const { body } = await cluster.get<{ items: Runner[] }>('/runners');
        return body.items.find((r) => r.name === 'python-e2e');
      },
      30_000,
    )
    .catch((err) => {
      throw new Error(`${err.message}\n${output.join('\n')}`);
    });
}, 60_000);

afterAll(async () => {
  await python?.stop('SIGKILL');
  await cluster.stop();
});

const post = <T>(path: string, body?: unknown) => cluster.request<T>('POST', path, body);
const get = <T>(path: string) => cluster.get<T>(path);

async function create(payload: unknown): Promise<Job> {
  const res = await post<Job>('/jobs', { type: 'py.word-count', payload });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body;
}

const final = (job: Job) => cluster.finalJob(job.id);

test('it declared its type with a JSON Schema, which the orchestrator now enforces', async () => {
  const { body } = await get<{ items: JobType[] }>('/job-types');
  const type = body.items.find((t) => t.name === 'py.word-count')!;
  expect(type.payloadSchema).toMatchObject({ required: ['text'], additionalProperties: false });
  expect(type.runners.map((r) => r.name)).toEqual(['python-e2e']);
  expect(type.retry.maxAttempts).toBe(3);

  const wrong = await post<{ errors: { field: string }[] }>('/jobs', {
    type: 'py.word-count',
    payload: { text: 5 },
  });
  expect(wrong.status).toBe(400);
  expect(wrong.body.errors[0]!.field).toBe('payload.text');
  const extra = await post<{ errors: { field: string }[] }>('/jobs', {
    type: 'py.word-count',
    payload: { text: 'a', colour: 'red' },
  });
  expect(extra.status).toBe(400);
  expect(extra.body.errors[0]!.field).toBe('payload.colour');
});

test('it runs jobs and reports results, permanent failures, retries and progress', async () => {
  const [plain, blank, flaky, slow] = await Promise.all([
    create({ text: 'to be or not to be' }),
    create({ text: '   ' }),
    create({ text: 'second time lucky', flaky: true }),
    create({ text: 'one two three', slow: true }),
  ]);

  const done = await final(plain);
  expect(done.status).toBe('SUCCEEDED');
  expect(done.lastExecution?.result).toEqual({ words: 6, characters: 18, longest: 'not', attempt: 1 });

  const failed = await final(blank);
  expect(failed.status).toBe('FAILED');
  const history = (await get<{ items: Execution[] }>(`/jobs/${blank.id}/executions`)).body.items;
  expect(history).toHaveLength(1);
  expect(history[0]).toMatchObject({ status: 'FAILED', retryable: false, errorCode: 'EMPTY_TEXT' });
  const dead = (await get<{ items: { jobId: number }[] }>('/dead-letters')).body.items;
  expect(dead.map((d) => d.jobId)).toContain(blank.id);

  const retried = await final(flaky);
  expect(retried.status).toBe('SUCCEEDED');
  expect(retried.lastExecution?.result).toMatchObject({ attempt: 2 });

  const slowDone = await final(slow);
  expect(slowDone.status).toBe('SUCCEEDED');
  // Progress rode its heartbeats while it ran (every 25 %, heartbeats every 500 ms).
  expect([25, 50, 75, 100]).toContain(slowDone.lastExecution?.progress);
  expect(slowDone.lastExecution?.progressAt).not.toBeNull();
});

test('on SIGTERM it finishes its work, deregisters and exits', async () => {
  const running = await create({ text: 'finish me first', slow: true });
  await cluster.until('the job to be claimed', async () => {
    const { body } = await get<Job>(`/jobs/${running.id}`);
    return body.status === 'RUNNING' ? true : undefined;
  });
  expect(await python.stop('SIGTERM', 20_000)).toBe(0);
  const { body } = await get<Job>(`/jobs/${running.id}`);
  expect(body.status).toBe('SUCCEEDED');
  const runners = (await get<{ items: Runner[] }>('/runners?includeOffline=true')).body.items;
  expect(runners.find((r) => r.name === 'python-e2e')?.status).toBe('OFFLINE');
});
