import { EventStreamContentType, fetchEventSource } from '@microsoft/fetch-event-source';
import { type QueryClient, useQueryClient } from '@tanstack/react-query';
import { createContext, type ReactNode, useContext, useEffect, useState } from 'react';

/**
 * Live updates. The orchestrator's `GET /events` (Server-Sent Events) says what changed; each event marks the
 * queries it touches stale (TanStack Query then refetches the ones on screen). EventSource cannot send an
 * Authorization header, so the stream is read with fetch (@microsoft/fetch-event-source), which also resumes with
 * Last-Event-ID after a drop.
 *
 * Until the stream answers (an orchestrator without it answers 404; a proxy may cut it), every view also refetches
 * at a modest interval, so the dashboard is live either way; with the stream up, the interval is only a safety net.
 */
export type LiveMode = 'connecting' | 'stream' | 'polling';

/** How often views refetch without the stream, and with it (a safety net for missed or filtered events). */
export const POLL_MS = 5_000;
const SAFETY_NET_MS = 60_000;
/** After a 404 (no stream on this orchestrator), ask again this much later: it may be upgraded meanwhile. */
const UNAVAILABLE_RETRY_MS = 60_000;
/** Events are coalesced: many in a burst (a batch of 1,000 jobs) invalidate each query once. */
const FLUSH_MS = 300;

interface LiveEvent {
  id: number;
  kind: string;
  jobId?: number | null;
  jobType?: string | null;
  runnerId?: string | null;
}

const LiveContext = createContext<LiveMode>('connecting');

/** The refetch interval views should use now. */
export function usePollInterval(): number {
  return useContext(LiveContext) === 'stream' ? SAFETY_NET_MS : POLL_MS;
}

export function useLiveMode(): LiveMode {
  return useContext(LiveContext);
}

class StreamUnavailable extends Error {}

/** The query keys an event makes stale (see queries.ts for the keys). */
function staleKeys(e: LiveEvent): unknown[][] {
  const keys: unknown[][] = [['stats']];
  if (e.kind.startsWith('job.') || e.kind.startsWith('execution.') || e.kind === 'schedule.occurrence') {
    keys.push(['jobs'], ['job-types']);
    if (e.jobId) keys.push(['job', e.jobId]);
  }
  if (e.kind === 'job.dead_lettered' || e.kind === 'job.requeued' || e.kind === 'job.deleted')
    keys.push(['dead-letters']);
  if (e.kind.startsWith('runner.') || e.kind.startsWith('execution.')) keys.push(['runners']);
  if (e.kind.startsWith('runner.')) keys.push(['job-types']);
  if (e.kind === 'timer.fired' || e.jobType === 'webhook') keys.push(['timers']);
  // Queue counts move with every job and execution change; settings with queue.* events.
  if (e.kind.startsWith('queue.') || e.kind.startsWith('job.') || e.kind.startsWith('execution.'))
    keys.push(['queues']);
  return keys;
}

function coalescing(queryClient: QueryClient) {
  const pending = new Map<string, unknown[]>();
  let timer: ReturnType<typeof setTimeout> | undefined;
  return {
    add(e: LiveEvent) {
      for (const key of staleKeys(e)) pending.set(JSON.stringify(key), key);
      timer ??= setTimeout(() => {
        timer = undefined;
        const keys = [...pending.values()];
        pending.clear();
        for (const queryKey of keys) void queryClient.invalidateQueries({ queryKey });
      }, FLUSH_MS);
    },
    stop() {
      clearTimeout(timer);
    },
  };
}

export function LiveUpdates({ apiKey, children }: { apiKey: string | null; children: ReactNode }) {
  const queryClient = useQueryClient();
  const [mode, setMode] = useState<LiveMode>('connecting');

  useEffect(() => {
    const stop = new AbortController();
    const flush = coalescing(queryClient);
    let retry: ReturnType<typeof setTimeout> | undefined;
    const connect = () => {
      fetchEventSource('/events', {
        headers: apiKey ? { authorization: `Bearer ${apiKey}` } : {},
        signal: stop.signal,
        // Keep following while the tab is hidden: coming back to it shows what happened, without a burst of refetches.
        openWhenHidden: true,
        async onopen(res) {
          if (res.ok && res.headers.get('content-type')?.startsWith(EventStreamContentType)) {
            setMode('stream');
            // What changed while the stream was down is fetched once now.
            void queryClient.invalidateQueries();
            return;
          }
          // 404: this orchestrator has no stream; 401/403: the key may not follow it. Poll, ask again later.
          if (res.status >= 400 && res.status < 500 && res.status !== 429) throw new StreamUnavailable();
          throw new Error(`GET /events answered ${res.status}`);
        },
        onmessage(msg) {
          if (!msg.data) return;
          try {
            flush.add(JSON.parse(msg.data) as LiveEvent);
          } catch {
            // A message we do not understand changes nothing; the interval refetch is still there.
          }
        },
        onclose() {
          setMode('polling');
          // The server ended the stream (a deploy, a restart): reconnect, with Last-Event-ID.
          throw new Error('stream closed');
        },
        onerror(err) {
          setMode('polling');
          if (err instanceof StreamUnavailable) throw err; // stops fetchEventSource's own retries
          return 5_000;
        },
      }).catch(() => {
        if (!stop.signal.aborted) retry = setTimeout(connect, UNAVAILABLE_RETRY_MS);
      });
    };
    connect();
    return () => {
      stop.abort();
      clearTimeout(retry);
      flush.stop();
    };
  }, [apiKey, queryClient]);

  return <LiveContext.Provider value={mode}>{children}</LiveContext.Provider>;
}
