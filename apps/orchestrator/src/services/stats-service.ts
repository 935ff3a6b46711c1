import { JobStatus, type Stats } from '@hourglass/contracts';
import type { Db } from '../db/database.js';
import { readStats } from '../queue/read-stats.js';

/** Executions the throughput chart is computed from, at most (see read-stats.ts). */
export const THROUGHPUT_SAMPLE = 20_000;
/** Every open dashboard asks every few seconds; within this, they share one query per replica. */
const CACHE_MS = 2_000;

/** `GET /stats`: counts by status and the last hour's throughput, a minute a bucket, empty minutes included. */
export class StatsService {
  private cached: { at: number; stats: Promise<Stats> } | undefined;

  constructor(private readonly db: Db) {}

  get(): Promise<Stats> {
    const now = Date.now();
    if (!this.cached || now - this.cached.at > CACHE_MS) {
      const fresh = { at: now, stats: this.read() };
      // A failed read is not kept: the next request tries again.
      fresh.stats.catch(() => {
        if (this.cached === fresh) this.cached = undefined;
      });
      this.cached = fresh;
    }
    return this.cached.stats;
  }

  private async read(): Promise<Stats> {
    const row = await readStats(this.db, THROUGHPUT_SAMPLE);
    const byMinute = new Map(row.buckets.map((b) => [b.minute, b]));
    const lastMinute = Math.floor(row.at.getTime() / 60_000) * 60_000;
    const throughput = Array.from({ length: 60 }, (_, i) => {
      const at = new Date(lastMinute - (59 - i) * 60_000).toISOString();
      const b = byMinute.get(at);
      return { at, succeeded: b?.succeeded ?? 0, failed: b?.failed ?? 0, cancelled: b?.cancelled ?? 0 };
    });
    return {
      at: row.at.toISOString(),
      jobs: Object.fromEntries(JobStatus.options.map((s) => [s, row.jobs[s] ?? 0])) as Stats['jobs'],
      throughput,
      throughputSample: row.sampled,
      throughputSampleFull: row.sampled >= THROUGHPUT_SAMPLE,
    };
  }
}
