import { sql } from 'kysely';
import type { Db } from '../db/database.js';
import { type BoundedPage, boundedPage } from './bounded-page.js';
import type { DeadLetterRow } from './rows.js';

export async function listDeadLetters(
  db: Db,
  f: { includeRequeued: boolean; limit: number; cursor?: number },
  maxBytes: number,
): Promise<BoundedPage<DeadLetterRow>> {
  return boundedPage(
    db,
    sql`
      SELECT *, octet_length(coalesce(error, '')) AS row_bytes_ FROM dead_letters
      WHERE (${f.includeRequeued} OR requeued_at IS NULL)
        AND (${f.cursor ?? null}::bigint IS NULL OR id < ${f.cursor ?? null}::bigint)
      ORDER BY id DESC LIMIT ${f.limit}
    `,
    maxBytes,
  );
}
