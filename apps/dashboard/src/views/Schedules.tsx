import type { Job } from '@hourglass/client';
import { createColumnHelper } from '@tanstack/react-table';
import { Link } from 'wouter';
import { DataTable } from '../components/table';
import { ProblemNote, Status, useNow } from '../components/ui';
import { relative, timestamp } from '../format';
import { useJobsPage } from '../queries';

const col = createColumnHelper<Job>();

/** Recurring jobs (cron and interval) with their next runs; pause, resume and trigger are on each job's page. */
export function Schedules() {
  const now = useNow(1_000);
  const cron = useJobsPage({ kind: 'cron' }, undefined, 100);
  const interval = useJobsPage({ kind: 'interval' }, undefined, 100);
  const rows = [...(cron.data?.items ?? []), ...(interval.data?.items ?? [])].sort((a, b) => {
    // Live schedules first, soonest next run first; ended ones after.
    const an = a.nextRunAt ? Date.parse(a.nextRunAt) : Number.POSITIVE_INFINITY;
    const bn = b.nextRunAt ? Date.parse(b.nextRunAt) : Number.POSITIVE_INFINITY;
    return an - bn || b.id - a.id;
  });
  const columns = [
    col.accessor('id', {
      header: 'Job',
      cell: (c) => <Link href={`/jobs/${c.getValue()}`}>#{c.getValue()}</Link>,
    }),
    col.accessor('type', { header: 'Type' }),
    col.display({
      id: 'schedule',
      header: 'Schedule',
      cell: ({ row: { original: j } }) =>
        j.schedule?.scheduleExpression ? (
          <>
            <code>{j.schedule.scheduleExpression}</code>{' '}
            <span className="muted small">{j.schedule.timezone ?? 'UTC'}</span>
          </>
        ) : (
          `every ${j.schedule?.intervalSeconds ?? '?'} s`
        ),
    }),
    col.accessor('status', { header: 'Status', cell: (c) => <Status value={c.getValue()} /> }),
    col.accessor('nextRunAt', {
      header: 'Next run',
      cell: (c) =>
        c.getValue() ? (
          <time dateTime={c.getValue()!} title={timestamp(c.getValue())}>
            {relative(c.getValue(), now)}
          </time>
        ) : (
          '–'
        ),
    }),
  ];
  return (
    <>
      <h1>Schedules</h1>
      <ProblemNote error={cron.error ?? interval.error} />
      <DataTable
        data={rows}
        columns={columns}
        caption="Recurring jobs by next run"
        empty={
          cron.isPending ? 'Loading…' : 'No recurring jobs. Create one with a cron expression or an interval.'
        }
        rowKey={(j) => j.id}
      />
    </>
  );
}
