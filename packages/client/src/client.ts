import { HourglassError } from './errors.js';
import { newIdempotencyKey } from './idempotency-key.js';
import { readSse } from './sse.js';
import {
  type CallOptions,
  DEFAULT_TIMEOUT_MS,
  DEFAULT_URL,
  type RequestSpec,
  type RetryOptions,
  sleep,
  Transport,
} from './transport.js';
import type {
  ActiveExecution,
  ApiKey,
  CreateApiKeyInput,
  CreatedApiKey,
  CreatedTimer,
  CreateJobInput,
  CreateTimerInput,
  DeadLetter,
  DeadLetterFilter,
  DrainedRunner,
  EventFilter,
  Execution,
  FinalJobStatus,
  Flow,
  FlowJobInput,
  HourglassEvent,
  Job,
  JobFilter,
  JobStatus,
  JobType,
  Me,
  Page,
  Queue,
  QueueSettingsInput,
  Runner,
  Stats,
  Timer,
  UpdateJobInput,
} from './types.js';

export interface HourglassClientOptions {
  /** The orchestrator's base URL (default `http://127.0.0.1:8080`). */
  url?: string;
  /** An API key with the `client` scope (`admin` for runners' drain and API keys); sent as `Authorization: Bearer`. */
  apiKey?: string;
  /** Time limit of each attempt of a call, answer included (default 30,000 ms); a call may set its own. */
  timeoutMs?: number;
  /** Retrying after 429, 503, network errors and timeouts (see RetryOptions); `false`: never retry. */
  retry?: RetryOptions | false;
  /** The fetch to use (default: the global one). */
  fetch?: typeof fetch;
  /** Headers sent with every request (e.g. a tracing header). */
  headers?: Record<string, string>;
}

export interface CreateOptions extends CallOptions {
  /**
   * The key that makes a create happen once however often it is sent (default: a fresh UUID per call, reused by
   * its retries). Send the same key again later and you get the same job (or timer) back, not a second one.
   */
  idempotencyKey?: string;
}

export interface GetJobOptions extends CallOptions {
  /** Seconds (at most 60) the server may hold the answer until the job is final. */
  wait?: number;
}

export interface WaitOptions {
  signal?: AbortSignal;
  /** Give up after this long and resolve with the job as it is then (default: wait until it is final). */
  maxWaitMs?: number;
  /** Each long-poll's wait, in seconds (default 30, at most 60). */
  pollSeconds?: number;
}

export interface EventsOptions {
  /** Ends the iteration (it rejects with the signal's reason, like every call); `break` in a for-await ends it too. */
  signal?: AbortSignal;
  /**
   * `false`: end once what exists now was read (one request, no reconnects). Default `true`: follow new events for
   * as long as the loop runs, reconnecting after a dropped connection or a server restart.
   */
  follow?: boolean;
  /** Called before each reconnect, with the error (or undefined when the server ended the stream) and the delay. */
  onReconnect?: (info: { error: unknown; delayMs: number; lastEventId: number | undefined }) => void;
}

export interface PageOptions extends CallOptions {
  /** Items per page (1–500, default 50). */
  limit?: number;
  /** A previous page's `nextCursor`. */
  cursor?: number;
}

export interface ListOptions extends CallOptions {
  /** Items fetched per request (1–500, default 100). */
  pageSize?: number;
  /** Start after this cursor (a page's `nextCursor`) instead of at the newest. */
  cursor?: number;
}

const FINAL_STATUSES = ['SUCCEEDED', 'FAILED', 'CANCELLED'] as const satisfies readonly FinalJobStatus[];
// Fails to compile when the contracts gain a final status this list lacks (the list is not imported: no zod at run time).
const listsEveryFinalStatus: [Exclude<FinalJobStatus, (typeof FINAL_STATUSES)[number]>] extends [never]
  ? true
  : false = true;
void listsEveryFinalStatus;
const FINAL: ReadonlySet<string> = new Set(FINAL_STATUSES);

/** A job that has reached SUCCEEDED, FAILED or CANCELLED: nothing more will happen to it. */
export function isFinal(status: JobStatus): status is FinalJobStatus {
  return FINAL.has(status);
}

/**
 * The Hourglass HTTP API as typed calls. Every call takes `{ signal, timeoutMs }` last; failures are
 * HourglassError. Reads, updates and creates are retried after network errors, timeouts, 502, 503 and 504 (creates
 * carry an idempotency key, so a retried create never makes a second job); every call is retried after a 429,
 * waiting what `Retry-After` says.
 *
 *     const hourglass = new HourglassClient({ url: 'http://127.0.0.1:8080', apiKey: process.env.HOURGLASS_API_KEY });
 *     const job = await hourglass.createJob({ type: 'echo', payload: { hello: 'world' } });
 *     const done = await hourglass.waitForJob(job.id);   // done.status: 'SUCCEEDED', done.lastExecution?.result
 */
export class HourglassClient {
  private readonly transport: Transport;
  private readonly timeoutMs: number;

  constructor(options: HourglassClientOptions = {}) {
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const retry = options.retry === false ? { retries: 0 } : (options.retry ?? {});
    this.transport = new Transport({
      url: options.url ?? DEFAULT_URL,
      apiKey: options.apiKey,
      timeoutMs: this.timeoutMs,
      retry: {
        retries: retry.retries ?? 3,
        initialDelayMs: retry.initialDelayMs ?? 250,
        maxDelayMs: retry.maxDelayMs ?? 5_000,
        maxRetryAfterMs: retry.maxRetryAfterMs ?? 60_000,
      },
      // Called unbound, a browser's fetch throws "Illegal invocation".
      fetch: options.fetch ?? ((input, init) => globalThis.fetch(input, init)),
      headers: options.headers ?? {},
    });
  }

  /** The orchestrator's base URL, without a trailing slash. */
  get url(): string {
    return this.transport.url;
  }

  // ---- events

  /**
   * `GET /events` as an async iterator: every state change matching `filter`, in id order. A dropped connection or a
   * restarted orchestrator is reconnected to (backing off like a retried call) with `Last-Event-ID`, so no event is
   * missed or seen twice. A refusal (400, 401, 403) ends it with HourglassError.
   *
   *     for await (const e of hourglass.events({ kinds: ['job.succeeded', 'job.failed'] })) console.log(e.jobId, e.kind);
   */
  async *events(
    filter: EventFilter = {},
    opts: EventsOptions = {},
  ): AsyncGenerator<HourglassEvent, void, undefined> {
    const follow = opts.follow ?? true;
    let lastEventId: number | undefined;
    // Without a cursor, "from now" is the server's; once one event came, resumes go on from it.
    let after = filter.after;
    let failures = 0;
    for (;;) {
      opts.signal?.throwIfAborted();
      const controller = new AbortController();
      const relay = () => controller.abort(opts.signal?.reason);
      opts.signal?.addEventListener('abort', relay, { once: true });
      let error: unknown;
      try {
        const res = await this.transport.open({
          method: 'GET',
          path: '/events',
          query: {
            jobId: filter.jobId,
            type: filter.type,
            kinds: filter.kinds?.join(','),
            after,
            follow: follow ? undefined : false,
          },
          headers: lastEventId === undefined ? {} : { 'last-event-id': String(lastEventId) },
          signal: controller.signal,
        });
        failures = 0;
        // `: connected, after <id>`: where the server started; a reconnect before any event resumes from there.
        const started = (comment: string) => {
          const from = /^connected, after (\d+)$/.exec(comment)?.[1];
          if (from !== undefined && lastEventId === undefined) after = Number(from);
        };
        for await (const message of readSse(res.body!, started)) {
          const event = JSON.parse(message.data) as HourglassEvent;
          lastEventId = event.id;
          yield event;
        }
        if (!follow) return;
      } catch (err) {
        if (opts.signal?.aborted) throw opts.signal.reason;
        // Refusals are final; a 429 or a 5xx, a network failure or a cut stream are reconnected to.
        if (err instanceof HourglassError && err.status >= 400 && err.status !== 429 && err.status < 500)
          throw err;
        if (!follow && !(err instanceof HourglassError)) throw err;
        error = err;
      } finally {
        opts.signal?.removeEventListener('abort', relay);
        controller.abort();
      }
      const delayMs =
        error instanceof HourglassError && error.retryAfterMs !== undefined
          ? error.retryAfterMs
          : this.transport.backoff(failures++);
      opts.onReconnect?.({ error, delayMs, lastEventId });
      await sleep(delayMs, opts.signal);
      if (lastEventId !== undefined) after = lastEventId;
    }
  }

  // ---- jobs

  /** `POST /jobs`: a job now, later (`runAt`, `delayMs`), on a cron `scheduleExpression` or every `intervalSeconds`. */
  createJob(job: CreateJobInput, opts: CreateOptions = {}): Promise<Job> {
    const idempotencyKey = opts.idempotencyKey ?? job.idempotencyKey ?? newIdempotencyKey();
    return this.send({
      method: 'POST',
      path: '/jobs',
      body: job,
      headers: { 'idempotency-key': idempotencyKey },
      idempotent: true,
      ...call(opts),
    });
  }

  /** `POST /jobs/batch`: up to 1,000 jobs in one statement, answered in the order given. */
  async createJobs(jobs: CreateJobInput[], opts: CallOptions = {}): Promise<Job[]> {
    // Each job gets a key of its own unless it has one, so that a retried batch returns the jobs it made.
    const keyed = jobs.map((j) => ({ ...j, idempotencyKey: j.idempotencyKey ?? newIdempotencyKey() }));
    const reply = await this.send<{ jobs: Job[] }>({
      method: 'POST',
      path: '/jobs/batch',
      body: { jobs: keyed },
      idempotent: true,
      ...call(opts),
    });
    return reply.jobs;
  }

  // ---- flows

  /**
   * `POST /flows`: a DAG of up to 1,000 one-shot jobs in one transaction. `dependsOn` names other jobs of the request
   * by `ref` (strings) or existing jobs by id (numbers); a job waits (WAITING) until they have all succeeded. Not
   * retried on a network failure (a flow has no idempotency key): a lost answer may have created it.
   */
  createFlow(jobs: FlowJobInput[], opts: CallOptions = {}): Promise<Flow> {
    return this.send({ method: 'POST', path: '/flows', body: { jobs }, idempotent: false, ...call(opts) });
  }

  /** `GET /flows/{id}`: the flow's jobs (parents first) with status and dependsOn, and its edges. */
  getFlow(id: number, opts: CallOptions = {}): Promise<Flow> {
    return this.send({ method: 'GET', path: `/flows/${segment(id)}`, idempotent: true, ...call(opts) });
  }

  /** `GET /jobs/{id}`: the job with its schedule, last occurrence and last execution (its `result`, `error`). */
  getJob(id: number, opts: GetJobOptions = {}): Promise<Job> {
    return this.send({
      method: 'GET',
      path: `/jobs/${segment(id)}`,
      query: { wait: opts.wait || undefined },
      idempotent: true,
      ...call(opts),
    });
  }

  /**
   * The job once it is final (SUCCEEDED, FAILED or CANCELLED), through the server's long-poll (`GET /jobs/{id}?wait=`):
   * one request per `pollSeconds`, answered the moment the job finishes. A server that answers at once (no
   * long-poll) is polled instead, backing off from 250 ms to 5 s. With `maxWaitMs`, resolves at the latest then,
   * with the job as it is (check `status`). A recurring job is final only once cancelled.
   */
  async waitForJob(id: number, opts: WaitOptions = {}): Promise<Job> {
    const deadline = Date.now() + (opts.maxWaitMs ?? Number.POSITIVE_INFINITY);
    const pollMs = Math.min(60, Math.max(1, opts.pollSeconds ?? 30)) * 1000;
    for (let quick = 0; ; ) {
      // Tenths of a second: the server takes a decimal wait, so the last poll ends on the deadline.
      const waitMs = Math.max(0, Math.round(Math.min(pollMs, deadline - Date.now()) / 100) * 100);
      const asked = Date.now();
      const job = await this.getJob(id, {
        wait: waitMs / 1000,
        signal: opts.signal,
        timeoutMs: waitMs + this.timeoutMs,
      });
      if (isFinal(job.status) || Date.now() >= deadline) return job;
      if (Date.now() - asked < waitMs - 1_000) {
        await sleep(Math.min(5_000, 250 * 2 ** quick++, Math.max(0, deadline - Date.now())), opts.signal);
      }
    }
  }

  /**
   * Every job matching `filter`, newest first, fetched a page at a time as you iterate:
   *
   *     for await (const job of hourglass.listJobs({ status: 'FAILED' })) console.log(job.id, job.type);
   */
  listJobs(filter: JobFilter = {}, opts: ListOptions = {}): AsyncGenerator<Job, void, undefined> {
    return paginate(
      (cursor) => this.listJobsPage(filter, { ...opts, limit: opts.pageSize ?? 100, cursor }),
      opts,
    );
  }

  /** `GET /jobs`: one page of jobs, newest first. */
  listJobsPage(filter: JobFilter = {}, opts: PageOptions = {}): Promise<Page<Job>> {
    return this.send({
      method: 'GET',
      path: '/jobs',
      query: { ...filter, limit: opts.limit, cursor: opts.cursor },
      idempotent: true,
      ...call(opts),
    });
  }

  /** `POST /jobs/{id}/cancel`: no more runs; a running one is aborted through its runner. 409 if already final. */
  cancelJob(id: number, opts: CallOptions = {}): Promise<Job> {
    return this.post(`/jobs/${segment(id)}/cancel`, opts);
  }

  /** `POST /jobs/{id}/trigger`: run now (a waiting attempt moves to now; a recurring job gets an extra occurrence). */
  triggerJob(id: number, opts: CallOptions = {}): Promise<Execution> {
    return this.post(`/jobs/${segment(id)}/trigger`, opts);
  }

  /** `POST /jobs/{id}/pause`: a recurring job stops making occurrences. */
  pauseJob(id: number, opts: CallOptions = {}): Promise<Job> {
    return this.post(`/jobs/${segment(id)}/pause`, opts);
  }

  /** `POST /jobs/{id}/resume`: back on schedule from the next occurrence after now. */
  resumeJob(id: number, opts: CallOptions = {}): Promise<Job> {
    return this.post(`/jobs/${segment(id)}/resume`, opts);
  }

  /** `PATCH /jobs/{id}`: a recurring job's new expression, interval, time zone or policies. */
  updateJob(id: number, changes: UpdateJobInput, opts: CallOptions = {}): Promise<Job> {
    return this.send({
      method: 'PATCH',
      path: `/jobs/${segment(id)}`,
      body: changes,
      // Setting the same values twice leaves the job as setting them once.
      idempotent: true,
      ...call(opts),
    });
  }

  // ---- executions

  /** Every execution (attempt) of a job, newest first, fetched a page at a time as you iterate. */
  listJobExecutions(jobId: number, opts: ListOptions = {}): AsyncGenerator<Execution, void, undefined> {
    return paginate(
      (cursor) => this.listJobExecutionsPage(jobId, { ...opts, limit: opts.pageSize ?? 100, cursor }),
      opts,
    );
  }

  /** `GET /jobs/{id}/executions`: one page of a job's executions, newest first. */
  listJobExecutionsPage(jobId: number, opts: PageOptions = {}): Promise<Page<Execution>> {
    return this.send({
      method: 'GET',
      path: `/jobs/${segment(jobId)}/executions`,
      query: { limit: opts.limit, cursor: opts.cursor },
      idempotent: true,
      ...call(opts),
    });
  }

  /** `GET /executions/{id}`: one execution, with its result or error and progress. */
  getExecution(id: number, opts: CallOptions = {}): Promise<Execution> {
    return this.get(`/executions/${segment(id)}`, opts);
  }

  /** `GET /executions/active`: running executions with their runners. */
  async listActiveExecutions(opts: CallOptions & { limit?: number } = {}): Promise<ActiveExecution[]> {
    const reply = await this.send<{ items: ActiveExecution[] }>({
      method: 'GET',
      path: '/executions/active',
      query: { limit: opts.limit },
      idempotent: true,
      ...call(opts),
    });
    return reply.items;
  }

  // ---- timers

  /** `POST /timers`: POST to `url` once, after `hours` + `minutes` + `seconds`. */
  createTimer(timer: CreateTimerInput, opts: CreateOptions = {}): Promise<CreatedTimer> {
    const idempotencyKey = opts.idempotencyKey ?? timer.idempotencyKey ?? newIdempotencyKey();
    return this.send({
      method: 'POST',
      path: '/timers',
      body: timer,
      headers: { 'idempotency-key': idempotencyKey },
      idempotent: true,
      ...call(opts),
    });
  }

  /** `GET /timers/{id}`: the countdown (`time_left`, whole seconds) and status of a timer. */
  getTimer(id: number, opts: CallOptions = {}): Promise<Timer> {
    return this.get(`/timers/${segment(id)}`, opts);
  }

  // ---- dead letters

  /** Every dead-lettered execution, newest first, fetched a page at a time as you iterate. */
  listDeadLetters(
    filter: DeadLetterFilter = {},
    opts: ListOptions = {},
  ): AsyncGenerator<DeadLetter, void, undefined> {
    return paginate(
      (cursor) => this.listDeadLettersPage(filter, { ...opts, limit: opts.pageSize ?? 100, cursor }),
      opts,
    );
  }

  /** `GET /dead-letters`: one page, newest first (requeued ones only with `includeRequeued`). */
  listDeadLettersPage(filter: DeadLetterFilter = {}, opts: PageOptions = {}): Promise<Page<DeadLetter>> {
    return this.send({
      method: 'GET',
      path: '/dead-letters',
      query: { includeRequeued: filter.includeRequeued, limit: opts.limit, cursor: opts.cursor },
      idempotent: true,
      ...call(opts),
    });
  }

  /** `POST /dead-letters/{id}/requeue`: run the job again with a fresh retry budget. 409 if already requeued. */
  requeueDeadLetter(id: number, opts: CallOptions = {}): Promise<Execution> {
    return this.post(`/dead-letters/${segment(id)}/requeue`, opts);
  }

  // ---- runners and job types

  /** `GET /runners`: runners with status and load (OFFLINE ones only with `includeOffline`). */
  async listRunners(filter: { includeOffline?: boolean } = {}, opts: CallOptions = {}): Promise<Runner[]> {
    const reply = await this.send<{ items: Runner[] }>({
      method: 'GET',
      path: '/runners',
      query: { includeOffline: filter.includeOffline },
      idempotent: true,
      ...call(opts),
    });
    return reply.items;
  }

  /** `POST /runners/{id}/drain` (admin): the runner finishes what it holds and stops. */
  drainRunner(id: string, opts: CallOptions = {}): Promise<DrainedRunner> {
    return this.post(`/runners/${segment(id)}/drain`, opts);
  }

  /** `GET /job-types`: every type seen, its payload JSON Schema, the runners serving it and its backlog. */
  async listJobTypes(opts: CallOptions = {}): Promise<JobType[]> {
    return (await this.get<{ items: JobType[] }>('/job-types', opts)).items;
  }

  // ---- queues

  /** `GET /queues`: every queue (up to 1,000, by name) with its limits and live counts. */
  async listQueues(opts: CallOptions = {}): Promise<{ items: Queue[]; truncated: boolean }> {
    return this.get('/queues', opts);
  }

  /** `GET /queues/{name}`: one queue; 404 for a name no job or setting ever used. */
  getQueue(name: string, opts: CallOptions = {}): Promise<Queue> {
    return this.get(`/queues/${segment(name)}`, opts);
  }

  /** `PUT /queues/{name}` (admin): replaces the queue's limits (left out: none). Safe to send again. */
  configureQueue(name: string, settings: QueueSettingsInput, opts: CallOptions = {}): Promise<Queue> {
    return this.send({
      method: 'PUT',
      path: `/queues/${segment(name)}`,
      body: settings,
      idempotent: true,
      ...call(opts),
    });
  }

  /** `POST /queues/{name}/pause` (admin): no claim takes from the queue once this answers. Safe to send again. */
  pauseQueue(name: string, opts: CallOptions = {}): Promise<Queue> {
    return this.send({
      method: 'POST',
      path: `/queues/${segment(name)}/pause`,
      idempotent: true,
      ...call(opts),
    });
  }

  /** `POST /queues/{name}/resume` (admin): claims take from it again; waiting runners are woken. */
  resumeQueue(name: string, opts: CallOptions = {}): Promise<Queue> {
    return this.send({
      method: 'POST',
      path: `/queues/${segment(name)}/resume`,
      idempotent: true,
      ...call(opts),
    });
  }

  // ---- overview

  /** `GET /auth/me`: the key this client sends, its name and scopes (what it may do). Any key may ask. */
  getMe(opts: CallOptions = {}): Promise<Me> {
    return this.get('/auth/me', opts);
  }

  /** `GET /stats`: jobs by status and the last hour's finished executions per minute. */
  getStats(opts: CallOptions = {}): Promise<Stats> {
    return this.get('/stats', opts);
  }

  // ---- API keys (admin)

  /** `POST /api-keys` (admin): a new key; its secret (`key`) is in this answer only. */
  createApiKey(input: CreateApiKeyInput, opts: CallOptions = {}): Promise<CreatedApiKey> {
    // Not retried after a lost answer: a second request would make a second key.
    return this.send({ method: 'POST', path: '/api-keys', body: input, idempotent: false, ...call(opts) });
  }

  /** `GET /api-keys` (admin): every key, never its secret. */
  async listApiKeys(opts: CallOptions = {}): Promise<ApiKey[]> {
    return (await this.get<{ items: ApiKey[] }>('/api-keys', opts)).items;
  }

  /** `DELETE /api-keys/{id}` (admin): the key stops working (within 10 s on every replica). */
  async revokeApiKey(id: number, opts: CallOptions = {}): Promise<void> {
    await this.send({ method: 'DELETE', path: `/api-keys/${segment(id)}`, idempotent: false, ...call(opts) });
  }

  // ----

  private get<T>(path: string, opts: CallOptions): Promise<T> {
    return this.send({ method: 'GET', path, idempotent: true, ...call(opts) });
  }

  /** A state change without a body; sending it twice may answer 409 the second time, so it is not retried. */
  private post<T>(path: string, opts: CallOptions): Promise<T> {
    return this.send({ method: 'POST', path, idempotent: false, ...call(opts) });
  }

  private send<T>(spec: RequestSpec): Promise<T> {
    return this.transport.request<T>(spec);
  }
}

/** Only the per-call options, whatever else the caller's object holds. */
function call(opts: CallOptions): CallOptions {
  return { signal: opts.signal, timeoutMs: opts.timeoutMs };
}

function segment(id: number | string): string {
  return encodeURIComponent(String(id));
}

async function* paginate<T>(
  page: (cursor: number | undefined) => Promise<Page<T>>,
  opts: { cursor?: number },
): AsyncGenerator<T, void, undefined> {
  let cursor = opts.cursor;
  for (;;) {
    const { items, nextCursor } = await page(cursor);
    yield* items;
    if (nextCursor === null) return;
    cursor = nextCursor;
  }
}
