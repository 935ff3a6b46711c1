import { z } from 'zod';
import { ApiKeyScope } from './api-keys.js';
import { Id } from './common.js';

/**
 * `GET /auth/me`: who the presented key is and what it may do, so a user interface can offer only the actions the
 * key is allowed (a client key sees no drain button) instead of learning it from 403s.
 */
export const Me = z.object({
  /** The key's name; the bootstrap admin key (ADMIN_API_KEY) and "authentication off" have names of their own. */
  name: z.string(),
  /** The stored key's id; null for the bootstrap admin key and when authentication is off. */
  keyId: Id.nullable(),
  scopes: z.array(ApiKeyScope),
  /** false: the orchestrator runs with AUTH_DISABLED=true, and anyone who reaches it may do everything. */
  authEnabled: z.boolean(),
});
export type Me = z.infer<typeof Me>;
