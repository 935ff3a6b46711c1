import type { ParentResult } from '@hourglass/contracts';
import { type RawBuilder, sql } from 'kysely';
import type { Db } from '../db/database.js';
import { hotTransaction, prepared } from '../db/prepared.js';
import { claimedParents, parentBytes } from './parent-results.js';
import { outboxInsert } from './record-events.js';
import { atOrNow } from './timing.js';

/**
 * What a claim asks for: up to `max` executions of `types` in `queues` (null: every queue), their payloads at most
 * `maxBytes`, leased for `leaseMs`.
 */
export interface Claim {
  runnerId: string;
  types: readonly string[];
  queues: readonly string[] | null;
  max: number;
  leaseMs: number;
  maxBytes: number;
  /**
   * Called when the claim left due work in a rate-limited queue whose window is full, with the moment the window
   * next lets a claim through (database clock), so that waiting claimers can be woken then (issue 14's leftovers:
   * they slept until the safety net).
   */
  onWindowFull?: (opensAt: Date) => void;
}

export interface ClaimedRow {
  id: number;
  job_id: number;
  job_type: string;
  attempt: number;
  scheduled_for: Date;
  lease_expires_at: Date;
  payload: unknown;
  max_attempts: number;
  timeout_ms: number | null;
  /** Null for the job's first occurrence; else the occurrence's number (shared by its retries). */
  occurrence_id: number | null;
  queue: string;
  concurrency_key: string;
  /** The job's parents with their results (flows), null for a job without parents (see parent-results.ts). */
  parents: ParentResult[] | null;
  /**
   * The claim's statement locked rows it did not claim (the same on every row of one statement's answer): the
   * answer's byte budget left them out, or they were locked in a lane past the claim's `max`. They are claimable
   * again once its transaction ends, and nothing else announces them (see ClaimDispatcher).
   */
  capped: boolean;
}

/**
 * Claims up to `max` due executions of `types` for a runner.
 *
 * Queues without limits (issue 14) take the path this function always had: one transaction of two statements, the
 * first setting planner guards (below) and naming the limited queues that have due work, the second claiming from
 * every other queue. Only when a limited queue has due work does the claim go on, in the same transaction, to that
 * queue (claimLimitedIn: its row lock, then its claim), so limits cost nothing where none are set. A claim from a
 * limited queue is on the path from one execution's end to the next one's start, and every round trip on it costs
 * throughput when the limit is small (pnpm bench, issue 14's leftovers): one transaction of four statements where
 * this took three transactions and eleven round trips. The unlimited claim comes first, so that the queue's lock is
 * not held while it runs (other claimers of that queue would wait for it); the lock is held from its statement to
 * the commit. Further limited queues with due work (rare: a runner serving several) are claimed one transaction
 * each, so that no claim holds two queues' locks at once.
 *
 * Every claim holds a shared advisory lock (QUEUE_SETTINGS_LOCK) for its transaction; configuring or pausing a
 * queue takes it exclusively, so a change of settings waits for the claims in flight and every later claim sees it
 * ("pause stops claims at once"). Shared locks do not conflict with one another: claims never wait on each other
 * for it.
 *
 * The `picked` CTE is an optimisation fence (as in River's JobGetAvailable and Oban): it locks exactly the rows
 * the LIMIT selects, skipping rows another claimer holds (SKIP LOCKED), so concurrent claimers never wait on
 * or take the same execution, and the planner cannot turn the UPDATE into a scan that touches more rows. Only
 * `ready` rows are in the index it walks (see timing.ts), so executions scheduled for later cost nothing.
 *
 * Two planner guards keep a claim's cost independent of the backlog (measured with pnpm bench, PostgreSQL 18,
 * claims of 200 while draining a backlog created faster than autovacuum analyses it):
 * - `enable_sort` is off for the claim's transaction. With statistics that predate a burst (or none yet), the
 *   planner expects a handful of due rows, prices walking the index for them like a full scan, and prefers a
 *   bitmap scan of the whole claimable set plus a sort of it: 10 ms CPU per claim at 20,000 pending, 28 ms at
 *   100,000. Without a sort the only plan left is the ordered walk of executions_claimable(_by_type) that stops at
 *   the LIMIT: 5 ms at either size. The sorts of the few rows picked across types and of the claimed rows by id are
 *   unaffected (they have no alternative).
 * - the UPDATEs and the final join find their rows by primary key (`id = ANY(ARRAY(...))`); joined `FROM
 *   picked`, the planner chose seq scans of executions and jobs with hash joins (three full scans per claim).
 */
export async function claimExecutions(db: Db, claim: Claim, at: Date | null = null): Promise<ClaimedRow[]> {
  // A random order, so that no limited queue is always served last by runners with little room.
  let limited: string[] = [];
  let stuck: string | undefined;
  let rows: ClaimedRow[];
  try {
    rows = await hotTransaction(db, async (trx) => {
      const start = await startClaim(trx, claim, at, true);
      limited = shuffled(start.limited);
      if (start.locked) {
        // Nothing due outside limited queues, and one of them already locked (see claimStartStatement).
        const locked = start.locked;
        limited = limited.filter((q) => q !== locked.name);
        return locked.paused ? [] : claimWithin(trx, locked.name, locked, claim, at);
      }
      const rows = start.open_due ? await unlimitedClaim(trx, claim, claim.max, at) : [];
      const first = limited.shift();
      if (first === undefined || rows.length >= claim.max) return rows;
      stuck = first;
      const more = await claimLimitedIn(trx, first, { ...claim, max: claim.max - rows.length }, at);
      stuck = undefined;
      return [...rows, ...more];
    });
  } catch (err) {
    // The first limited queue's row was held past lock_timeout (a settings change stuck behind something): that
    // queue is passed over for this claim, and the rest is claimed again without it (the failed transaction
    // claimed nothing).
    if (stuck === undefined || !lockTimedOut(err)) throw err;
    rows = await hotTransaction(db, async (trx) => {
      await startClaim(trx, claim, at, false);
      return unlimitedClaim(trx, claim, claim.max, at);
    });
  }
  for (const queue of limited) {
    if (rows.length >= claim.max) break;
    rows.push(...(await claimLimitedQueue(db, queue, { ...claim, max: claim.max - rows.length }, at)));
  }
  return rows;
}

const lockTimedOut = (err: unknown) => (err as { code?: string }).code === '55P03';

/** Key of the advisory lock claims hold shared and queue changes exclusively (see claimExecutions). */
export const QUEUE_SETTINGS_LOCK = 0x686f7572_7175;

/**
 * The claim transaction's first statement: planner guards, the shared settings lock, and the limited queues (not
 * paused, served by the runner) that have due work of its types: a probe of executions_claimable_by_queue each,
 * and nothing at all when no queue has limits (queues_special is empty).
 *
 * A queue visibly at its `concurrency` (as many RUNNING as the limit, counted up to the limit in
 * executions_running_by_queue) is left out: its claim would wait for the queue's lock only to take nothing. On a
 * small limit that is every other claim (a runner polls again as soon as it receives work, before anything ended),
 * and those claims held up the one that could take the room a report had just freed. Leaving a queue out only ever
 * claims less; the report that frees room there commits after this read and wakes the waiters (see
 * ClaimDispatcher, which serves again a claim such a wake-up overtook).
 */
async function startClaim(trx: Db, claim: Claim, at: Date | null, lockInStart: boolean): Promise<ClaimStart> {
  const { rows } = await prepared(trx, claimStartStatement(claim, at, lockInStart));
  return rows[0]!;
}

/** startClaim's statement (exported for hot-path-plans.test.ts). */
export function claimStartStatement(
  { types, queues }: Pick<Claim, 'types' | 'queues'>,
  at: Date | null = null,
  lockInStart = true,
) {
  // lock_timeout: executions are taken with SKIP LOCKED, but their jobs rows are updated plainly; a claim must
  // never wait long on a job row another (perhaps dying) transaction holds, or every long-poll of this replica
  // waits behind it. It fails instead, and the waiters are served on the next wake-up.
  const now = atOrNow(at);
  const probe = sql`
    SELECT set_config('enable_sort', 'off', true), set_config('lock_timeout', '2s', true),
           pg_advisory_xact_lock_shared(${QUEUE_SETTINGS_LOCK}),
           -- Due work is probed once per queue and per lane, by LATERAL … LIMIT 1: a nested loop whose index
           -- probe has the queue (and type) in its condition. Written as EXISTS, the planner turned both into
           -- semi-joins that read every due execution to find one, the whole backlog of a limited queue (17,000
           -- index entries, 1.8 ms) on every claim (issue 14's leftovers; hot-path-plans.test.ts).
           ARRAY(
             SELECT q.name FROM queues q
             CROSS JOIN LATERAL (
               SELECT 1 FROM executions e
               WHERE e.queue = q.name AND e.status = 'PENDING' AND e.ready AND e.scheduled_for <= ${now}
                 AND e.job_type = ANY(${types as string[]}::text[])
               LIMIT 1
             ) due
             WHERE ${LIMITED} AND NOT q.paused
               AND (${queues as string[] | null}::text[] IS NULL OR q.name = ANY(${queues as string[] | null}::text[]))
               AND (q.concurrency IS NULL OR (
                 SELECT count(*) FROM (
                   SELECT 1 FROM executions r WHERE r.queue = q.name AND r.status = 'RUNNING' LIMIT q.concurrency
                 ) running
               ) < q.concurrency)
           ) AS limited,
           CASE WHEN NOT EXISTS (SELECT 1 FROM queues q WHERE ${LIMITED}) THEN true ELSE EXISTS (
             WITH RECURSIVE ${lanesCte(types, queues)}
             SELECT 1 FROM lanes l
             CROSS JOIN LATERAL (
               SELECT 1 FROM executions e
               WHERE e.status = 'PENDING' AND e.ready AND e.job_type = l.type AND e.queue = l.queue
               LIMIT 1
             ) due
           ) END AS open_due
  `;
  if (!lockInStart) return sql<ClaimStart>`${probe}, NULL::json AS locked`;
  // With nothing due outside limited queues (the common case of a runner serving a limited queue), one of them,
  // at random, is locked here rather than by a statement of its own: one round trip fewer on the way from a
  // report that freed room to the claim that takes it (issue 14's leftovers). The claim statement that follows
  // takes its snapshot after the lock is held, as when the lock had a statement of its own. SKIP LOCKED: this
  // statement never waits for the row; held by another claimer (or a settings change), `locked` is null and the
  // claim takes the queue's lock in a statement of its own, which waits, at most lock_timeout (claimLimitedIn).
  return sql<ClaimStart>`
    WITH start AS MATERIALIZED (${probe}),
    chosen AS (
      SELECT x.name FROM start s CROSS JOIN LATERAL unnest(s.limited) AS x(name)
      WHERE NOT s.open_due
      ORDER BY random() LIMIT 1
    ),
    locked AS (
      SELECT q.name, ${QUEUE_LIMITS} FROM queues q WHERE q.name = (SELECT name FROM chosen)
      FOR UPDATE SKIP LOCKED
    )
    SELECT s.limited, s.open_due, (SELECT row_to_json(l) FROM locked l) AS locked FROM start s
  `;
}

interface ClaimStart {
  /** Limited queues with due work of the claim's types and visible room (see startClaim). */
  limited: string[];
  /**
   * Whether a queue without limits may have due work for the claim: always true when no queue has limits (the
   * unlimited path is not probed twice); else a probe of its lanes, so that a claim of only limited work (or of
   * nothing, in a full queue) skips the unlimited claim's statement and round trip.
   */
  open_due: boolean;
  /**
   * The limited queue the statement locked, with its settings: one of `limited`, when `open_due` is false, the
   * statement was asked to lock, and the row was free; else null.
   */
  locked: (QueueLimits & { name: string }) | null;
}

/** A queue with a limit (see queues_special, which holds these and paused ones). */
const LIMITED = sql`(q.concurrency IS NOT NULL OR q.per_key_concurrency IS NOT NULL OR q.rate_limit IS NOT NULL)`;

async function unlimitedClaim(trx: Db, claim: Claim, max: number, at: Date | null): Promise<ClaimedRow[]> {
  const { rows } = await prepared(trx, claimStatement({ ...claim, max }, at));
  return rows;
}

function shuffled<T>(items: T[]): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

/**
 * Lanes a claim from queues without limits walks at most, per type: (type, queue) pairs with due work, found by a
 * skip scan. Past this many queues with due work of one type, the queues after the first (by name) wait until
 * those run dry (see README, "Queues, limits and unique jobs").
 */
export const LANE_WALK_LIMIT = 1_000;

/**
 * The claim from queues without limits (see claimExecutions). `picked` walks executions_claimable_by_lane once per
 * lane, a (type, queue) pair, in claim order, locking up to `max` of each with SKIP LOCKED, then keeps the first
 * `max` over all lanes: a claim never walks another type's backlog (issue 10, defect 6), nor a paused or limited
 * queue's (issue 14). Rows of a lane locked but not kept stay locked only until this statement's transaction
 * ends. The lanes are the runner's types crossed with the queues it serves, or, for a runner serving every queue,
 * the queues with due work of each type (a skip scan: one index probe per queue); paused and limited queues are
 * left out (read here, after the settings lock was taken, so a change that committed before is seen).
 */
export function claimStatement(
  { runnerId, types, queues, max, leaseMs, maxBytes }: Claim,
  at: Date | null = null,
) {
  const now = atOrNow(at);
  const due = sql`e.status = 'PENDING' AND e.ready`;
  const lanes = lanesCte(types, queues);
  const picked = sql`${lanes},
    locked AS (
      SELECT c.id, c.job_id, c.priority, c.scheduled_for FROM lanes l
      CROSS JOIN LATERAL (
        SELECT e.id, e.job_id, e.priority, e.scheduled_for FROM executions e
        WHERE ${due} AND e.job_type = l.type AND e.queue = l.queue AND e.scheduled_for <= ${now}
        ORDER BY e.priority DESC, e.scheduled_for, e.id
        LIMIT ${max}
        FOR UPDATE SKIP LOCKED
      ) c
    ),
    picked AS (
      SELECT id, job_id, priority, scheduled_for FROM locked
      ORDER BY priority DESC, scheduled_for, id
      LIMIT ${max}
    )`;
  return sql<ClaimedRow>`WITH RECURSIVE ${picked}, ${claimTail({ runnerId, maxBytes, leaseMs }, now)}`;
}

/**
 * The lanes a claim from queues without limits walks (see claimStatement): a `lanes(type, queue)` CTE, preceded by
 * the recursive `walk` it reads for a runner serving every queue (so: WITH RECURSIVE).
 */
function lanesCte(types: readonly string[], queues: readonly string[] | null) {
  const open = sql`queue <> ALL(ARRAY(SELECT q.name FROM queues q WHERE q.paused OR ${LIMITED}))`;
  return queues === null
    ? sql`
    walk(type, queue) AS (
      -- The next lane after (type, queue) in executions_claimable_by_lane, kept if it is still of this type. Written
      -- as a row comparison so that only that index serves it: with \`job_type = $type\`, the planner walked
      -- executions_claimable_by_queue in queue order filtering on the type (20,000 rows read to find one).
      SELECT t.type, ${nextLane(sql`t.type`, sql`''`, sql`>=`)}
      FROM unnest(${types as string[]}::text[]) AS t(type)
      UNION ALL
      SELECT w.type, ${nextLane(sql`w.type`, sql`w.queue`, sql`>`)}
      FROM walk w WHERE w.queue IS NOT NULL
    ),
    lanes AS (
      SELECT type, queue FROM walk WHERE queue IS NOT NULL AND ${open} LIMIT ${LANE_WALK_LIMIT * types.length}
    )`
    : sql`
    lanes AS (
      SELECT t.type, q.queue FROM unnest(${types as string[]}::text[]) AS t(type)
      CROSS JOIN unnest(${queues as string[]}::text[]) AS q(queue)
      WHERE ${open}
    )`;
}

/** The queue of the first lane at or after (type, queue), or null when that lane is of another type (or none). */
function nextLane(type: RawBuilder<unknown>, queue: RawBuilder<unknown>, op: RawBuilder<unknown>) {
  return sql`(
    SELECT CASE WHEN n.job_type = ${type} THEN n.queue END FROM (
      SELECT e.job_type, e.queue FROM executions e
      WHERE e.status = 'PENDING' AND e.ready AND (e.job_type, e.queue) ${op} (${type}, ${queue})
      ORDER BY e.job_type, e.queue LIMIT 1
    ) n
  )`;
}

/** The columns of QueueLimits, read from `queues q` under the queue's row lock. */
const QUEUE_LIMITS = sql`q.paused, q.concurrency, q.per_key_concurrency, q.rate_limit, q.rate_period_ms, q.rate_per_key`;

/** The settings of a queue, as locked by a limited claim. */
interface QueueLimits {
  paused: boolean;
  concurrency: number | null;
  per_key_concurrency: number | null;
  rate_limit: number | null;
  rate_period_ms: number | null;
  rate_per_key: boolean;
}

/**
 * Keys a limited claim looks at per claim, at most: the skip scan over a queue's keys costs one index probe per
 * key. Past this many keys with due work, the keys after the first KEY_WALK_LIMIT (in key order) wait until those
 * run dry (see README, "Queues, limits and unique jobs").
 */
export const KEY_WALK_LIMIT = 1_000;

/** How long past the window a rate-limit row is kept (far longer than a claim waits for a queue's lock). */
const RATE_WINDOW_SLACK_MS = 60_000;

/**
 * Claims from one queue with limits, in its own transaction, holding the queue's row lock while it counts and
 * claims: two claimers of the same limited queue run one after the other (on any replica), so what one counts
 * includes what the other claimed (each statement of a READ COMMITTED transaction sees what committed before it
 * started, and the count runs after the lock is held). Other queues are not held up.
 *
 * The claim itself (limitedClaimStatement) takes, within the queue's budget (concurrency minus what runs, and the
 * rate limit minus the claims in its window), up to each key's own allowance (perKeyConcurrency minus what runs
 * with that key, and the per-key rate), fairly: candidates are ordered by priority, then by how many of their key
 * would be running before them (what runs now plus their rank within the key), so keys take turns and one busy key
 * does not starve the others.
 *
 * A queue whose row another transaction holds past lock_timeout (a settings change stuck behind something) is
 * passed over for this claim.
 */
export async function claimLimitedQueue(
  db: Db,
  queue: string,
  claim: Claim,
  at: Date | null = null,
): Promise<ClaimedRow[]> {
  try {
    return await hotTransaction(db, (trx) => claimLimitedIn(trx, queue, claim, at));
  } catch (err) {
    if (lockTimedOut(err)) return [];
    throw err;
  }
}

/**
 * claimLimitedQueue's two statements, in a transaction of the caller's (which the queue's row lock lasts until):
 * the lock (and the planner guards and settings lock of startClaim, harmless to repeat), then the claim.
 */
async function claimLimitedIn(trx: Db, queue: string, claim: Claim, at: Date | null): Promise<ClaimedRow[]> {
  const { rows } = await prepared(
    trx,
    sql<QueueLimits>`
    SELECT set_config('enable_sort', 'off', true), set_config('lock_timeout', '2s', true),
           pg_advisory_xact_lock_shared(${QUEUE_SETTINGS_LOCK}),
           ${QUEUE_LIMITS}
    FROM queues q WHERE q.name = ${queue}
    FOR UPDATE
  `,
  );
  const limits = rows[0];
  if (!limits || limits.paused) return [];
  return claimWithin(trx, queue, limits, claim, at);
}

/** The claim from a limited queue whose row this transaction holds locked, with `limits` read under that lock. */
async function claimWithin(
  trx: Db,
  queue: string,
  limits: QueueLimits,
  claim: Claim,
  at: Date | null,
): Promise<ClaimedRow[]> {
  const { rows: claimed } = await prepared(trx, limitedClaimStatement(queue, limits, claim, at));
  if (limits.rate_limit !== null && claimed.length < claim.max && claim.onWindowFull) {
    const opensAt = await windowOpensAt(trx, queue, limits, claim, at);
    if (opensAt) claim.onWindowFull(opensAt);
  }
  return claimed;
}

/**
 * When a rate-limited queue's window next lets a claim through: the oldest claim in the window leaves it one period
 * after it was made. Null when the queue has no due work of the claim's types left, or (a queue-wide limit) when the
 * window is not full, so nothing waits on it. With a per-key rate, the oldest claim of any key: the key it frees may
 * have nothing due, and that wake-up's claim then finds the next moment.
 */
async function windowOpensAt(
  trx: Db,
  queue: string,
  limits: QueueLimits,
  { types }: Claim,
  at: Date | null,
): Promise<Date | null> {
  const now = at ? atOrNow(at) : sql`statement_timestamp()`;
  const period = sql`${limits.rate_period_ms ?? 0} * interval '1 millisecond'`;
  const { rows } = await prepared(
    trx,
    sql<{ opens_at: Date }>`
    SELECT min(r.claimed_at) + ${period} AS opens_at FROM queue_rate_claims r
    WHERE r.queue = ${queue} AND r.claimed_at > ${now} - ${period}
      AND EXISTS (
        SELECT 1 FROM executions e
        WHERE e.queue = ${queue} AND e.status = 'PENDING' AND e.ready AND e.job_type = ANY(${types as string[]}::text[])
      )
    HAVING ${limits.rate_per_key} OR count(*) >= ${limits.rate_limit}
  `,
  );
  return rows[0]?.opens_at ?? null;
}

function limitedClaimStatement(queue: string, limits: QueueLimits, claim: Claim, at: Date | null) {
  // The statement's own time, not the transaction's: the transaction may have waited for the queue's row lock,
  // and claims stamped with that older time would fall out of the rate window early (a burst over the limit).
  const now = at ? atOrNow(at) : sql`statement_timestamp()`;
  const { max, types } = claim;
  const rate = limits.rate_limit;
  const periodMs = limits.rate_period_ms ?? 0;
  const perKeyRate = rate !== null && limits.rate_per_key;
  const queueRate = rate !== null && !limits.rate_per_key;
  const due = sql`e.queue = ${queue} AND e.status = 'PENDING' AND e.ready`;
  const picked = sql`
    running AS (
      SELECT e.concurrency_key AS k, count(*)::int AS n FROM executions e
      WHERE e.queue = ${queue} AND e.status = 'RUNNING'
      GROUP BY e.concurrency_key
    ),
    recent AS (
      SELECT r.key AS k, count(*)::int AS n FROM queue_rate_claims r
      WHERE r.queue = ${queue} AND r.claimed_at > ${now} - ${periodMs} * interval '1 millisecond'
      GROUP BY r.key
    ),
    budget AS (
      SELECT greatest(0, least(
        ${max}::int,
        ${limits.concurrency}::int - (SELECT coalesce(sum(n), 0) FROM running)::int,
        CASE WHEN ${queueRate} THEN ${rate}::int - (SELECT coalesce(sum(n), 0) FROM recent)::int END
      )) AS n
    ),
    -- The keys with due or soon-due work, one index probe each (a skip scan of executions_claimable_by_queue).
    walk(k) AS (
      (SELECT e.concurrency_key FROM executions e WHERE ${due} ORDER BY e.queue, e.concurrency_key LIMIT 1)
      UNION ALL
      SELECT (SELECT e.concurrency_key FROM executions e WHERE ${due} AND e.concurrency_key > w.k
              ORDER BY e.queue, e.concurrency_key LIMIT 1)
      FROM walk w WHERE w.k IS NOT NULL
    ),
    keys AS (
      SELECT w.k, coalesce(r.n, 0) AS running,
             least(
               (SELECT n FROM budget),
               ${limits.per_key_concurrency}::int - coalesce(r.n, 0),
               CASE WHEN ${perKeyRate} THEN ${rate}::int - coalesce(x.n, 0) END
             ) AS allowance
      FROM (SELECT k FROM walk WHERE k IS NOT NULL LIMIT ${KEY_WALK_LIMIT}) w
      LEFT JOIN running r ON r.k = w.k
      LEFT JOIN recent x ON x.k = w.k
    ),
    candidates AS (
      SELECT c.id, c.job_id, c.priority, c.scheduled_for, k.running,
             row_number() OVER (PARTITION BY k.k ORDER BY c.priority DESC, c.scheduled_for, c.id) AS rank
      FROM keys k CROSS JOIN LATERAL (
        SELECT e.id, e.job_id, e.priority, e.scheduled_for FROM executions e
        WHERE ${due} AND e.concurrency_key = k.k AND e.scheduled_for <= ${now}
          AND e.job_type = ANY(${types as string[]}::text[])
        ORDER BY e.priority DESC, e.scheduled_for, e.id
        LIMIT k.allowance
        FOR UPDATE SKIP LOCKED
      ) c
      WHERE k.allowance > 0
    ),
    picked AS (
      SELECT id, job_id, priority, scheduled_for FROM candidates
      ORDER BY priority DESC, running + rank, scheduled_for, id
      LIMIT (SELECT n FROM budget)
    ),
    locked AS (SELECT id FROM candidates)`;
  // The rate window: this claim's rows are logged, and rows older than the period dropped, by the claim that holds
  // the queue's lock. Dropped only RATE_WINDOW_SLACK_MS after they left the window: `now` is a transaction's start,
  // and a claim that began earlier but got the lock later counts from an earlier now; it must still find them.
  const window =
    rate === null
      ? sql``
      : sql`,
    logged AS (
      INSERT INTO queue_rate_claims (queue, key, claimed_at) SELECT queue, concurrency_key, ${now} FROM claimed
    ),
    expired AS (
      DELETE FROM queue_rate_claims
      WHERE queue = ${queue}
        AND claimed_at <= ${now} - ${periodMs + RATE_WINDOW_SLACK_MS} * interval '1 millisecond'
    )`;
  return sql<ClaimedRow>`WITH RECURSIVE ${picked}, ${claimTail(claim, now, window)}`;
}

/**
 * What every claim does with the rows its `picked` CTE locked: keeps them while their payloads fit the answer,
 * marks them RUNNING, writes their events, and marks their jobs RUNNING. `extra` adds CTEs that read `claimed`.
 */
function claimTail(
  { runnerId, maxBytes, leaseMs }: Pick<Claim, 'runnerId' | 'maxBytes' | 'leaseMs'>,
  now: ReturnType<typeof atOrNow>,
  extra = sql``,
) {
  return sql`
    -- The answer is bounded in bytes too (issue 10, defect 10): picked rows are kept, in claim order, while their
    -- payloads (and their parents' results, flows) add up to at most maxBytes; the first is always kept, so a
    -- payload larger than the budget still runs. Rows picked but not kept stay PENDING (locked only until this
    -- transaction ends).
    kept AS (
      SELECT id FROM (
        SELECT p.id, row_number() OVER w AS n,
               sum((SELECT octet_length(j.payload::text) + ${parentBytes} FROM jobs j WHERE j.id = p.job_id)) OVER w
                 AS bytes
        FROM picked p
        WINDOW w AS (ORDER BY p.priority DESC, p.scheduled_for, p.id ROWS UNBOUNDED PRECEDING)
      ) s
      WHERE n = 1 OR bytes <= ${maxBytes}
    ),
    claimed AS (
      UPDATE executions e
      SET status = 'RUNNING', runner_id = ${runnerId}, claimed_at = ${now},
          lease_expires_at = ${now} + ${leaseMs} * interval '1 millisecond'
      WHERE e.id = ANY(ARRAY(SELECT id FROM kept))
      RETURNING e.id, e.job_id, e.job_type, e.attempt, e.scheduled_for, e.lease_expires_at, e.occurrence_id, e.queue,
                e.concurrency_key
    ),
    -- The claim's events, one INSERT … SELECT for the whole batch (see record-events.ts).
    claimed_events AS (
      ${outboxInsert(sql`
        SELECT 'execution.claimed', ${now}, job_id, id, ${runnerId}::text, job_type, jsonb_build_object('attempt', attempt)
        FROM claimed
      `)}
    ),
    -- The status test is wrapped in IS TRUE so that no index can serve it: the rows are found by primary key. As a
    -- plain \`j.status = 'SCHEDULED'\`, statistics from before a burst of creates (few SCHEDULED jobs) made the
    -- planner read every SCHEDULED job through jobs_status and filter on the ids: O(backlog) per claim, 20 ms at
    -- 5,000 scheduled jobs (EXPLAIN ANALYZE, issue 15).
    running_jobs AS (
      UPDATE jobs j SET status = 'RUNNING', updated_at = ${now}
      WHERE j.id = ANY(ARRAY(SELECT job_id FROM claimed)) AND (j.status = 'SCHEDULED') IS TRUE
    )${extra}
    SELECT c.*, j.payload, j.max_attempts, j.timeout_ms, ${claimedParents} AS parents,
           (SELECT count(*) FROM locked) > (SELECT count(*) FROM kept) AS capped
    -- Each claimed row's job by primary key (LATERAL, kept apart by OFFSET 0): a join planned from statistics of
    -- near-empty tables, as a generic plan kept from a quiet moment may be, compared every claimed row with every
    -- job read (19,900 comparisons for 200).
    FROM claimed c CROSS JOIN LATERAL (
      SELECT j.id, j.payload, j.max_attempts, j.timeout_ms, j.parent_count FROM jobs j WHERE j.id = c.job_id OFFSET 0
    ) j
    ORDER BY c.id
  `;
}
