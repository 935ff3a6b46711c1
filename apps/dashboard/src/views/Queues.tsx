import type { Queue } from '@hourglass/client';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { createColumnHelper } from '@tanstack/react-table';
import { useSession } from '../auth';
import { DataTable } from '../components/table';
import { ConfirmButton, ProblemNote, Status } from '../components/ui';
import { useQueues } from '../queries';

const col = createColumnHelper<Queue>();

/** A queue's limits in words ("—" without any). */
function limits(q: Queue): string {
  const parts: string[] = [];
  if (q.concurrency !== null) parts.push(`${q.concurrency} at once`);
  if (q.perKeyConcurrency !== null) parts.push(`${q.perKeyConcurrency} per key`);
  if (q.rateLimit)
    parts.push(
      `${q.rateLimit.limit} per ${q.rateLimit.periodMs / 1000} s${q.rateLimit.perKey ? ' per key' : ''}`,
    );
  return parts.length > 0 ? parts.join(', ') : '—';
}

/** Queues (issue 14): limits, live counts, pause and resume (admin). Limits are set with PUT /queues/{name}. */
export function Queues() {
  const { client, isAdmin } = useSession();
  const queryClient = useQueryClient();
  const queues = useQueues();
  const toggle = useMutation({
    mutationFn: (q: Queue) => (q.paused ? client.resumeQueue(q.name) : client.pauseQueue(q.name)),
    onSettled: () => void queryClient.invalidateQueries({ queryKey: ['queues'] }),
  });
  const count = (c: Queue, n: number) => (c.countsCapped && n >= 100_000 ? '100,000+' : n.toLocaleString());
  const columns = [
    col.accessor('name', { header: 'Queue', cell: (c) => <strong>{c.getValue()}</strong> }),
    col.accessor('paused', {
      header: 'State',
      cell: (c) => <Status value={c.getValue() ? 'PAUSED' : 'OPEN'} />,
    }),
    col.display({ id: 'limits', header: 'Limits', cell: ({ row: { original: q } }) => limits(q) }),
    col.display({ id: 'due', header: 'Due', cell: ({ row: { original: q } }) => count(q, q.counts.due) }),
    col.display({
      id: 'running',
      header: 'Running',
      cell: ({ row: { original: q } }) => count(q, q.counts.running),
    }),
    col.display({
      id: 'scheduled',
      header: 'Scheduled',
      cell: ({ row: { original: q } }) => count(q, q.counts.scheduled),
    }),
    col.display({
      id: 'failed',
      header: 'Failed',
      cell: ({ row: { original: q } }) => count(q, q.counts.failed),
    }),
    // Pausing is admin-only: a client key does not see the column at all.
    ...(isAdmin
      ? [
          col.display({
            id: 'action',
            header: 'Action',
            cell: ({ row: { original: q } }) => (
              <ConfirmButton
                label={q.paused ? 'Resume' : 'Pause'}
                question={
                  q.paused
                    ? `Resume queue ${q.name}? Runners take its jobs again at once.`
                    : `Pause queue ${q.name}? No job of it starts until it is resumed; running ones finish.`
                }
                disabled={toggle.isPending}
                onConfirm={() => toggle.mutate(q)}
              />
            ),
          }),
        ]
      : []),
  ];
  return (
    <>
      <h1>Queues</h1>
      <p className="small">
        Every queue a job or a setting named, with its limits and what it holds now. Limits are set with{' '}
        <code>PUT /queues/&lt;name&gt;</code> (admin).
        {queues.data?.truncated ? ' Only the first 1,000 queues by name are shown.' : ''}
      </p>
      <ProblemNote error={queues.error ?? toggle.error} />
      <DataTable
        data={queues.data?.items ?? []}
        columns={columns}
        caption="Queues"
        empty={queues.isPending ? 'Loading…' : 'No queue yet.'}
        rowKey={(q) => q.name}
      />
    </>
  );
}
