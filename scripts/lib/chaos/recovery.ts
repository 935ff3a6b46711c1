import type { FaultEvent, RunnerLife } from './faults.js';

/** What the recovery measures read of an execution (times in epoch ms). */
export interface ExecutionRow {
  id: number;
  job_id: number;
  attempt: number;
  status: string;
  runner_id: string | null;
  scheduled_ms: number;
  claimed_ms: number | null;
  finished_ms: number | null;
}

export interface Recovery {
  event: FaultEvent;
  /** ms from the fault until work progressed again (see below); Infinity: it never did. */
  ms: number;
  /** Who or what took longest. */
  slowest: string;
  /**
   * Runner kills: until the last execution the killed runner held was claimed again, its retry backoff not counted.
   * Not a recovery measure: with a backlog, the retry waits its turn behind it (throughput, not the fault).
   */
  reclaimMs?: number;
}

/**
 * Claims made by others after a runner's last chance, below which a runner that claimed nothing is taken to have
 * found no work (the run's work had run out), not to have stalled.
 */
const IDLE_CLAIMS = 20;

/**
 * How long the system took to make progress again after each fault, from the executions' claim and finish times
 * and the faults' times (one machine, so the database's clock and the run's agree):
 * - kill -9 of a runner: the longer of (a) its restarted process's wait from its registration to its first claim
 *   (its boot before that is the machine's speed, shown apart) and (b) the time from the kill until every
 *   execution the killed one held was timed out and its retry queued (the lease running out, then the reaper);
 * - kill -9 of an orchestrator, and PostgreSQL back after its outage: the moment every runner alive throughout
 *   has claimed or completed something again (a runner stalled on the surviving replica shows here); after the
 *   outage, runners that registered within 10 s of its end count too, from their registration.
 * Runners take turns at the work that trickles in, so a healthy runner shows progress every second or so: that is
 * the floor of these figures.
 */
export function measureRecoveries(
  events: FaultEvent[],
  lives: RunnerLife[],
  rows: ExecutionRow[],
): Recovery[] {
  const progress = new Map<string, number[]>();
  const claims: number[] = [];
  const byJob = new Map<number, ExecutionRow[]>();
  const push = <K, V>(map: Map<K, V[]>, key: K, value: V) => {
    const list = map.get(key) ?? [];
    list.push(value);
    map.set(key, list);
  };
  for (const r of rows) {
    push(byJob, r.job_id, r);
    if (!r.runner_id) continue;
    if (r.claimed_ms !== null) {
      push(progress, r.runner_id, r.claimed_ms);
      claims.push(r.claimed_ms);
    }
    if ((r.status === 'SUCCEEDED' || r.status === 'FAILED') && r.finished_ms !== null) {
      push(progress, r.runner_id, r.finished_ms);
    }
  }
  for (const list of progress.values()) list.sort((a, b) => a - b);
  const firstAfter = (runner: string, t: number) => progress.get(runner)?.find((x) => x > t);
  const firstClaimAfter = (runner: string, t: number) => {
    let first: number | undefined;
    for (const r of rows) {
      if (
        r.runner_id === runner &&
        r.claimed_ms !== null &&
        r.claimed_ms > t &&
        (first === undefined || r.claimed_ms < first)
      )
        first = r.claimed_ms;
    }
    return first;
  };
  const claimsAfter = (t: number) => claims.filter((c) => c > t).length;

  /**
   * Every runner alive at `t`, or registered within `laterMs` after it (measured from its registration), and not
   * killed before it progressed: the slowest of them to progress. With runners killed every 2 s, after a long
   * outage the runners alive at its end may all be killed before they could progress; those that registered
   * meanwhile then speak for the system.
   */
  const everyRunnerProgressed = (t: number, laterMs = 0): { ms: number; slowest: string } => {
    let worst = { ms: 0, slowest: '-' };
    for (const life of lives) {
      if (life.from > t + laterMs || (life.to !== undefined && life.to <= t)) continue;
      const since = Math.max(t, life.from);
      const p = firstAfter(life.id, since);
      if (life.to !== undefined && (p === undefined || p > life.to)) continue; // killed first
      if (p === undefined && claimsAfter(since) < IDLE_CLAIMS) continue; // the work had run out
      const ms = p === undefined ? Number.POSITIVE_INFINITY : p - since;
      if (ms > worst.ms)
        worst = { ms, slowest: life.from > t ? `${life.name} (registered after)` : life.name };
    }
    return worst;
  };

  return events.map((event): Recovery => {
    if (event.kind === 'orchestrator') return { event, ...everyRunnerProgressed(event.at) };
    if (event.kind === 'postgres') {
      if (event.startedAt === undefined)
        return { event, ms: Number.POSITIVE_INFINITY, slowest: 'PostgreSQL' };
      return { event, ...everyRunnerProgressed(event.startedAt, 10_000) };
    }
    // The restarted process: from its registration (its boot is the machine's, not the system's) to its first claim.
    let worst = { ms: 0, slowest: '-' };
    if (event.restartedId === undefined || event.restartedAt === undefined) {
      worst = { ms: Number.POSITIVE_INFINITY, slowest: `${event.name} not restarted` };
    } else {
      const claimed = firstClaimAfter(event.restartedId, event.at);
      const killedAgainAt = lives.find((l) => l.id === event.restartedId)?.to;
      const killedFirst = killedAgainAt !== undefined && (claimed === undefined || claimed > killedAgainAt);
      if (!killedFirst && (claimed !== undefined || claimsAfter(event.restartedAt) >= IDLE_CLAIMS)) {
        worst = {
          ms: Math.max(0, (claimed ?? Number.POSITIVE_INFINITY) - event.restartedAt),
          slowest: `${event.name} restarted, its first claim after registering`,
        };
      }
    }
    // What the killed process held: timed out (its retry queued in the same transaction) once the lease ran out.
    let reclaimMs = 0;
    for (const held of rows.filter((r) => r.runner_id === event.killedId && r.status === 'TIMED_OUT')) {
      const back = held.finished_ms === null ? Number.POSITIVE_INFINITY : held.finished_ms - event.at;
      if (back > worst.ms)
        worst = { ms: back, slowest: `execution ${held.id} held by ${event.name}, timed out` };
      const next = byJob.get(held.job_id)!.find((r) => r.attempt === held.attempt + 1);
      if (!next) continue; // its attempts were used up: the job failed, as its history shows
      const backoff = Math.max(0, next.scheduled_ms - (held.finished_ms ?? event.at));
      reclaimMs = Math.max(
        reclaimMs,
        next.claimed_ms === null ? Number.POSITIVE_INFINITY : next.claimed_ms - event.at - backoff,
      );
    }
    return { event, ...worst, reclaimMs };
  });
}
