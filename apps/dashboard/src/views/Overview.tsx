import { Link } from 'wouter';
import { ThroughputChart } from '../components/chart';
import { ProblemNote, Status } from '../components/ui';
import { duration, JOB_STATUSES } from '../format';
import { useJobTypes, useRunners, useStats } from '../queries';

export function Overview() {
  const stats = useStats();
  const types = useJobTypes();
  const runners = useRunners();
  const buckets = stats.data?.throughput ?? [];
  const finished = buckets.reduce((n, b) => n + b.succeeded + b.failed, 0);
  const failed = buckets.reduce((n, b) => n + b.failed, 0);
  const capacity = (runners.data ?? []).reduce((n, r) => n + (r.status === 'ONLINE' ? r.capacity : 0), 0);
  const running = (runners.data ?? []).reduce((n, r) => n + r.running, 0);
  return (
    <>
      <h1>Overview</h1>
      <ProblemNote error={stats.error} />
      <section aria-labelledby="counts-title">
        <h2 id="counts-title" className="visually-hidden">
          Jobs by status
        </h2>
        <ul className="cards" data-testid="status-counts">
          {JOB_STATUSES.map((s) => (
            <li key={s} className="card count">
              <Link href={`/jobs?status=${s}`} aria-label={`${stats.data?.jobs[s] ?? 0} ${s} jobs`}>
                <span className="big">{stats.data ? stats.data.jobs[s].toLocaleString() : '…'}</span>
                <Status value={s} />
              </Link>
            </li>
          ))}
        </ul>
      </section>
      <section className="card" aria-labelledby="throughput-title">
        <h2 id="throughput-title">Throughput, last hour</h2>
        <p className="muted small">
          {finished.toLocaleString()} attempts finished, {failed.toLocaleString()} failed
          {finished > 0 ? ` (${((failed / finished) * 100).toFixed(1)}%)` : ''}.
          {stats.data?.throughputSampleFull
            ? ` Counted among the newest ${stats.data.throughputSample.toLocaleString()} executions.`
            : ''}
        </p>
        <ThroughputChart buckets={buckets} />
      </section>
      <div className="grid-2">
        <section className="card" aria-labelledby="types-title">
          <h2 id="types-title">Job types</h2>
          <ProblemNote error={types.error} />
          <div className="table-wrap">
            <table className="data">
              <thead>
                <tr>
                  <th scope="col">Type</th>
                  <th scope="col">Due backlog</th>
                  <th scope="col">Oldest due</th>
                  <th scope="col">Runners</th>
                </tr>
              </thead>
              <tbody>
                {(types.data ?? []).map((t) => (
                  <tr key={t.name}>
                    <td data-label="Type">
                      <Link href={`/jobs?type=${encodeURIComponent(t.name)}`}>{t.name}</Link>
                    </td>
                    <td data-label="Due backlog">{t.dueBacklog.toLocaleString()}</td>
                    <td data-label="Oldest due">
                      {t.oldestDueAgeSeconds === null ? '–' : duration(t.oldestDueAgeSeconds * 1000)}
                    </td>
                    <td data-label="Runners">{t.runners.length}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </section>
        <section className="card" aria-labelledby="runners-title">
          <h2 id="runners-title">Runners</h2>
          <p className="muted small">
            {running} running of {capacity} slots on{' '}
            {(runners.data ?? []).filter((r) => r.status === 'ONLINE').length} online runners
          </p>
          <ProblemNote error={runners.error} />
          <ul className="plain">
            {(runners.data ?? []).map((r) => (
              <li key={r.id} className="runner-line">
                <Link href="/runners">{r.name}</Link> <Status value={r.status} />
                <meter
                  min={0}
                  max={Math.max(1, r.capacity)}
                  value={r.running}
                  aria-label={`${r.name} load`}
                />
                <span className="small muted">
                  {r.running}/{r.capacity}
                </span>
              </li>
            ))}
          </ul>
        </section>
      </div>
    </>
  );
}
