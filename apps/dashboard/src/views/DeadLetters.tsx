import type { DeadLetter } from '@hourglass/client';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { createColumnHelper } from '@tanstack/react-table';
import { useState } from 'react';
import { Link } from 'wouter';
import { useSession } from '../auth';
import { DataTable } from '../components/table';
import { ConfirmButton, Pager, ProblemNote } from '../components/ui';
import { relative, timestamp } from '../format';
import { useDeadLetters } from '../queries';

const col = createColumnHelper<DeadLetter>();

export function DeadLetters() {
  const { client } = useSession();
  const queryClient = useQueryClient();
  const [includeRequeued, setIncludeRequeued] = useState(false);
  const [cursors, setCursors] = useState<(number | undefined)[]>([undefined]);
  const letters = useDeadLetters(includeRequeued, cursors.at(-1));
  const requeue = useMutation({
    mutationFn: (id: number) => client.requeueDeadLetter(id),
    onSettled: () => {
      void queryClient.invalidateQueries({ queryKey: ['dead-letters'] });
      void queryClient.invalidateQueries({ queryKey: ['jobs'] });
      void queryClient.invalidateQueries({ queryKey: ['stats'] });
    },
  });
  const columns = [
    col.accessor('jobId', {
      header: 'Job',
      cell: (c) => <Link href={`/jobs/${c.getValue()}`}>#{c.getValue()}</Link>,
    }),
    col.accessor('type', { header: 'Type' }),
    col.accessor('attempts', { header: 'Attempts' }),
    col.accessor('error', {
      header: 'Last error',
      cell: (c) => <span className="break small">{c.getValue() ?? '–'}</span>,
    }),
    col.accessor('createdAt', {
      header: 'Dead since',
      cell: (c) => (
        <time dateTime={c.getValue()} title={timestamp(c.getValue())}>
          {relative(c.getValue())}
        </time>
      ),
    }),
    col.display({
      id: 'requeue',
      header: 'Action',
      cell: ({ row: { original: d } }) =>
        d.requeuedAt ? (
          <span className="muted small">requeued {relative(d.requeuedAt)}</span>
        ) : (
          <ConfirmButton
            label="Requeue"
            question={`Run job #${d.jobId} (${d.type}) again, with a fresh retry budget?`}
            danger={false}
            disabled={requeue.isPending}
            onConfirm={() => requeue.mutate(d.id)}
          />
        ),
    }),
  ];
  return (
    <>
      <h1>Dead letters</h1>
      <p className="muted">Jobs whose attempts ran out. Requeue one once its cause is fixed.</p>
      <label className="inline">
        <input
          type="checkbox"
          checked={includeRequeued}
          onChange={(e) => {
            setIncludeRequeued(e.target.checked);
            setCursors([undefined]);
          }}
        />{' '}
        Show requeued ones too
      </label>
      <ProblemNote error={letters.error ?? requeue.error} />
      <DataTable
        data={letters.data?.items ?? []}
        columns={columns}
        caption="Dead letters, newest first"
        empty={letters.isPending ? 'Loading…' : 'The dead-letter queue is empty.'}
        rowKey={(d) => d.id}
      />
      <Pager cursors={cursors} nextCursor={letters.data?.nextCursor} onChange={setCursors} />
    </>
  );
}
