import type { JobFilter } from '@hourglass/client';
import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { useSession } from './auth';
import { usePollInterval } from './live';

/**
 * Every read the views make, with the query keys live.tsx invalidates: ['stats'], ['jobs', …], ['job', id, …],
 * ['runners'], ['job-types'], ['queues'], ['dead-letters', …], ['timers', …]. Each refetches on the live interval.
 */
export function useStats() {
  const { client } = useSession();
  return useQuery({
    queryKey: ['stats'],
    queryFn: ({ signal }) => client.getStats({ signal }),
    refetchInterval: usePollInterval(),
  });
}

export function useJobTypes() {
  const { client } = useSession();
  return useQuery({
    queryKey: ['job-types'],
    queryFn: ({ signal }) => client.listJobTypes({ signal }),
    refetchInterval: usePollInterval(),
  });
}

export function useQueues() {
  const { client } = useSession();
  return useQuery({
    queryKey: ['queues'],
    queryFn: ({ signal }) => client.listQueues({ signal }),
    refetchInterval: usePollInterval(),
  });
}

export function useRunners(includeOffline = false) {
  const { client } = useSession();
  return useQuery({
    queryKey: ['runners', { includeOffline }],
    queryFn: ({ signal }) => client.listRunners({ includeOffline }, { signal }),
    refetchInterval: usePollInterval(),
  });
}

/** One page of jobs; the previous page stays on screen while the next loads. */
export function useJobsPage(
  filter: JobFilter,
  cursor: number | undefined,
  limit = 25,
  key: 'jobs' | 'timers' = 'jobs',
) {
  const { client } = useSession();
  return useQuery({
    queryKey: [key, filter, cursor, limit],
    queryFn: ({ signal }) => client.listJobsPage(filter, { cursor, limit, signal }),
    placeholderData: keepPreviousData,
    refetchInterval: usePollInterval(),
  });
}

export function useJob(id: number) {
  const { client } = useSession();
  return useQuery({
    queryKey: ['job', id],
    queryFn: ({ signal }) => client.getJob(id, { signal }),
    refetchInterval: usePollInterval(),
  });
}

export function useJobExecutions(id: number) {
  const { client } = useSession();
  return useQuery({
    queryKey: ['job', id, 'executions'],
    queryFn: ({ signal }) => client.listJobExecutionsPage(id, { limit: 100, signal }),
    refetchInterval: usePollInterval(),
  });
}

export function useDeadLetters(includeRequeued: boolean, cursor: number | undefined) {
  const { client } = useSession();
  return useQuery({
    queryKey: ['dead-letters', { includeRequeued }, cursor],
    queryFn: ({ signal }) => client.listDeadLettersPage({ includeRequeued }, { cursor, limit: 25, signal }),
    placeholderData: keepPreviousData,
    refetchInterval: usePollInterval(),
  });
}
