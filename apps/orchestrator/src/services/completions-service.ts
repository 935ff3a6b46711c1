import type { CompletionVerdict, ExecutionStatus, Outcome } from '@hourglass/contracts';
import type { JobLifecycle } from '../lifecycle/job-lifecycle.js';
import { type Metrics, recordFinished } from '../metrics.js';
import type { CompletionInput } from '../queue/complete-executions.js';
import type { JobWaiters } from './job-waiters.js';
import type { ReadySignal } from './ready-signal.js';

export interface CompletionResult {
  executionId: number;
  verdict: CompletionVerdict;
  status: ExecutionStatus | null;
}

/** Records runner reports: fenced, idempotent and set-based (one transaction per batch, whatever its size). */
export class CompletionsService {
  constructor(
    private readonly lifecycle: JobLifecycle,
    private readonly signal: ReadySignal,
    private readonly waiters: JobWaiters,
    private readonly metrics: Metrics,
  ) {}

  async complete(
    runnerId: string,
    reports: { executionId: number; outcome: Outcome }[],
  ): Promise<CompletionResult[]> {
    // A batch naming one execution twice keeps the first report; the second is judged against it below.
    const inputs = new Map<number, CompletionInput>();
    for (const r of reports) {
      if (inputs.has(r.executionId)) continue;
      inputs.set(r.executionId, completionInput(r.executionId, r.outcome));
    }
    const { recorded, prior, retries, cancelledDependents } = await this.lifecycle.complete(runnerId, [
      ...inputs.values(),
    ]);
    this.signal.announce(retries.filter((r) => r.ready).map((r) => r.scheduled_for.getTime()));
    // Completion callbacks created by the report are due now (0: wake claimers at once).
    if ((recorded[0]?.callbacks ?? 0) > 0) this.signal.announce([0]);
    // Runners waiting because a queue was at its concurrency limit can claim now (issue 14).
    if (recorded.some((r) => r.frees_limited_slot)) this.signal.announce([0]);
    // Dependents a failed parent cancelled (flows) are final too: `GET /jobs/{id}?wait=` on them answers now.
    this.waiters.changed([...recorded.map((r) => r.job_id), ...cancelledDependents]);
    recordFinished(this.metrics, recorded);

    const recordedIds = new Map(recorded.map((r) => [r.id, r.status]));
    const priorById = new Map(prior.map((p) => [p.id, p]));
    const answered = new Set<number>();
    return reports.map(({ executionId, outcome }) => {
      const firstReport = !answered.has(executionId);
      answered.add(executionId);
      const status = recordedIds.get(executionId);
      if (status && firstReport) return { executionId, verdict: 'recorded', status };
      const p = priorById.get(executionId);
      const current = status ?? p?.status ?? null;
      // The holder repeating the report it already made (a retried HTTP call) gets the same answer.
      const holder = status ? true : p?.runner_id === runnerId;
      const verdict: CompletionVerdict = holder && current === outcome.status ? 'duplicate' : 'conflict';
      return { executionId, verdict, status: current };
    });
  }
}

/** A report as the queue stores it. A permanent failure without a code of its own is stored as `PERMANENT`. */
function completionInput(id: number, outcome: Outcome): CompletionInput {
  switch (outcome.status) {
    case 'SUCCEEDED':
      return base(id, outcome, { result: outcome.result });
    case 'CANCELLED':
      return base(id, outcome, { error: outcome.error ?? null });
    case 'FAILED': {
      const retryable = outcome.retryable !== false;
      return base(id, outcome, {
        error: outcome.error,
        retryable,
        error_code: outcome.code ?? (retryable ? null : 'PERMANENT'),
      });
    }
  }
}

function base(id: number, outcome: Outcome, fields: Partial<CompletionInput>): CompletionInput {
  return {
    id,
    status: outcome.status,
    error: null,
    result: null,
    started_at: outcome.startedAt ?? null,
    retryable: null,
    error_code: null,
    ...fields,
  };
}
