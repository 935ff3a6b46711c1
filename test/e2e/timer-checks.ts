import type { Timer } from '@hourglass/contracts';
import { Cluster } from '@hourglass/testkit/cluster';
import { type Delivery, latenessSummary, WebhookReceiver } from '@hourglass/testkit/webhook-receiver';
import { afterAll, afterEach, beforeAll, expect } from 'vitest';

/** Shared steps of the timer end-to-end tests (timers-*.test.ts). */

/** The receiver is on 127.0.0.1: every process must allow private webhook targets. */
const LOCAL_WEBHOOKS = { WEBHOOK_BLOCK_PRIVATE_TARGETS: 'false' };

/**
 * The file's cluster and webhook receiver: started before its tests (orchestrators, then the named runners),
 * stopped after them, with the processes' output printed for a failed test. `receiver` is set once started.
 */
export function timerCluster(opts: {
  orchestrators?: number;
  runners: string[];
  runnerEnv?: Record<string, string>;
  routes?: (receiver: WebhookReceiver) => void;
}) {
  const t = { cluster: new Cluster(), receiver: undefined as unknown as WebhookReceiver };
  afterEach((ctx) => {
    if (ctx.task.result?.state === 'fail') console.error(`--- process output ---\n${t.cluster.tail(150)}`);
  });
  afterAll(async () => {
    await t.cluster.stop();
    await t.receiver?.close();
  });
  beforeAll(async () => {
    t.receiver = await WebhookReceiver.start();
    opts.routes?.(t.receiver);
    await t.cluster.start(LOCAL_WEBHOOKS, { orchestrators: opts.orchestrators ?? 1 });
    const env = { ...LOCAL_WEBHOOKS, LOG_LEVEL: 'info', ...opts.runnerEnv };
    await Promise.all(opts.runners.map((name) => t.cluster.startRunner(name, env)));
  });
  return t;
}

/** Runs `fn` over `items`, at most `limit` at once; answers in the order of `items`. */
export async function mapLimit<T, R>(items: T[], limit: number, fn: (item: T, i: number) => Promise<R>) {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i]!, i);
      }
    }),
  );
  return out;
}

/** POST /timers through orchestrator `via` (the first one by default); expects 201 and answers the id. */
export async function createTimer(cluster: Cluster, body: Record<string, unknown>, via?: string) {
  const { status, body: reply } = await cluster.request<{ id: number; time_left: number }>(
    'POST',
    '/timers',
    body,
    { via },
  );
  if (status !== 201) throw new Error(`POST /timers answered ${status}: ${JSON.stringify(reply)}`);
  return reply;
}

export async function getTimer(cluster: Cluster, id: number, via?: string): Promise<Timer> {
  const { status, body } = await cluster.get<Timer>(`/timers/${id}`, via);
  if (status !== 200) throw new Error(`GET /timers/${id} answered ${status}: ${JSON.stringify(body)}`);
  return body;
}

export async function getTimers(cluster: Cluster, ids: number[]): Promise<Map<number, Timer>> {
  const timers = await mapLimit(ids, 16, (id) => getTimer(cluster, id));
  return new Map(timers.map((t) => [t.id, t]));
}

/** Waits (bounded) until every timer in `ids` has ended (SUCCEEDED or FAILED); answers them by id. */
export async function timersEnded(cluster: Cluster, ids: number[], timeoutMs = 20_000) {
  let pending = ids;
  await cluster.until(
    `${ids.length} timers to end`,
    async () => {
      const now = await getTimers(cluster, pending);
      pending = pending.filter((id) => !['SUCCEEDED', 'FAILED'].includes(now.get(id)!.status));
      return pending.length === 0 ? true : undefined;
    },
    timeoutMs,
  );
  return getTimers(cluster, ids);
}

/**
 * Exactly once: the receiver got one delivery per timer on `path` (one Idempotency-Key `timer-<id>` each,
 * nothing else), each body names its timer, and every timer reads SUCCEEDED with 1 attempt, fired_at set and
 * time_left 0.
 */
export async function expectEachDeliveredOnce(
  cluster: Cluster,
  receiver: WebhookReceiver,
  ids: number[],
  path: string,
): Promise<Map<number, Timer>> {
  const deliveries = receiver.at(path);
  const counts = receiver.countsByKey(path);
  const twice = [...counts].filter(([, n]) => n > 1);
  expect(twice, 'keys delivered more than once').toEqual([]);
  expect(new Set(counts.keys())).toEqual(new Set(ids.map((id) => `timer-${id}`)));
  expect(deliveries).toHaveLength(ids.length);
  for (const d of deliveries) {
    expect((d.body as { timerId: number }).timerId, d.rawBody).toBe(Number(d.key.replace('timer-', '')));
  }
  const timers = await getTimers(cluster, ids);
  const wrong = [...timers.values()].filter(
    (t) => t.status !== 'SUCCEEDED' || t.attempts !== 1 || !t.fired_at || t.time_left !== 0,
  );
  expect(wrong, 'timers not SUCCEEDED once with fired_at and time_left 0').toEqual([]);
  return timers;
}

/**
 * Lateness of each delivery (received − fire_at, ms), printed as p50/p99/max. Asserts only outcomes and a generous
 * bound: nothing arrived before its fire_at (10 ms of slack between the database's clock and this process's), and
 * nothing more than `boundMs` (30 s, hundreds of times the usual) after it could be delivered: its fire_at, or
 * `availableFrom` when the system was down until then (the restart tests). Speed is the benchmark's business: a
 * tighter bound failed a fresh-clone CI run on a loaded machine (issue 10, defect 12).
 */
export function checkLateness(
  label: string,
  deliveries: Delivery[],
  timers: Map<number, Timer>,
  opts: { boundMs?: number; availableFrom?: number } = {},
): number[] {
  const boundMs = opts.boundMs ?? 30_000;
  const lateness: number[] = [];
  const tooLate: number[] = [];
  for (const d of deliveries) {
    const timer = timers.get(Number(d.key.replace('timer-', '')));
    expect(timer, `a timer for ${d.key}`).toBeDefined();
    const fireAt = Date.parse(timer!.fire_at);
    lateness.push(d.receivedAt - fireAt);
    const since = d.receivedAt - Math.max(fireAt, opts.availableFrom ?? 0);
    if (since > boundMs) tooLate.push(since);
  }
  console.log(`[${label}] lateness (delivery received − fire_at): ${latenessSummary(lateness).line}`);
  const early = lateness.filter((l) => l < -10);
  expect(early, 'deliveries before their fire_at').toEqual([]);
  expect(tooLate, `deliveries more than ${boundMs} ms after they could be made`).toEqual([]);
  return lateness;
}

/** Webhook jobs (timers) to `url`, due at `dueAt` (epoch ms), created in one batch through `via`; their ids. */
export async function createWebhookJobs(cluster: Cluster, url: string, dueAt: number[], via?: string) {
  const { status, body } = await cluster.request<{ jobs: { id: number }[] }>(
    'POST',
    '/jobs/batch',
    { jobs: dueAt.map((t) => ({ type: 'webhook', payload: { url }, runAt: new Date(t).toISOString() })) },
    { via },
  );
  expect(status, JSON.stringify(body)).toBe(201);
  return body.jobs.map((j) => j.id);
}
