import type { Job } from '@hourglass/client';
import { createColumnHelper } from '@tanstack/react-table';
import { useState } from 'react';
import { Link } from 'wouter';
import { DataTable } from '../components/table';
import { Pager, ProblemNote, Status, useNow } from '../components/ui';
import { countdown, relative, timestamp } from '../format';
import { useJobsPage } from '../queries';

const col = createColumnHelper<Job>();

/** Timers are one-shot `webhook` jobs: the countdown runs in the page, from the fire time the API gave. */
export function Timers() {
  const now = useNow(1_000);
  const [cursors, setCursors] = useState<(number | undefined)[]>([undefined]);
  const timers = useJobsPage({ type: 'webhook', kind: 'once' }, cursors.at(-1), 25, 'timers');
  const columns = [
    col.accessor('id', {
      header: 'Timer',
      cell: (c) => <Link href={`/jobs/${c.getValue()}`}>#{c.getValue()}</Link>,
    }),
    col.display({
      id: 'url',
      header: 'URL',
      cell: ({ row: { original: j } }) => (
        <span className="mono small break">{String((j.payload as { url?: unknown } | null)?.url ?? '')}</span>
      ),
    }),
    col.accessor('status', { header: 'Status', cell: (c) => <Status value={c.getValue()} /> }),
    col.display({
      id: 'left',
      header: 'Time left',
      cell: ({ row: { original: j } }) =>
        j.status === 'SCHEDULED' ? (
          <span className="mono countdown" role="timer" aria-label={`fires ${relative(j.runAt, now)}`}>
            {countdown(Date.parse(j.runAt) - now)}
          </span>
        ) : (
          '–'
        ),
    }),
    col.accessor('runAt', {
      header: 'Fires at',
      cell: (c) => <time dateTime={c.getValue()}>{timestamp(c.getValue())}</time>,
    }),
  ];
  return (
    <>
      <h1>Timers</h1>
      <ProblemNote error={timers.error} />
      <DataTable
        data={timers.data?.items ?? []}
        columns={columns}
        caption="Timers, newest first"
        empty={timers.isPending ? 'Loading…' : 'No timers (POST /timers makes one).'}
        rowKey={(j) => j.id}
      />
      <Pager cursors={cursors} nextCursor={timers.data?.nextCursor} onChange={setCursors} />
    </>
  );
}
