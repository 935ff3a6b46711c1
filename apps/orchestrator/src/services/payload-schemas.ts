import { createHash } from 'node:crypto';
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsPlugin from 'ajv-formats';

/**
 * JSON Schemas that runners declare for the payloads of their types, compiled with Ajv (draft 2020-12, which is
 * what zod's `z.toJSONSchema` writes; formats such as `email` and `uuid` through ajv-formats).
 */

const addFormats = addFormatsPlugin as unknown as typeof addFormatsPlugin.default;

/** A declared schema may be this large (as JSON) and this deeply nested; anything bigger is refused at register. */
export const MAX_SCHEMA_BYTES = 64 * 1024;
export const MAX_SCHEMA_DEPTH = 32;

export type PayloadValidator = ValidateFunction;

/** Why a declared schema cannot be used, or undefined when it compiles. */
export function schemaProblem(schema: Record<string, unknown>): string | undefined {
  const size = Buffer.byteLength(JSON.stringify(schema));
  if (size > MAX_SCHEMA_BYTES) return `is ${size} bytes of JSON; at most ${MAX_SCHEMA_BYTES} are allowed`;
  if (depth(schema) > MAX_SCHEMA_DEPTH) return `is nested more than ${MAX_SCHEMA_DEPTH} levels deep`;
  try {
    compile(schema);
    return undefined;
  } catch (err) {
    return `is not a usable JSON Schema: ${(err as Error).message}`.slice(0, 500);
  }
}

/**
 * A validator for `schema`. A fresh Ajv instance per schema, so that `$id`s in different runners' schemas cannot
 * collide; schemas change rarely and the caller caches validators by hash.
 */
export function compile(schema: Record<string, unknown>): PayloadValidator {
  // strict: false — schemas come from many generators (zod, pydantic, hand-written) with annotation keywords of
  // their own; the schema is still checked against the draft 2020-12 meta-schema, so a malformed one is refused.
  // logger: false — Ajv would otherwise print to the console about every unknown format or keyword it ignores.
  const ajv = new Ajv2020({ strict: false, allErrors: false, validateFormats: true, logger: false });
  addFormats(ajv);
  const validate = ajv.compile(schema);
  // An `$async` schema compiles to a validator that returns a promise: every payload would pass, and a rejected
  // promise nobody handles would end the process.
  if ((validate as { $async?: boolean }).$async) throw new Error('$async schemas are not supported');
  return validate;
}

/** sha256 of the schema with its keys sorted: the same schema declared again has the same hash. */
export function schemaHash(schema: unknown): string {
  return createHash('sha256').update(canonicalJson(schema)).digest('hex');
}

/** The first thing wrong with `payload` as `validate` sees it: a field (`payload.width`) and a message. */
export function payloadProblem(
  validate: PayloadValidator,
  payload: unknown,
): { field: string; message: string } | undefined {
  if (validate(payload)) return undefined;
  const e = validate.errors?.[0];
  if (!e) return { field: 'payload', message: 'does not match the schema of its type' };
  return describe(e);
}

function describe(e: ErrorObject): { field: string; message: string } {
  const at = ['payload', ...pointerSegments(e.instancePath)];
  const params = e.params as { missingProperty?: string; additionalProperty?: string };
  if (e.keyword === 'required' && params.missingProperty !== undefined) {
    return { field: [...at, params.missingProperty].join('.'), message: 'is required' };
  }
  if (e.keyword === 'additionalProperties' && params.additionalProperty !== undefined) {
    return { field: [...at, params.additionalProperty].join('.'), message: 'unknown field' };
  }
  return { field: at.join('.'), message: e.message ?? 'is invalid' };
}

function pointerSegments(pointer: string): string[] {
  if (!pointer) return [];
  return pointer
    .slice(1)
    .split('/')
    .map((s) => s.replaceAll('~1', '/').replaceAll('~0', '~'));
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** Nesting depth of a JSON value, without recursion (a hostile schema could be deep). */
function depth(value: unknown): number {
  let max = 0;
  const stack: [unknown, number][] = [[value, 1]];
  for (let next = stack.pop(); next; next = stack.pop()) {
    const [v, d] = next;
    if (v === null || typeof v !== 'object') continue;
    max = Math.max(max, d);
    if (max > MAX_SCHEMA_DEPTH) return max;
    for (const child of Object.values(v)) stack.push([child, d + 1]);
  }
  return max;
}
