/**
 * What PostgreSQL can store of a JSON value. It stores neither NUL characters (text, jsonb) nor unpaired UTF-16
 * surrogates (jsonb); valid JSON can carry both, and they used to reach SQL and come back as a 500.
 */
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
const LONE_SURROGATES = new RegExp(LONE_SURROGATE.source, 'g');
const unstorable = (s: string) => s.includes('\u0000') || LONE_SURROGATE.test(s);

/**
 * Deeper JSON is refused. Nothing in the API needs it, and deeper values would overflow the stack here, in
 * JSON.stringify and in PostgreSQL's jsonb parser: a 100,000-deep array, well under the body limit, was a 500
 * (found by test/bad-input.fuzz.test.ts).
 */
export const MAX_JSON_DEPTH = 100;

const UNSTORABLE = 'contains a character that cannot be stored (NUL or an unpaired surrogate)';

/**
 * The first string (value or key) PostgreSQL cannot store, or value nested deeper than MAX_JSON_DEPTH, as the
 * field and what is wrong with it; undefined if none. Depth-first, with a stack of its own rather than recursion.
 */
export function findUnstorable(value: unknown, path: string): { field: string; message: string } | undefined {
  const pending: { value: unknown; path: string; key?: string; depth: number }[] = [
    { value, path, depth: 0 },
  ];
  for (let next = pending.pop(); next; next = pending.pop()) {
    if (next.key !== undefined && unstorable(next.key)) return { field: next.path, message: UNSTORABLE };
    if (typeof next.value === 'string') {
      if (unstorable(next.value)) return { field: next.path, message: UNSTORABLE };
      continue;
    }
    if (next.value === null || typeof next.value !== 'object') continue;
    if (next.depth >= MAX_JSON_DEPTH) {
      return { field: next.path, message: `is nested more than ${MAX_JSON_DEPTH} levels deep` };
    }
    const entries = Object.entries(next.value);
    for (let i = entries.length - 1; i >= 0; i--) {
      const [key, item] = entries[i]!;
      pending.push({
        value: item,
        path: next.path ? `${next.path}.${key}` : key,
        key,
        depth: next.depth + 1,
      });
    }
  }
  return undefined;
}

/** Text as PostgreSQL can store it: each NUL and unpaired surrogate becomes U+FFFD (the replacement character). */
export function storableText(s: string): string {
  return unstorable(s) ? s.replaceAll('\u0000', '\ufffd').replace(LONE_SURROGATES, '\ufffd') : s;
}
