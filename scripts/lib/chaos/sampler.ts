import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';

export interface Sample {
  at: number;
  /** One-shot jobs with more than one open (PENDING or RUNNING) execution at this moment. */
  doubleOpen: number[];
  /** RUNNING executions whose lease ran out more than `stuckAfterMs` ago (at most 20), and the most overdue (ms). */
  stuck: number[];
  maxOverdueMs: number;
  due: number;
  /** Of those, how many are in the claim index (`ready`): due but not ready means the promoter is behind. */
  dueReady: number;
  running: number;
  /** Sessions of the run's database waiting on a lock: a pile-up shows here. */
  lockWaits: number;
}

/**
 * Looks at the database every `everyMs` while the run goes on, for what the end state cannot show: a one-shot
 * job with two open executions at once, and executions left RUNNING after their lease expired. Samples fail
 * while PostgreSQL is down; they are counted, not fatal.
 */
export class Sampler {
  readonly samples: Sample[] = [];
  failed = 0;
  private readonly pool: pg.Pool;
  private stopped = false;
  private loop: Promise<void> | undefined;

  constructor(
    url: string,
    /** The reaper's interval plus a tolerance for its own lateness on a loaded machine. */
    private readonly stuckAfterMs: number,
    private readonly everyMs = 500,
  ) {
    this.pool = new pg.Pool({
      connectionString: url,
      max: 1,
      application_name: 'hourglass-chaos',
      connectionTimeoutMillis: 2_000,
    });
    this.pool.on('error', () => {});
  }

  start(): void {
    this.loop = (async () => {
      while (!this.stopped) {
        await this.sample().catch(() => {
          this.failed++;
        });
        await sleep(this.everyMs);
      }
    })();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.loop;
    await this.pool.end().catch(() => {});
  }

  private async sample(): Promise<void> {
    const at = Date.now();
    const [doubles, leases, stuck] = await Promise.all([
      this.pool.query<{ job_id: number }>(
        `SELECT e.job_id::int AS job_id FROM executions e JOIN jobs j ON j.id = e.job_id AND j.kind = 'once'
         WHERE e.status IN ('PENDING', 'RUNNING') GROUP BY e.job_id HAVING count(*) > 1`,
      ),
      this.pool.query<{
        max_overdue_ms: number;
        due: number;
        due_ready: number;
        running: number;
        lock_waits: number;
      }>(
        `SELECT coalesce(max(extract(epoch FROM now() - lease_expires_at) * 1000)
                  FILTER (WHERE status = 'RUNNING'), 0)::int AS max_overdue_ms,
                count(*) FILTER (WHERE status = 'PENDING' AND scheduled_for <= now())::int AS due,
                count(*) FILTER (WHERE status = 'PENDING' AND scheduled_for <= now() AND ready)::int AS due_ready,
                count(*) FILTER (WHERE status = 'RUNNING')::int AS running,
                (SELECT count(*)::int FROM pg_stat_activity
                 WHERE datname = current_database() AND wait_event_type = 'Lock') AS lock_waits
         FROM executions WHERE status IN ('PENDING', 'RUNNING')`,
      ),
      this.pool.query<{ id: number }>(
        `SELECT id::int AS id FROM executions
         WHERE status = 'RUNNING' AND lease_expires_at < now() - $1 * interval '1 millisecond' LIMIT 20`,
        [this.stuckAfterMs],
      ),
    ]);
    const l = leases.rows[0]!;
    this.samples.push({
      at,
      doubleOpen: doubles.rows.map((r) => r.job_id),
      stuck: stuck.rows.map((r) => r.id),
      maxOverdueMs: Math.max(0, l.max_overdue_ms),
      due: l.due,
      dueReady: l.due_ready,
      running: l.running,
      lockWaits: l.lock_waits,
    });
  }
}
