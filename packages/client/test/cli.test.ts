import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { DeadLetter, Execution, Job, Runner, Timer } from '@hourglass/client';
import { pickFreePort } from '@hourglass/local-postgres';
import { Cluster } from '@hourglass/testkit/cluster';
import { WebhookReceiver } from '@hourglass/testkit/webhook-receiver';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';

/**
 * The `hourglass` command as a user runs it: a child process (the workspace's bin, packages/client/bin) against
 * real orchestrator and runner processes with authentication on. `--json` output is parsed; exit codes checked.
 */

const BIN = fileURLToPath(new URL('../bin/hourglass.mjs', import.meta.url));
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const ADMIN = 'bootstrap-admin-key-for-cli-tests';
const cluster = new Cluster();
let receiver: WebhookReceiver;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `hourglass …args` with HOURGLASS_URL and HOURGLASS_API_KEY set for this stack (unless `env` says else). */
function hg(args: string[], env: Record<string, string | undefined> = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [BIN, ...args],
      {
        env: { ...process.env, HOURGLASS_URL: cluster.url, HOURGLASS_API_KEY: ADMIN, NO_COLOR: '1', ...env },
        timeout: 60_000,
      },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/** `hourglass …args --json`, which must succeed: its stdout is one JSON document. */
async function json<T>(args: string[]): Promise<T> {
  const run = await hg([...args, '--json']);
  expect(run, run.stderr).toMatchObject({ code: 0 });
  return JSON.parse(run.stdout) as T;
}

beforeAll(async () => {
  receiver = await WebhookReceiver.start();
  const env = { WEBHOOK_BLOCK_PRIVATE_TARGETS: 'false' };
  // Heartbeats each second: a drained runner hears of it within one.
  await cluster.start({
    ...env,
    AUTH_DISABLED: 'false',
    ADMIN_API_KEY: ADMIN,
    HEARTBEAT_INTERVAL_MS: '1000',
  });
  cluster.headers = { authorization: `Bearer ${ADMIN}` };
  await cluster.startRunner('cli-runner', { ...env, API_KEY: ADMIN });
}, 120_000);

afterAll(async () => {
  await cluster.stop();
  await receiver?.close();
});

describe('jobs', () => {
  test('the newcomer’s path: create an echo job, wait for it, see its result', async () => {
    const created = await hg(['jobs', 'create', 'echo', '--payload', '{"a":1}']);
    expect(created.code, created.stderr).toBe(0);
    const id = Number(/^job\s+(\d+)$/m.exec(created.stdout)?.[1]);
    expect(id).toBeGreaterThan(0);
    expect(created.stdout).toContain(`hourglass jobs wait ${id}`);

    const waited = await hg(['jobs', 'wait', String(id)]);
    expect(waited.code, waited.stderr).toBe(0);
    expect(waited.stdout).toMatch(/^status\s+SUCCEEDED$/m);
    expect(waited.stdout).toMatch(/^result\s+\{"a":1\}$/m);
  });

  test('create with every timing and retry flag; --json is the created job', async () => {
    const delayed = await json<Job>(['jobs', 'create', 'noop', '--delay', '1h30m', '--max-attempts', '5']);
    expect(delayed).toMatchObject({ type: 'noop', kind: 'once', status: 'SCHEDULED', maxAttempts: 5 });
    const inMs = Date.parse(delayed.runAt) - Date.parse(delayed.createdAt);
    expect(Math.abs(inMs - 5_400_000)).toBeLessThan(60_000);

    const at = await json<Job>([
      'jobs',
      'create',
      'noop',
      '--run-at',
      '2031-01-01T09:00:00+01:00',
      '--priority',
      '-5',
    ]);
    expect(at).toMatchObject({ runAt: '2031-01-01T08:00:00.000Z', priority: -5 });

    const cron = await json<Job>([
      'jobs',
      'create',
      'noop',
      '--cron',
      '0 9 * * 1-5',
      '--timezone',
      'Europe/Berlin',
    ]);
    expect(cron.schedule).toMatchObject({ scheduleExpression: '0 9 * * 1-5', timezone: 'Europe/Berlin' });

    const every = await json<Job>(['jobs', 'create', 'noop', '--every', '30s']);
    expect(every).toMatchObject({ kind: 'interval', schedule: { intervalSeconds: 30 } });

    const first = await json<Job>([
      'jobs',
      'create',
      'noop',
      '--delay',
      '1h',
      '--idempotency-key',
      'cli-once',
    ]);
    const again = await json<Job>([
      'jobs',
      'create',
      'noop',
      '--delay',
      '1h',
      '--idempotency-key',
      'cli-once',
    ]);
    expect(again.id).toBe(first.id);
    for (const j of [delayed, at, cron, every, first]) await hg(['jobs', 'cancel', String(j.id)]);
  });

  test('get and list, as a table and as JSON, with filters and a limit', async () => {
    const made = await json<Job>(['jobs', 'create', 'cli.listed', '--delay', '1h', '--payload', '[1,2]']);
    expect(made.warnings?.[0]?.code).toBe('TYPE_UNDECLARED');
    expect(await json<Job>(['jobs', 'get', String(made.id)])).toMatchObject({ id: made.id, payload: [1, 2] });
    const human = await hg(['jobs', 'get', String(made.id)]);
    expect(human.stdout).toMatch(new RegExp(`^job\\s+${made.id}$`, 'm'));
    expect(human.stdout).toMatch(/^payload\s+\[1,2\]$/m);

    await json<Job>(['jobs', 'create', 'cli.listed', '--delay', '1h']);
    const listed = await json<Job[]>([
      'jobs',
      'list',
      '--type',
      'cli.listed',
      '--status',
      'SCHEDULED',
      '--limit',
      '1',
    ]);
    expect(listed).toHaveLength(1);
    expect(listed[0]!.type).toBe('cli.listed');
    expect(await json<Job[]>(['jobs', 'list', '--type', 'cli.listed'])).toHaveLength(2);
    const table = await hg(['jobs', 'list', '--type', 'cli.listed']);
    const [header, ...rows] = table.stdout.trim().split('\n');
    expect(header).toMatch(/^ID\s+TYPE\s+KIND\s+STATUS/);
    expect(rows).toHaveLength(2);
    expect(rows[1]).toMatch(new RegExp(`^${made.id}\\s+cli\\.listed\\s+once\\s+SCHEDULED`));
  });

  test('wait: exit 3 when the job failed, 4 when it is not final by --timeout', async () => {
    const failing = await json<Job>([
      'jobs',
      'create',
      'sleep',
      '--payload',
      '{"durationMs":0,"failAttempts":5}',
      '--max-attempts',
      '1',
    ]);
    const failed = await hg(['jobs', 'wait', String(failing.id), '--json']);
    expect(failed.code).toBe(3);
    expect(JSON.parse(failed.stdout)).toMatchObject({ id: failing.id, status: 'FAILED' });

    const later = await json<Job>(['jobs', 'create', 'noop', '--delay', '1h']);
    const pending = await hg(['jobs', 'wait', String(later.id), '--timeout', '1s']);
    expect(pending.code).toBe(4);
    expect(pending.stderr).toContain(`job ${later.id} is still SCHEDULED`);
  });

  test('cancel, trigger, pause, resume, and a job’s executions', async () => {
    const cron = await json<Job>(['jobs', 'create', 'echo', '--cron', '0 0 1 1 *']);
    expect(await json<Job>(['jobs', 'pause', String(cron.id)])).toMatchObject({ status: 'PAUSED' });
    const paused = await hg(['jobs', 'resume', String(cron.id)]);
    expect(paused.stdout.trim()).toBe(`job ${cron.id}: SCHEDULED`);
    const triggered = await json<Execution>(['jobs', 'trigger', String(cron.id)]);
    expect(triggered).toMatchObject({ jobId: cron.id, attempt: 1 });
    await cluster.until('the triggered run to finish', async () => {
      const e = await json<Execution>(['executions', 'get', String(triggered.id)]);
      return e.status === 'SUCCEEDED' ? e : undefined;
    });
    const executions = await json<Execution[]>(['jobs', 'executions', String(cron.id)]);
    expect(executions.map((e) => e.id)).toEqual([triggered.id]);
    expect((await hg(['executions', 'get', String(triggered.id)])).stdout).toMatch(/^status\s+SUCCEEDED$/m);
    expect(await json<Job>(['jobs', 'cancel', String(cron.id)])).toMatchObject({ status: 'CANCELLED' });
  });
});

describe('dead letters, timers, runners', () => {
  test('dead-letters list and requeue', async () => {
    const job = await json<Job>([
      'jobs',
      'create',
      'sleep',
      '--payload',
      '{"durationMs":0,"failAttempts":1}',
      '--max-attempts',
      '1',
    ]);
    expect((await hg(['jobs', 'wait', String(job.id)])).code).toBe(3);
    const letters = await json<DeadLetter[]>(['dead-letters', 'list']);
    const letter = letters.find((d) => d.jobId === job.id)!;
    expect(letter).toMatchObject({ type: 'sleep', requeuedAt: null });
    const table = await hg(['dead-letters', 'list']);
    expect(table.stdout).toMatch(/^ID\s+JOB\s+EXECUTION\s+TYPE\s+ATTEMPTS\s+ERROR/);

    const requeued = await hg(['dead-letters', 'requeue', String(letter.id)]);
    expect(requeued.code, requeued.stderr).toBe(0);
    expect(requeued.stdout).toMatch(
      new RegExp(`^dead letter ${letter.id} requeued: job ${job.id} runs again`),
    );
    expect((await json<DeadLetter[]>(['dead-letters', 'list'])).map((d) => d.id)).not.toContain(letter.id);
    expect(
      (await json<DeadLetter[]>(['dead-letters', 'list', '--include-requeued'])).find(
        (d) => d.id === letter.id,
      )?.requeuedAt,
    ).not.toBeNull();
  });

  test('timers create <duration> <url>, timers get, and it fires', async () => {
    const created = await json<{ id: number; time_left: number }>([
      'timers',
      'create',
      '2s',
      `${receiver.url}/cli`,
    ]);
    expect(created.time_left).toBeLessThanOrEqual(2);
    const long = await hg(['timers', 'create', '1h30m', `${receiver.url}/later`]);
    expect(long.stdout).toMatch(/^timer \d+ created: fires in 1h(29m\d+s|30m)$/m);
    await receiver.waitFor(1, '/cli');
    const timer = await cluster.until('the timer to be recorded as fired', async () => {
      const t = await json<Timer>(['timers', 'get', String(created.id)]);
      return t.fired_at ? t : undefined;
    });
    expect(timer).toMatchObject({ id: created.id, time_left: 0, url: `${receiver.url}/cli` });
    expect((await hg(['timers', 'get', String(created.id)])).stdout).toMatch(/^time left\s+0s$/m);
  });

  test('runners list and drain', async () => {
    const other = await cluster.startRunner('cli-drained', {
      WEBHOOK_BLOCK_PRIVATE_TARGETS: 'false',
      API_KEY: ADMIN,
    });
    const runners = await json<Runner[]>(['runners', 'list']);
    expect(runners.map((r) => r.name).sort()).toEqual(['cli-drained', 'cli-runner']);
    const table = await hg(['runners', 'list']);
    expect(table.stdout).toMatch(/^ID\s+NAME\s+HOST\s+STATUS\s+RUNNING\s+TYPES/);
    expect(table.stdout).toMatch(/cli-runner .* ONLINE\s+\d+\/\d+\s+\S*echo/);

    const drained = await hg(['runners', 'drain', other.id]);
    expect(drained.stdout.trim()).toBe(`runner ${other.id}: DRAINING`);
    expect(await other.process.exited).toBe(0);
    expect((await json<Runner[]>(['runners', 'list'])).map((r) => r.name)).toEqual(['cli-runner']);
    expect((await json<Runner[]>(['runners', 'list', '--include-offline'])).map((r) => r.name)).toContain(
      'cli-drained',
    );
  });
});

describe('events', () => {
  test('events --job <id> --after 0 --no-follow: the job’s events, one per line; --json is JSON Lines', async () => {
    const job = await json<Job>(['jobs', 'create', 'echo', '--payload', '{"e":1}']);
    expect((await hg(['jobs', 'wait', String(job.id)])).code).toBe(0);
    // The last event is numbered a moment after the job's answer: ask until it is there (bounded).
    let lines: { id: number; kind: string; jobId: number }[] = [];
    for (let i = 0; i < 50 && !lines.some((l) => l.kind === 'job.succeeded'); i++) {
      const run = await hg(['events', '--job', String(job.id), '--after', '0', '--no-follow', '--json']);
      expect(run.code, run.stderr).toBe(0);
      lines = run.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l));
    }
    expect(lines.map((l) => l.kind)).toEqual([
      'job.created',
      'execution.claimed',
      'execution.succeeded',
      'job.succeeded',
    ]);
    expect(lines.every((l) => l.jobId === job.id)).toBe(true);

    const human = await hg([
      'events',
      '--job',
      String(job.id),
      '--after',
      '0',
      '--kinds',
      'job.*',
      '--no-follow',
    ]);
    expect(human.code, human.stderr).toBe(0);
    const rows = human.stdout.trim().split('\n');
    expect(rows).toHaveLength(2);
    expect(rows[0]).toMatch(new RegExp(`^\\S+ \\S+Z  \\d+  job\\.created\\s+job ${job.id} \\(echo\\)`));
    expect(rows[1]).toContain('job.succeeded');
  });

  test('bad usage and refusals: --after -3 is exit 2; an unknown kind is refused by the server, exit 1', async () => {
    const bad = await hg(['events', '--after', '-3']);
    expect(bad.code).toBe(2);
    const refused = await hg(['events', '--kinds', 'job.exploded', '--no-follow']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('kinds');
  });
});

describe('errors and exit codes', () => {
  test('a refused request: exit 1, the problem’s detail and fields on stderr, nothing on stdout', async () => {
    const bad = await hg(['jobs', 'create', 'sleep', '--payload', '{"durationMs":"soon"}', '--json']);
    expect(bad).toMatchObject({ code: 1, stdout: '' });
    expect(bad.stderr).toMatch(/^error: .*\(400 VALIDATION_FAILED\)$/m);
    expect(bad.stderr).toMatch(/^ {2}payload\.durationMs: /m);

    const missing = await hg(['jobs', 'get', '999999']);
    expect(missing).toMatchObject({ code: 1, stdout: '' });
    expect(missing.stderr).toContain('error: job 999999 does not exist (404 NOT_FOUND)');
  });

  test('HOURGLASS_API_KEY is used, and --api-key overrides it: 401 and 403 are refusals', async () => {
    const noKey = await hg(['runners', 'list'], { HOURGLASS_API_KEY: undefined });
    expect(noKey.code).toBe(1);
    expect(noKey.stderr).toContain('(401 UNAUTHENTICATED)');
    expect(noKey.stderr).toContain('HOURGLASS_API_KEY');
    const wrong = await hg(['runners', 'list', '--api-key', 'hg_000000000000_wrong']);
    expect(wrong.code).toBe(1);
    const key = (
      await cluster.request<{ key: string }>('POST', '/api-keys', { name: 'cli', scopes: ['client'] })
    ).body.key;
    expect((await hg(['runners', 'list', '--api-key', key])).code).toBe(0);
    const forbidden = await hg([
      'runners',
      'drain',
      '00000000-0000-4000-8000-000000000000',
      '--api-key',
      key,
    ]);
    expect(forbidden.code).toBe(1);
    expect(forbidden.stderr).toContain('(403 FORBIDDEN)');
  });

  test('--url overrides HOURGLASS_URL; an unreachable orchestrator is exit 1 with a hint', async () => {
    const nowhere = `http://127.0.0.1:${await pickFreePort()}`;
    const viaFlag = await hg(['runners', 'list', '--json', '--url', cluster.url], { HOURGLASS_URL: nowhere });
    expect(viaFlag.code, viaFlag.stderr).toBe(0);
    const down = await hg(['runners', 'list', '--request-timeout', '2s'], { HOURGLASS_URL: nowhere });
    expect(down.code).toBe(1);
    expect(down.stderr).toContain(`could not reach ${nowhere}`);
    expect(down.stderr).toContain('HOURGLASS_URL');
  });

  test('bad usage: exit 2 and a message, before anything is sent', async () => {
    // Nobody listens there: had anything been sent, the exit code would be 1.
    const nowhere = `http://127.0.0.1:${await pickFreePort()}`;
    for (const args of [
      ['jobs', 'get', 'abc'],
      ['jobs', 'get'],
      ['jobs', 'frob'],
      ['jobs'],
      ['jobs', 'create', 'echo', '--payload', '{not json'],
      ['jobs', 'create', 'echo', '--delay', 'soon'],
      ['jobs', 'create', 'echo', '--delay', '10s', '--cron', '* * * * *'],
      ['jobs', 'create', 'echo', '--timezone', 'UTC'],
      ['jobs', 'create', 'echo', '--every', '1500ms'],
      ['jobs', 'list', '--status', 'DONE'],
      ['jobs', 'list', '--limit', '0'],
      ['timers', 'create', '1.5h', 'https://example.com'],
      ['--no-such-flag'],
    ]) {
      const run = await hg(args, { HOURGLASS_URL: nowhere });
      expect({ args, code: run.code, stdout: run.stdout }).toEqual({ args, code: 2, stdout: '' });
      // (`hourglass jobs` alone shows the jobs commands, on stderr.)
      expect(run.stderr, args.join(' ')).toMatch(/error: |Usage: hourglass jobs/);
    }
  });

  test('--help on every command, exit 0', async () => {
    const commands = [
      [],
      ['jobs'],
      ['jobs', 'create'],
      ['jobs', 'get'],
      ['jobs', 'list'],
      ['jobs', 'wait'],
      ['jobs', 'cancel'],
      ['jobs', 'trigger'],
      ['jobs', 'pause'],
      ['jobs', 'resume'],
      ['jobs', 'executions'],
      ['executions'],
      ['executions', 'get'],
      ['dead-letters'],
      ['dead-letters', 'list'],
      ['dead-letters', 'requeue'],
      ['timers'],
      ['timers', 'create'],
      ['timers', 'get'],
      ['runners'],
      ['runners', 'list'],
      ['runners', 'drain'],
      ['events'],
    ];
    for (const command of commands) {
      const run = await hg([...command, '--help']);
      expect({ command, code: run.code }).toEqual({ command, code: 0 });
      expect(run.stdout).toContain(`Usage: hourglass ${command.join(' ')}`.trimEnd());
      expect(run.stdout).toContain('--json');
    }
    expect((await hg(['--version'])).stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });

  test('in the workspace, `pnpm hourglass` runs it (the bin link made by pnpm install)', async () => {
    const run = await new Promise<Run>((resolve) => {
      execFile(
        'pnpm',
        ['hourglass', 'runners', 'list', '--json'],
        { cwd: ROOT, env: { ...process.env, HOURGLASS_URL: cluster.url, HOURGLASS_API_KEY: ADMIN } },
        (err, stdout, stderr) => resolve({ code: err ? Number(err.code) : 0, stdout, stderr }),
      );
    });
    expect(run.code, run.stderr).toBe(0);
    expect((JSON.parse(run.stdout) as Runner[]).map((r) => r.name)).toContain('cli-runner');
  });
});
