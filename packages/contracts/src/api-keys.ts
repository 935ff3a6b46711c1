import { z } from 'zod';
import { Id, Timestamp } from './common.js';

export const ApiKeyScope = z.enum(['admin', 'client', 'runner']);

export const CreateApiKeyBody = z.strictObject({
  name: z.string().trim().min(1).max(200),
  scopes: z.array(ApiKeyScope).min(1).max(3),
  /** Requests per minute for this key; default: the default of its scopes. */
  rateLimitPerMinute: z.number().int().min(1).max(1_000_000).optional(),
});

export const ApiKey = z.object({
  id: Id,
  name: z.string(),
  prefix: z.string(),
  scopes: z.array(ApiKeyScope),
  rateLimitPerMinute: z.number().int().nullable(),
  createdAt: Timestamp,
  lastUsedAt: Timestamp.nullable(),
  revokedAt: Timestamp.nullable(),
});

/** The answer to creating a key: the only time its secret is shown. */
export const CreatedApiKey = ApiKey.extend({ key: z.string() });
export const ApiKeyList = z.object({ items: z.array(ApiKey) });
