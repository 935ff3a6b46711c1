import { z } from 'zod';

/**
 * Reads configuration from environment variables through a zod schema. A bad or missing value stops the
 * process with a message naming the variable, before anything starts.
 */
export function parseEnv<S extends z.ZodType>(
  schema: S,
  env: NodeJS.ProcessEnv,
  processName: string,
): z.output<S> {
  // Empty strings count as unset, as in most shells' `VAR= cmd`.
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== ''));
  const parsed = schema.safeParse(cleaned);
  if (parsed.success) return parsed.data;
  const lines = parsed.error.issues.map((i) => `  ${i.path.join('.') || '(env)'}: ${i.message}`);
  throw new ConfigError(`${processName}: invalid configuration\n${lines.join('\n')}`);
}

export class ConfigError extends Error {}

export const LogLevel = z
  .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
  .default('info');

/** `json` for machines, `pretty` for people; the default follows whether stdout is a terminal. */
export const LogFormat = z.enum(['json', 'pretty']).optional();

/** `true` / `false` (also 1/0, yes/no). */
export const BooleanFlag = (def: boolean) =>
  z
    .enum(['true', 'false', '1', '0', 'yes', 'no'], { error: 'must be true or false' })
    .default(def ? 'true' : 'false')
    .transform((v) => v === 'true' || v === '1' || v === 'yes');

export const PositiveInt = (def: number) => z.coerce.number().int().positive().default(def);
