import { sql } from 'kysely';

/**
 * A PENDING execution joins the claimable set ("ready") once it is due within this horizon. Inserts decide it
 * directly; the promoter loop flips later ones every PROMOTE_EVERY_MS. The horizon must exceed the tick so a
 * row is always ready before it is due; the claim itself still checks `scheduled_for <= now()`.
 */
export const READY_HORIZON_MS = 1_000;
export const PROMOTE_EVERY_MS = 250;

/** The LISTEN/NOTIFY channel that tells every orchestrator replica when executions become claimable. */
export const READY_CHANNEL = 'hourglass_ready';

/**
 * The time a statement acts at: the database's now(), or `at` when the caller gives one. Every queue statement
 * that compares or stamps times takes it, so tests of leases, retries and schedules move time instead of waiting
 * (issue 10). Production code passes null.
 */
export const atOrNow = (at: Date | null | undefined) =>
  sql`coalesce(${at ? at.toISOString() : null}::timestamptz, now())`;
