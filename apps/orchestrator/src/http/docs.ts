import { Problem } from '@hourglass/contracts';
import type { z } from 'zod';

/** The error answers any route may give, each an RFC 9457 problem. */
const ERRORS = {
  400: Problem.describe('Bad input: `errors[].field` names what was wrong; nothing was changed'),
  401: Problem.describe('No API key, or an unknown or revoked one'),
  403: Problem.describe('The key lacks the scope this route needs'),
  404: Problem.describe('No such resource'),
  409: Problem.describe('The resource is in a state that does not allow this'),
  429: Problem.describe('Rate limit reached; see the Retry-After header'),
};

/**
 * OpenAPI documentation of a route: its group, a one-line summary, and its answers (errors added). The answer
 * schemas also type-check what each handler returns; at run time they are documentation only (see app.ts).
 */
export function doc<A extends Record<number, z.ZodType>>(tag: string, summary: string, answers: A) {
  return { tags: [tag], summary, response: { ...answers, ...ERRORS } };
}
