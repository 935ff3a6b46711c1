import type { Delivery } from '@hourglass/testkit/webhook-receiver';
import pg from 'pg';
import type { ServerError } from './api.js';
import type { FaultEvent, RunnerLife } from './faults.js';
import { type ExecutionRow, measureRecoveries, type Recovery } from './recovery.js';
import type { Sample } from './sampler.js';
import { type CreatedJob, type CreatedTimer, EXPECTED_STATUS } from './workload.js';

/** One printed figure: a check (`ok` true or false) or information (`ok` undefined). */
export interface Figure {
  label: string;
  value: string;
  ok?: boolean;
}

/** A 5xx a runner logged (its claim, heartbeat or report was answered so). */
export interface RunnerServerError {
  at: number;
  runner: string;
  status: number;
}

export interface RunRecord {
  dbUrl: string;
  jobs: CreatedJob[];
  timers: CreatedTimer[];
  deliveries: Delivery[];
  samples: Sample[];
  sampleFailures: number;
  events: FaultEvent[];
  lives: RunnerLife[];
  outage?: { from: number; to: number };
  clientErrors: ServerError[];
  runnerErrors: RunnerServerError[];
  /** Lines of the orchestrators' logs that name the one-open-execution index (a refused second open execution). */
  indexRefusals: string[];
  stuckAfterMs: number;
  recoveryLimitMs: number;
  /** After the outage's end, this long still counts as the outage (pools reconnecting, answers in flight). */
  outageGraceMs: number;
}

const TERMINAL = new Set(['SUCCEEDED', 'FAILED', 'CANCELLED']);
const ONE_OPEN_INDEX = 'executions_one_open_per_once_job';

const seconds = (ms: number) => (Number.isFinite(ms) ? `${(ms / 1000).toFixed(1)} s` : 'never');
const list = (ids: unknown[], max = 10) =>
  ids.length === 0 ? '' : ` (${ids.slice(0, max).join(', ')}${ids.length > max ? ', …' : ''})`;

/** Reads the end state from the database, and judges it together with what was seen during the run. */
export async function judge(run: RunRecord): Promise<{ figures: Figure[]; recoveries: Recovery[] }> {
  const client = new pg.Client({ connectionString: run.dbUrl, application_name: 'hourglass-chaos' });
  await client.connect();
  try {
    const ids = [...run.jobs.map((j) => j.id), ...run.timers.map((t) => t.id)];
    const jobs = new Map(
      (
        await client.query<{ id: number; status: string }>(
          'SELECT id::int AS id, status FROM jobs WHERE id = ANY($1::bigint[])',
          [ids],
        )
      ).rows.map((r) => [r.id, r.status]),
    );
    const rows = (
      await client.query<ExecutionRow>(
        `SELECT id::int AS id, job_id::int AS job_id, attempt, status, runner_id::text AS runner_id,
                (extract(epoch FROM scheduled_for) * 1000)::float8 AS scheduled_ms,
                (extract(epoch FROM claimed_at) * 1000)::float8 AS claimed_ms,
                (extract(epoch FROM finished_at) * 1000)::float8 AS finished_ms
         FROM executions WHERE job_id = ANY($1::bigint[]) ORDER BY id`,
        [ids],
      )
    ).rows;
    const deadLettered = new Set(
      (
        await client.query<{ job_id: number }>('SELECT DISTINCT job_id::int AS job_id FROM dead_letters')
      ).rows.map((r) => r.job_id),
    );
    const index = (
      await client.query<{ valid: boolean; def: string }>(
        `SELECT i.indisvalid AND i.indisunique AS valid, pg_get_indexdef(i.indexrelid) AS def
         FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE c.relname = $1`,
        [ONE_OPEN_INDEX],
      )
    ).rows[0];

    const byJob = new Map<number, ExecutionRow[]>();
    for (const r of rows) {
      const l = byJob.get(r.job_id) ?? [];
      l.push(r);
      byJob.set(r.job_id, l);
    }
    const figures: Figure[] = [];

    // Jobs.
    const lost = [...run.jobs, ...run.timers]
      .filter((j) => !TERMINAL.has(jobs.get(j.id) ?? 'missing'))
      .map((j) => j.id);
    figures.push({
      label: 'jobs lost (missing, or not finished at the end; timers included)',
      value: `${lost.length}${list(lost)}`,
      ok: lost.length === 0,
    });
    const wrong = run.jobs
      .filter(
        (j) => jobs.has(j.id) && TERMINAL.has(jobs.get(j.id)!) && jobs.get(j.id) !== EXPECTED_STATUS[j.kind],
      )
      .map((j) => `${j.id} ${j.kind} ${jobs.get(j.id)}`);
    figures.push({
      label: 'jobs ended otherwise than their kind must',
      value: `${wrong.length}${list(wrong)}`,
      ok: wrong.length === 0,
    });
    const twice = [...byJob]
      .filter(([, l]) => l.filter((r) => r.status === 'SUCCEEDED').length > 1)
      .map(([id]) => id);
    figures.push({
      label: 'jobs with two SUCCEEDED executions',
      value: `${twice.length}${list(twice)}`,
      ok: twice.length === 0,
    });
    const after = [...byJob]
      .filter(([, l]) => {
        const success = l.find((r) => r.status === 'SUCCEEDED');
        return success !== undefined && l.some((r) => r.attempt > success.attempt);
      })
      .map(([id]) => id);
    figures.push({
      label: 'jobs run again after their success',
      value: `${after.length}${list(after)}`,
      ok: after.length === 0,
    });
    const unbacked = [...run.jobs, ...run.timers]
      .filter((j) => {
        const status = jobs.get(j.id);
        const history = byJob.get(j.id) ?? [];
        if (status === 'SUCCEEDED') return !history.some((r) => r.status === 'SUCCEEDED');
        if (status === 'FAILED') return !deadLettered.has(j.id);
        return false;
      })
      .map((j) => j.id);
    figures.push({
      label:
        'jobs whose history does not back their status (success without a SUCCEEDED execution, failure without a dead letter)',
      value: `${unbacked.length}${list(unbacked)}`,
      ok: unbacked.length === 0,
    });

    // One open execution per one-shot job.
    const sampledDoubles = [...new Set(run.samples.flatMap((s) => s.doubleOpen))];
    const openNow = [...byJob].filter(
      ([, l]) => l.filter((r) => r.status === 'PENDING' || r.status === 'RUNNING').length > 1,
    );
    figures.push({
      label: `one-shot jobs with two open executions at once (${run.samples.length} samples during the run, and at the end)`,
      value: `${sampledDoubles.length + openNow.length}${list([...sampledDoubles, ...openNow.map(([id]) => id)])}`,
      ok: sampledDoubles.length + openNow.length === 0,
    });
    figures.push({
      label: `unique index ${ONE_OPEN_INDEX} present and valid`,
      value: index ? (index.valid ? 'yes' : `NOT VALID: ${index.def}`) : 'MISSING',
      ok: index?.valid === true,
    });
    figures.push({
      label: 'second open executions the index refused (orchestrator log lines naming it)',
      value: `${run.indexRefusals.length}${list(
        run.indexRefusals.map((l) => l.slice(0, 200)),
        3,
      )}`,
    });

    // Timers.
    const keysByTimer = new Map<number, Set<string>>();
    const okByTimer = new Map<number, number>();
    for (const d of run.deliveries) {
      const timerId = (d.body as { timerId?: number } | undefined)?.timerId;
      if (typeof timerId !== 'number') continue;
      keysByTimer.set(timerId, (keysByTimer.get(timerId) ?? new Set()).add(d.key));
      if (d.status !== undefined && d.status < 300) okByTimer.set(timerId, (okByTimer.get(timerId) ?? 0) + 1);
    }
    const manyKeys = run.timers.filter((t) => (keysByTimer.get(t.id)?.size ?? 0) > 1).map((t) => t.id);
    figures.push({
      label: 'timers delivered with more than one distinct idempotency key',
      value: `${manyKeys.length}${list(manyKeys)}`,
      ok: manyKeys.length === 0,
    });
    const never = run.timers.filter((t) => !okByTimer.has(t.id)).map((t) => t.id);
    figures.push({
      label: 'timers never delivered (no 2xx answer)',
      value: `${never.length}${list(never)}`,
      ok: never.length === 0,
    });
    const again = run.timers.filter((t) => (okByTimer.get(t.id) ?? 0) > 1).length;
    figures.push({
      label:
        'timers delivered more than once with their one key (at least once: a kill between send and report)',
      value: String(again),
    });

    // Leases.
    const inOutage = (at: number) =>
      run.outage !== undefined && at >= run.outage.from && at <= run.outage.to + run.outageGraceMs;
    const counted = run.samples.filter((s) => !inOutage(s.at));
    const stuck = [...new Set(counted.flatMap((s) => s.stuck))];
    const running = rows.filter((r) => r.status === 'RUNNING').map((r) => r.id);
    figures.push({
      label: `executions stuck RUNNING more than ${run.stuckAfterMs} ms after their lease ran out (the reaper interval plus a tolerance for a loaded machine; sampled every 0.5 s outside the outage, and at the end)`,
      value: `${stuck.length + running.length}${list([...stuck, ...running])}; most overdue seen: ${Math.max(0, ...counted.map((s) => s.maxOverdueMs))} ms`,
      ok: stuck.length + running.length === 0,
    });

    // Recovery.
    const recoveries = measureRecoveries(run.events, run.lives, rows);
    for (const kind of ['runner', 'orchestrator', 'postgres'] as const) {
      const mine = recoveries.filter((r) => r.event.kind === kind);
      if (mine.length === 0) continue;
      const worst = mine.reduce((a, b) => (b.ms > a.ms ? b : a));
      const what = {
        runner: 'kill -9 of a runner',
        orchestrator: 'kill -9 of an orchestrator',
        postgres: 'PostgreSQL back up',
      }[kind];
      figures.push({
        label: `max recovery after ${what} (${mine.length}×; limit ${seconds(run.recoveryLimitMs)})`,
        value: `${seconds(worst.ms)} (${worst.slowest}); each: ${mine.map((r) => (r.ms / 1000).toFixed(1)).join(' ')}`,
        ok: worst.ms <= run.recoveryLimitMs && !mine.some((r) => r.event.error),
      });
    }
    const reclaims = recoveries.flatMap((r) => (r.reclaimMs === undefined ? [] : [r.reclaimMs]));
    if (reclaims.length > 0) {
      figures.push({
        label:
          'killed runners’ executions claimed again (retry backoff not counted; includes waiting behind any backlog; not a check)',
        value: `max ${seconds(Math.max(...reclaims))}`,
      });
    }
    const boots = run.events.flatMap((e) =>
      e.kind === 'runner' && e.restartedAt !== undefined ? [e.restartedAt - e.at] : [],
    );
    if (boots.length > 0) {
      boots.sort((a, b) => a - b);
      figures.push({
        label: 'runner restarts: from the kill to registered again (process start, not a check)',
        value: `median ${seconds(boots[Math.floor(boots.length / 2)]!)}, max ${seconds(boots.at(-1)!)}`,
      });
    }
    const errors = run.events
      .filter((e) => e.error)
      .map((e) => `${e.kind} ${'name' in e ? e.name : ''}: ${e.error}`);
    figures.push({
      label: 'faults whose restart failed',
      value: `${errors.length}${list(errors, 3)}`,
      ok: errors.length === 0,
    });

    // 5xx.
    const clientOutside = run.clientErrors.filter((e) => !inOutage(e.sentAt) && !inOutage(e.answeredAt));
    const runnerOutside = run.runnerErrors.filter((e) => !inOutage(e.at));
    figures.push({
      label: `5xx answers seen by clients outside the database outage (+${run.outageGraceMs} ms)`,
      value:
        `${clientOutside.length + runnerOutside.length}` +
        list([
          ...clientOutside.map((e) => `${e.request} ${e.status} ${e.code ?? ''}`.trim()),
          ...runnerOutside.map((e) => `${e.runner} ${e.status}`),
        ]),
      ok: clientOutside.length + runnerOutside.length === 0,
    });
    const codes = new Map<string, number>();
    for (const e of run.clientErrors) {
      if (clientOutside.includes(e)) continue;
      const key = `${e.status} ${e.code ?? '-'}`;
      codes.set(key, (codes.get(key) ?? 0) + 1);
    }
    figures.push({
      label: '5xx answers during the outage (API client / runners)',
      value:
        `${run.clientErrors.length - clientOutside.length} / ${run.runnerErrors.length - runnerOutside.length}` +
        (codes.size > 0 ? ` (client: ${[...codes].map(([k, n]) => `${n}× ${k}`).join(', ')})` : ''),
    });
    return { figures, recoveries };
  } finally {
    await client.end().catch(() => {});
  }
}
