import type { Outcome } from '@hourglass/contracts';
import { findUnstorable, storableText } from '../storable-json.js';

/**
 * A runner's report as the orchestrator can store it (issue 10, defect 2). A runner reports what happened and
 * never makes up an outcome; what PostgreSQL cannot keep is decided here, once, for every runner:
 * - a success whose result cannot be kept (`resultBytes`: too large to send; a NUL, an unpaired surrogate or more
 *   than 100 levels of nesting: cannot be stored) is recorded as a permanent failure, `RESULT_TOO_LARGE` or
 *   `RESULT_INVALID`, with an error saying so. The handler did finish: its work is done, and running it again
 *   would most likely end with the same result, so it is not retried; the job is dead-lettered, where an
 *   operator sees why and can requeue it once the handler is fixed;
 * - in an error message, each such character is stored as U+FFFD: the message stays readable, and the status
 *   and retryability stay the runner's.
 */
export function storableOutcome(outcome: Outcome): Outcome {
  if (outcome.status !== 'SUCCEEDED') {
    return outcome.error === undefined ? outcome : { ...outcome, error: storableText(outcome.error) };
  }
  const startedAt = outcome.startedAt ? { startedAt: outcome.startedAt } : {};
  if (outcome.resultBytes !== undefined) {
    return {
      status: 'FAILED',
      retryable: false,
      code: 'RESULT_TOO_LARGE',
      error:
        `the handler succeeded, but its result (${outcome.resultBytes} bytes of JSON) was too large to ` +
        'report; it was not stored',
      ...startedAt,
    };
  }
  const found = findUnstorable(outcome.result, 'result');
  if (found === undefined) return outcome;
  return {
    status: 'FAILED',
    retryable: false,
    code: 'RESULT_INVALID',
    // The field names the result's own keys, which may hold the very characters at fault (or be many and long).
    error: storableText(
      `the handler succeeded, but its result cannot be stored: ${found.field} ${found.message}`.slice(
        0,
        10_000,
      ),
    ),
    ...startedAt,
  };
}
