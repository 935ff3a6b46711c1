import type { Execution, Job } from '@hourglass/client';
import { isFinal } from '@hourglass/client';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { Link } from 'wouter';
import { useSession } from '../auth';
import { ConfirmButton, JsonBlock, ProblemNote, Status } from '../components/ui';
import { between, relative, timestamp } from '../format';
import { useJob, useJobExecutions, useRunners } from '../queries';

export function JobDetail({ id }: { id: number }) {
  const job = useJob(id);
  const executions = useJobExecutions(id);
  if (job.isPending) return <p className="muted">Loading job #{id}…</p>;
  if (job.isError) {
    return (
      <>
        <h1>Job #{id}</h1>
        <ProblemNote error={job.error} />
      </>
    );
  }
  const j = job.data;
  return (
    <>
      <div className="row spread">
        <h1>
          Job #{j.id} <span className="muted">{j.type}</span>
        </h1>
        <Status value={j.status} />
      </div>
      <JobActions job={j} />
      <section className="card">
        <h2>Summary</h2>
        <dl className="facts">
          <dt>Kind</dt>
          <dd>
            {j.kind}
            {j.schedule?.scheduleExpression && (
              <>
                {' '}
                <code>{j.schedule.scheduleExpression}</code> ({j.schedule.timezone ?? 'UTC'})
              </>
            )}
            {j.schedule?.intervalSeconds && <> every {j.schedule.intervalSeconds} s</>}
          </dd>
          <dt>Created</dt>
          <dd>{timestamp(j.createdAt)}</dd>
          <dt>{j.kind === 'once' ? 'Runs at' : 'Next run'}</dt>
          <dd>
            {j.kind === 'once'
              ? timestamp(j.runAt)
              : j.nextRunAt
                ? `${timestamp(j.nextRunAt)} (${relative(j.nextRunAt)})`
                : '–'}
          </dd>
          <dt>Finished</dt>
          <dd>{timestamp(j.finishedAt)}</dd>
          <dt>Attempts allowed</dt>
          <dd>{j.maxAttempts}</dd>
          <dt>Priority</dt>
          <dd>{j.priority}</dd>
          <dt>Idempotency key</dt>
          <dd className="mono">{j.idempotencyKey ?? '–'}</dd>
        </dl>
        <JsonBlock value={j.payload} label="Payload" />
      </section>
      <section className="card" aria-labelledby="timeline-title">
        <h2 id="timeline-title">Execution timeline</h2>
        <ProblemNote error={executions.error} />
        {executions.data && executions.data.items.length === 0 && <p className="muted">No attempt yet.</p>}
        <ol className="timeline" data-testid="timeline">
          {(executions.data?.items ?? []).map((e) => (
            <Attempt key={e.id} e={e} />
          ))}
        </ol>
      </section>
    </>
  );
}

function Attempt({ e }: { e: Execution }) {
  const runners = useRunners(true);
  const runner = runners.data?.find((r) => r.id === e.runnerId);
  return (
    <li className={`attempt attempt-${e.status.toLowerCase()}`}>
      <div className="row spread">
        <strong>
          Attempt {e.attempt} <span className="muted small">execution #{e.id}</span>
        </strong>
        <Status value={e.status} />
      </div>
      <dl className="facts small">
        <dt>Due</dt>
        <dd>{timestamp(e.scheduledFor)}</dd>
        <dt>Runner</dt>
        <dd>
          {e.runnerId ? (
            runner ? (
              `${runner.name} (${runner.host})`
            ) : (
              <span className="mono">{e.runnerId}</span>
            )
          ) : (
            '–'
          )}
        </dd>
        <dt>Waited</dt>
        <dd>{between(e.scheduledFor, e.claimedAt)}</dd>
        <dt>Ran</dt>
        <dd>{between(e.startedAt ?? e.claimedAt, e.finishedAt)}</dd>
        <dt>Finished</dt>
        <dd>{timestamp(e.finishedAt)}</dd>
        {e.errorCode && (
          <>
            <dt>Error code</dt>
            <dd className="mono">{e.errorCode}</dd>
          </>
        )}
      </dl>
      {e.error && (
        // biome-ignore lint/a11y/noNoninteractiveTabindex: a scrolling region must be reachable by keyboard to scroll it
        <pre className="error-text" tabIndex={0}>
          {e.error}
        </pre>
      )}
      {e.progress !== null && e.progress !== undefined && <JsonBlock value={e.progress} label="Progress" />}
      {e.status === 'SUCCEEDED' && <JsonBlock value={e.result} label="Result" />}
    </li>
  );
}

function JobActions({ job }: { job: Job }) {
  const { client } = useSession();
  const queryClient = useQueryClient();
  const act = useMutation({
    mutationFn: (action: 'cancel' | 'trigger' | 'pause' | 'resume'): Promise<unknown> =>
      action === 'cancel'
        ? client.cancelJob(job.id)
        : action === 'trigger'
          ? client.triggerJob(job.id)
          : action === 'pause'
            ? client.pauseJob(job.id)
            : client.resumeJob(job.id),
    onSettled: () => {
      void queryClient.invalidateQueries({ queryKey: ['job', job.id] });
      void queryClient.invalidateQueries({ queryKey: ['jobs'] });
      void queryClient.invalidateQueries({ queryKey: ['stats'] });
    },
  });
  const recurring = job.kind !== 'once';
  const final = isFinal(job.status);
  return (
    <fieldset className="row actions">
      <legend className="visually-hidden">Actions</legend>
      <button
        type="button"
        disabled={act.isPending || job.status === 'RUNNING' || job.status === 'CANCELLED'}
        onClick={() => act.mutate('trigger')}
      >
        Run now
      </button>
      {recurring && job.status === 'PAUSED' && (
        <button type="button" disabled={act.isPending} onClick={() => act.mutate('resume')}>
          Resume
        </button>
      )}
      {recurring && job.status !== 'PAUSED' && !final && (
        <ConfirmButton
          label="Pause"
          question={`Pause job #${job.id}? Occurrences not yet started are cancelled; what falls during the pause is not run.`}
          disabled={act.isPending}
          onConfirm={() => act.mutate('pause')}
        />
      )}
      {!final && (
        <ConfirmButton
          label="Cancel job"
          question={`Cancel job #${job.id}? Waiting attempts are cancelled and a running one is aborted. This cannot be undone.`}
          disabled={act.isPending}
          onConfirm={() => act.mutate('cancel')}
        />
      )}
      <Link href={`/jobs?type=${encodeURIComponent(job.type)}`} className="button">
        More {job.type} jobs
      </Link>
      <ProblemNote error={act.error} />
    </fieldset>
  );
}
