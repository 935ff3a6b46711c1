import type { JobStatus } from '@hourglass/client';

/** Durations and times as people read them; and the job statuses in the order every view lists them. */

export const JOB_STATUSES = [
  'WAITING',
  'SCHEDULED',
  'RUNNING',
  'SUCCEEDED',
  'FAILED',
  'CANCELLED',
  'PAUSED',
] as const satisfies readonly JobStatus[];

export function duration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return '–';
  if (ms < 0) ms = 0;
  if (ms < 1_000) return `${Math.round(ms)} ms`;
  const s = ms / 1_000;
  if (s < 60) return `${s < 10 ? s.toFixed(1) : Math.round(s)} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${Math.round(s % 60)} s`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h} h ${m % 60} min`;
  return `${Math.floor(h / 24)} d ${h % 24} h`;
}

export function between(from: string | null | undefined, to: string | null | undefined): string {
  if (!from || !to) return '–';
  return duration(Date.parse(to) - Date.parse(from));
}

/** "3 min ago", "in 5 s". */
export function relative(iso: string | null | undefined, now = Date.now()): string {
  if (!iso) return '–';
  const diff = Date.parse(iso) - now;
  const text = duration(Math.abs(diff));
  if (Math.abs(diff) < 1_000) return 'now';
  return diff > 0 ? `in ${text}` : `${text} ago`;
}

export function timestamp(iso: string | null | undefined): string {
  if (!iso) return '–';
  const d = new Date(iso);
  return d.toLocaleString(undefined, {
    year: 'numeric',
    month: 'short',
    day: 'numeric',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
  });
}

/** A countdown as h:mm:ss (or d h:mm:ss), 0:00:00 once due. */
export function countdown(ms: number): string {
  const total = Math.max(0, Math.ceil(ms / 1_000));
  const d = Math.floor(total / 86_400);
  const h = Math.floor((total % 86_400) / 3_600);
  const m = Math.floor((total % 3_600) / 60);
  const s = total % 60;
  const hms = `${h}:${String(m).padStart(2, '0')}:${String(s).padStart(2, '0')}`;
  return d > 0 ? `${d} d ${hms}` : hms;
}

export function json(value: unknown): string {
  if (value === undefined) return '';
  return JSON.stringify(value, null, 2);
}
