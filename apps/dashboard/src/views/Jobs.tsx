import type { Job, JobFilter, JobKind, JobStatus } from '@hourglass/client';
import { createColumnHelper } from '@tanstack/react-table';
import { type FormEvent, useState } from 'react';
import { Link, useLocation, useSearch } from 'wouter';
import { DataTable } from '../components/table';
import { Pager, ProblemNote, Status } from '../components/ui';
import { JOB_STATUSES, relative, timestamp } from '../format';
import { useJobsPage, useJobTypes } from '../queries';

const KINDS: JobKind[] = ['once', 'cron', 'interval'];

const col = createColumnHelper<Job>();
const columns = [
  col.accessor('id', {
    header: 'Job',
    cell: (c) => <Link href={`/jobs/${c.getValue()}`}>#{c.getValue()}</Link>,
  }),
  col.accessor('type', { header: 'Type' }),
  col.accessor('kind', { header: 'Kind' }),
  col.accessor('status', { header: 'Status', cell: (c) => <Status value={c.getValue()} /> }),
  col.accessor('createdAt', {
    header: 'Created',
    cell: (c) => (
      <time dateTime={c.getValue()} title={timestamp(c.getValue())}>
        {relative(c.getValue())}
      </time>
    ),
  }),
  col.display({
    id: 'next',
    header: 'Runs',
    cell: ({ row: { original: j } }) =>
      j.nextRunAt
        ? `next ${relative(j.nextRunAt)}`
        : j.finishedAt
          ? `finished ${relative(j.finishedAt)}`
          : relative(j.runAt),
  }),
  col.accessor('idempotencyKey', {
    header: 'Idempotency key',
    cell: (c) => <span className="mono small">{c.getValue() ?? ''}</span>,
  }),
];

/** The filters live in the URL (`/ui/jobs?status=FAILED&type=sleep`), so a filtered list can be linked. */
function filterFrom(search: string): JobFilter {
  const p = new URLSearchParams(search);
  const f: JobFilter = {};
  const status = p.get('status');
  const kind = p.get('kind');
  if (status && (JOB_STATUSES as readonly string[]).includes(status)) f.status = status as JobStatus;
  if (kind && (KINDS as string[]).includes(kind)) f.kind = kind as JobKind;
  if (p.get('type')) f.type = p.get('type')!;
  if (p.get('q')) f.q = p.get('q')!;
  return f;
}

export function Jobs() {
  const search = useSearch();
  const [, navigate] = useLocation();
  const filter = filterFrom(search);
  const [cursors, setCursors] = useState<(number | undefined)[]>([undefined]);
  const [q, setQ] = useState(filter.q ?? '');
  const [pagesOf, setPagesOf] = useState(search);
  // Another filter (a link, back and forward) starts again at the newest page, with its own search text.
  if (pagesOf !== search) {
    setPagesOf(search);
    setCursors([undefined]);
    setQ(filter.q ?? '');
  }
  const jobs = useJobsPage(filter, cursors.at(-1));
  const types = useJobTypes();

  const setFilter = (change: Partial<Record<keyof JobFilter, string>>) => {
    const p = new URLSearchParams(search);
    for (const [k, v] of Object.entries(change)) {
      if (v) p.set(k, v);
      else p.delete(k);
    }
    const qs = p.toString();
    navigate(qs ? `/jobs?${qs}` : '/jobs');
  };
  const submitSearch = (e: FormEvent) => {
    e.preventDefault();
    setFilter({ q: q.trim() });
  };

  return (
    <>
      <div className="row spread">
        <h1>Jobs</h1>
        <Link href="/jobs/new" className="button primary">
          Create a job
        </Link>
      </div>
      <div className="filters card">
        <label>
          Status
          <select value={filter.status ?? ''} onChange={(e) => setFilter({ status: e.target.value })}>
            <option value="">any</option>
            {JOB_STATUSES.map((s) => (
              <option key={s}>{s}</option>
            ))}
          </select>
        </label>
        <label>
          Type
          <select value={filter.type ?? ''} onChange={(e) => setFilter({ type: e.target.value })}>
            <option value="">any</option>
            {(types.data ?? []).map((t) => (
              <option key={t.name}>{t.name}</option>
            ))}
            {filter.type && !(types.data ?? []).some((t) => t.name === filter.type) && (
              <option>{filter.type}</option>
            )}
          </select>
        </label>
        <label>
          Kind
          <select value={filter.kind ?? ''} onChange={(e) => setFilter({ kind: e.target.value })}>
            <option value="">any</option>
            {KINDS.map((k) => (
              <option key={k}>{k}</option>
            ))}
          </select>
        </label>
        <search className="search">
          <form onSubmit={submitSearch}>
            <label>
              Id or idempotency key
              <input
                type="search"
                value={q}
                onChange={(e) => setQ(e.target.value)}
                placeholder="42 or order-4711"
              />
            </label>
            <button type="submit">Find</button>
          </form>
        </search>
      </div>
      <ProblemNote error={jobs.error} />
      <DataTable
        data={jobs.data?.items ?? []}
        columns={columns}
        caption="Jobs, newest first"
        empty={jobs.isPending ? 'Loading…' : 'No jobs match.'}
        rowKey={(j) => j.id}
      />
      <Pager cursors={cursors} nextCursor={jobs.data?.nextCursor} onChange={setCursors} />
    </>
  );
}
