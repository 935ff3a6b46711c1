import { z } from 'zod';

/** Job, execution, timer and dead-letter ids: positive integers, sent as JSON numbers. */
export const Id = z.number().int().positive();

/** An id in a path: digits only, so `/jobs/abc` and `/jobs/1e3` are a 400, not a lookup. */
export const ID_DIGITS = /^[1-9][0-9]{0,15}$/;

/** A path parameter holding an id (documented as an integer in openapi.json). */
export const IdParams = z.strictObject({
  id: z
    .string()
    .regex(ID_DIGITS, 'must be a positive integer')
    .transform(Number)
    .pipe(z.number().max(Number.MAX_SAFE_INTEGER)),
});

export const RunnerIdParams = z.strictObject({ id: z.uuid() });

/**
 * A job type's name: lowercase letters, digits, `_`, `.` and `-`, starting with a letter, at most 100 characters
 * (`resize-image`, `billing.charge`). Any such name is accepted; runners say which ones they serve.
 */
export const JOB_TYPE_PATTERN = /^[a-z][a-z0-9_.-]{0,99}$/;
export const JobTypeName = z
  .string()
  .regex(
    JOB_TYPE_PATTERN,
    'must be 1-100 lowercase letters, digits, "_", "." or "-", starting with a letter (^[a-z][a-z0-9_.-]{0,99}$)',
  );

/** ISO-8601 UTC timestamp as the API prints it. */
export const Timestamp = z.iso.datetime();

/**
 * A timestamp the API is sent: ISO-8601 with `Z` or an offset (`+02:00`), as every language's standard library
 * writes one (Python's `isoformat()` says `+00:00`).
 */
export const TimestampInput = z.iso.datetime({ offset: true });

export const PageQuery = {
  limit: z.coerce.number().int().min(1).max(500).default(50),
  /** Opaque cursor from a previous page's `nextCursor` (the last id seen; lists go newest first). */
  cursor: z.coerce.number().int().positive().optional(),
};

export const Page = <T extends z.ZodType>(item: T) =>
  z.object({ items: z.array(item), nextCursor: z.number().int().nullable() });
