import type { Runner } from '@hourglass/client';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { createColumnHelper } from '@tanstack/react-table';
import { useState } from 'react';
import { useSession } from '../auth';
import { DataTable } from '../components/table';
import { ConfirmButton, ProblemNote, Status, useNow } from '../components/ui';
import { relative, timestamp } from '../format';
import { useRunners } from '../queries';

const col = createColumnHelper<Runner>();

export function Runners() {
  const { client, isAdmin } = useSession();
  const queryClient = useQueryClient();
  const now = useNow(5_000);
  const [includeOffline, setIncludeOffline] = useState(false);
  const runners = useRunners(includeOffline);
  const drain = useMutation({
    mutationFn: (id: string) => client.drainRunner(id),
    onSettled: () => void queryClient.invalidateQueries({ queryKey: ['runners'] }),
  });
  const columns = [
    col.accessor('name', { header: 'Runner', cell: (c) => <strong>{c.getValue()}</strong> }),
    col.accessor('host', { header: 'Host' }),
    col.accessor('status', { header: 'Status', cell: (c) => <Status value={c.getValue()} /> }),
    col.display({
      id: 'load',
      header: 'Running',
      cell: ({ row: { original: r } }) => (
        <span className="row">
          <meter min={0} max={Math.max(1, r.capacity)} value={r.running} aria-label={`${r.name} load`} />
          <span>
            {r.running}/{r.capacity}
          </span>
        </span>
      ),
    }),
    col.accessor('types', {
      header: 'Types',
      cell: (c) => <span className="small">{c.getValue().join(', ')}</span>,
    }),
    col.accessor('lastHeartbeatAt', {
      header: 'Last heartbeat',
      cell: (c) => (
        <time dateTime={c.getValue()} title={timestamp(c.getValue())}>
          {relative(c.getValue(), now)}
        </time>
      ),
    }),
    // Draining is admin-only: a client key does not see the column at all.
    ...(isAdmin
      ? [
          col.display({
            id: 'drain',
            header: 'Action',
            cell: ({ row: { original: r } }) =>
              r.status === 'ONLINE' ? (
                <ConfirmButton
                  label="Drain"
                  question={`Drain runner ${r.name}? It finishes what it holds, takes nothing new, and stops.`}
                  disabled={drain.isPending}
                  onConfirm={() => drain.mutate(r.id)}
                />
              ) : null,
          }),
        ]
      : []),
  ];
  return (
    <>
      <h1>Runners</h1>
      <label className="inline">
        <input
          type="checkbox"
          checked={includeOffline}
          onChange={(e) => setIncludeOffline(e.target.checked)}
        />{' '}
        Show offline runners too
      </label>
      <ProblemNote error={runners.error ?? drain.error} />
      <DataTable
        data={runners.data ?? []}
        columns={columns}
        caption="Runners"
        empty={runners.isPending ? 'Loading…' : 'No runner is connected.'}
        rowKey={(r) => r.id}
      />
    </>
  );
}
