import { JobStatus } from '@hourglass/contracts';
import {
  startTestOrchestrator,
  stopTestOrchestrator,
  type TestOrchestrator,
} from '@hourglass/testkit/orchestrator';
import fc from 'fast-check';
import { sql } from 'kysely';
import { afterAll, beforeAll, expect, test } from 'vitest';

/**
 * Bad input, tried by machine (issue 5): fast-check throws generated malformed requests at every route —
 * wrong types, missing and extra fields, huge numbers, deep and huge JSON, bad ids, broken JSON, wrong content
 * types, bad auth headers — and checks that none gets a 5xx, every 4xx is application/problem+json, and no
 * request changes a row of any table.
 *
 * Every generated request carries at least one defect that by itself makes it invalid (an unknown field in a
 * strict body, a value of the wrong type, a bad id, a key without the scope, …), so a 2xx is a failure too,
 * except for the few kinds of request marked `mayPass` (a junk query on a read that takes none, say), which
 * must still write nothing.
 */

const ADMIN_KEY = 'fuzz-admin-key-0123456789abcdef';
/** FUZZ_SEED=<seed printed with a failure> replays that run. */
const SEED = Number(process.env.FUZZ_SEED) || undefined;

let o: TestOrchestrator;
const fx = {
  clientKey: '',
  runnerKey: '',
  keyId: 0,
  runnerId: '',
  runningExecutionId: 0,
  scheduledJobId: 0,
  cronJobId: 0,
  deadLetterId: 0,
  timerId: 0,
};

interface Req {
  method: 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';
  url: string;
  headers: Record<string, string | string[]>;
  payload?: string | Buffer;
  /** What makes it bad, for the failure message. */
  defect: string;
  /** A read (or an answer by design, like batch verdicts) that may be 2xx; it must still write nothing. */
  mayPass?: boolean;
}

type Json = unknown;
/** `anyKey`: any valid key passes (GET /auth/me); no key of a wrong scope exists for it. */
type Auth = 'admin' | 'client' | 'runner' | 'anyKey' | 'public';

async function call(method: string, url: string, payload?: unknown, key = ADMIN_KEY) {
  const res = await o.app.inject({
    method: method as 'GET',
    url,
    headers: { authorization: `Bearer ${key}` },
    ...(payload === undefined ? {} : { payload: payload as object }),
  });
  expect(res.statusCode, `${method} ${url}: ${res.body}`).toBeLessThan(300);
  return res.statusCode === 204 ? undefined : res.json();
}

beforeAll(async () => {
  o = await startTestOrchestrator({
    env: {
      AUTH_DISABLED: 'false',
      ADMIN_API_KEY: ADMIN_KEY,
      // Thousands of requests within seconds: no 429s in the way of validation.
      RATE_LIMIT_ADMIN_PER_MINUTE: '10000000',
      RATE_LIMIT_CLIENT_PER_MINUTE: '10000000',
      RATE_LIMIT_RUNNER_PER_MINUTE: '10000000',
      RATE_LIMIT_FAILED_AUTH_PER_MINUTE: '10000000',
      // Nothing may change by itself during the run: no lease expires, no runner goes offline.
      LEASE_MS: '3600000',
      HEARTBEAT_INTERVAL_MS: '600000',
      WEBHOOK_BLOCK_PRIVATE_TARGETS: 'false',
    },
  });
  // Something of everything, so that a bad request has rows it could damage.
  const client = await call('POST', '/api-keys', { name: 'fuzz-client', scopes: ['client'] });
  fx.clientKey = client.key;
  fx.keyId = client.id;
  fx.runnerKey = (await call('POST', '/api-keys', { name: 'fuzz-runner', scopes: ['runner'] })).key;
  fx.runnerId = (
    await call(
      'POST',
      '/runners/register',
      { name: 'fuzz', host: 'fuzz', types: ['echo', 'noop'], capacity: 5 },
      fx.runnerKey,
    )
  ).id;
  const claimOne = async () =>
    (await call('POST', `/runners/${fx.runnerId}/next-job?max=1&wait=0`, undefined, fx.runnerKey))
      .executions[0];
  await call('POST', '/jobs', { type: 'noop', maxAttempts: 1 });
  const doomed = await claimOne();
  await call(
    'POST',
    `/executions/${doomed.id}/complete`,
    { runnerId: fx.runnerId, outcome: { status: 'FAILED', error: 'fuzz' } },
    fx.runnerKey,
  );
  fx.deadLetterId = (await call('GET', '/dead-letters')).items[0].id;
  await call('POST', '/jobs', { type: 'echo', payload: { running: true } });
  fx.runningExecutionId = (await claimOne()).id;
  fx.scheduledJobId = (await call('POST', '/jobs', { type: 'echo', delayMs: 3_600_000 })).id;
  fx.cronJobId = (
    await call('POST', '/jobs', { type: 'sleep', scheduleExpression: '0 3 1 1 *', timezone: 'UTC' })
  ).id;
  await call('POST', `/jobs/${fx.cronJobId}/trigger`); // an occurrence (its execution waits for a sleep runner)
  fx.timerId = (await call('POST', '/timers', { hours: 2, url: 'https://example.com/fuzz' })).id;
});
afterAll(async () => {
  if (o) await stopTestOrchestrator(o);
});

/**
 * Every table's content as one digest each. `api_keys.last_used_at` is left out: it records that a key was used
 * (at most once a minute), not something a request asked to change.
 */
async function digests() {
  const { rows } = await sql<Record<string, string | null>>`
    SELECT (SELECT md5(string_agg(t::text, '|' ORDER BY t.id)) FROM jobs t) AS jobs,
           (SELECT md5(string_agg(t::text, '|' ORDER BY t.id)) FROM executions t) AS executions,
           (SELECT md5(string_agg(t::text, '|' ORDER BY t.id)) FROM runners t) AS runners,
           (SELECT md5(string_agg(t::text, '|' ORDER BY t.id)) FROM dead_letters t) AS dead_letters,
           (SELECT md5(string_agg(t::text, '|' ORDER BY t.job_id, t.scheduled_for)) FROM occurrences t)
             AS occurrences,
           (SELECT md5(string_agg(t::text, '|' ORDER BY t.name)) FROM queues t) AS queues,
           (SELECT md5(string_agg(concat_ws(',', id, name, prefix, hash, scopes, rate_limit_per_minute,
                                            created_at, revoked_at), '|' ORDER BY id)) FROM api_keys)
             AS api_keys,
           (SELECT count(*) FROM jobs)::int + (SELECT count(*) FROM executions)::int
             + (SELECT count(*) FROM runners)::int + (SELECT count(*) FROM dead_letters)::int
             + (SELECT count(*) FROM occurrences)::int + (SELECT count(*) FROM api_keys)::int AS rows
  `.execute(o.db);
  return rows[0]!;
}

// ---- values ----------------------------------------------------------------------------------------------

/** An integer in [min, max], beyond 32 bits too. */
const int = (min: number, max: number) =>
  min >= -(2 ** 31) && max <= 2 ** 31 - 1
    ? fc.integer({ min, max })
    : fc.bigInt({ min: BigInt(Math.ceil(min)), max: BigInt(Math.floor(max)) }).map(Number);
const text = (max = 30) => fc.string({ unit: 'grapheme', maxLength: max });
const asciiText = (min = 0, max = 30) => fc.string({ unit: 'binary-ascii', minLength: min, maxLength: max });
/** Printable ASCII: what a header value may hold. */
const headerText = (min = 0, max = 60) =>
  fc.string({
    unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)),
    minLength: min,
    maxLength: max,
  });
const letters = (min = 1, max = 20) => fc.stringMatching(new RegExp(`^[a-z]{${min},${max}}$`));
const json = fc.jsonValue({ maxDepth: 3, stringUnit: 'grapheme' });

/** JSON nested `depth` deep: arrays, objects or both. */
const deepJson = fc
  .tuple(fc.integer({ min: 20, max: 100_000 }), fc.constantFrom('array', 'object', 'mixed'))
  .map(([depth, shape]) => {
    const open = shape === 'array' ? '[' : shape === 'object' ? '{"a":' : '[{"a":';
    const close = shape === 'array' ? ']' : shape === 'object' ? '}' : '}]';
    const n = shape === 'mixed' ? Math.floor(depth / 2) : depth;
    return new RawJson(`${open.repeat(n)}1${close.repeat(n)}`);
  });
/** Big but under the 1 MiB body limit, or over it. */
const hugeJson = fc.oneof(
  fc.integer({ min: 10_000, max: 120_000 }).map((n) => new RawJson(`[${'1,'.repeat(n)}1]`)),
  fc.integer({ min: 100_000, max: 1_200_000 }).map((n) => new RawJson(JSON.stringify('x'.repeat(n)))),
  fc
    .integer({ min: 1_000, max: 20_000 })
    .map((n) => new RawJson(`{${Array.from({ length: n }, (_, i) => `"k${i}":${i}`).join(',')}}`)),
);

/** A piece of JSON text spliced into a body as is (deep nesting that JSON.stringify would choke on). */
class RawJson {
  constructor(readonly text: string) {}
}

/** JSON.stringify that keeps RawJson values verbatim. */
function toJson(value: Json): string {
  if (value instanceof RawJson) return value.text;
  if (Array.isArray(value)) return `[${value.map(toJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const parts = Object.entries(value)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => `${JSON.stringify(k)}:${toJson(v)}`);
    return `{${parts.join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/** Numbers past what a double holds exactly, or at all (1e400 parses as Infinity), as JSON text. */
const hugeNumbers = fc.constantFrom(
  ...[
    '1e308',
    '-1e308',
    '1e400',
    '-1e400',
    '9007199254740993',
    '-9007199254740993',
    '123456789012345678901234567890',
    '1e21',
    '5e-324',
  ].map((n) => new RawJson(n)),
);
/** Anything that is not a number. */
const notNumber = fc.oneof(
  asciiText(0, 10),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.integer(), { maxLength: 3 }),
  fc.dictionary(letters(1, 5), fc.integer(), { maxKeys: 2 }),
  fc.integer().map(String),
);
/** Anything that is not a string. */
const notString = fc.oneof(
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.integer(),
  fc.boolean(),
  fc.constant(null),
  fc.array(text(5), { maxLength: 3 }),
  fc.dictionary(letters(1, 5), text(5), { maxKeys: 2 }),
);
/** Not an integer in [min, max]. */
const badInt = (min: number, max: number) =>
  fc.oneof(
    notNumber,
    hugeNumbers,
    int(max + 1, max + 1_000_000),
    int(min - 1_000_000, min - 1),
    int(min, Math.min(max - 1, min + 1_000_000)).map((n) => n + 0.5),
    deepJson,
  );
/** Not a string of length [min, max] (`trimmed`: length after trimming). */
const badString = (min: number, max: number, trimmed = false) =>
  fc.oneof(
    notString,
    fc.integer({ min: max + 1, max: max + 3_000 }).map((n) => 'y'.repeat(n)),
    ...(min > 0 ? [fc.constant(''), ...(trimmed ? [fc.constantFrom(' ', '\t\n', '   ')] : [])] : []),
    hugeJson,
  );
/** A string that is not one of `values` (as a query parameter takes). */
const badEnumText = (values: string[]) =>
  fc.oneof(
    letters(1, 12).filter((s) => !values.includes(s)),
    fc.constantFrom(...values).map((v) => (v.toLowerCase() === v ? v.toUpperCase() : v.toLowerCase())),
    fc.constant(''),
  );
const badEnum = (values: string[]) => fc.oneof(notString, badEnumText(values));
/** Not a timestamp at all. */
const malformedTimestamp = fc.oneof(
  notString,
  fc.constantFrom('tomorrow', '2031-02-30T00:00:00Z', '2030-13-01T00:00:00Z', '2030-01-01', '1700000000', ''),
);
/** Malformed, or a due time in the past. */
const badTimestamp = fc.oneof(
  malformedTimestamp,
  fc.constantFrom('2001-01-01T00:00:00Z', '1970-01-01T00:00:00.000Z'), // valid, but in the past
);
const badUuid = fc.oneof(
  letters(1, 36),
  fc.uuid().map((u) => u.slice(0, -1)),
  fc.uuid().map((u) => `${u}0`),
  fc.uuid().map((u) => u.replaceAll('-', '')),
  fc.constantFrom('00000000-0000-0000-0000-00000000000g', '%20', '..', '-1', '0'),
);
const unknownUuid = fc.uuid({ version: 4 });
/** Path ids that are not ids: letters, 0, negative, fractions, exponents, overflow, padding, encodings. */
const badId = fc.oneof(
  letters(1, 10),
  fc.constantFrom(
    '0',
    '00',
    '01',
    '-1',
    '1.5',
    '1e3',
    '0x10',
    '+1',
    '%20',
    '%00',
    '1%2F2',
    'NaN',
    'Infinity',
  ),
  fc.bigInt({ min: 9_007_199_254_740_992n, max: 10n ** 30n }).map(String),
  fc.integer({ min: 1, max: 1_000_000 }).map((n) => `${n}.0`),
  fc.integer({ min: 1, max: 1_000_000 }).map((n) => `-${n}`),
  // Any text, but not a well-formed id: digits alone are one (seed 860405447 drew "1", a job that existed: 200).
  fc
    .string({ unit: 'grapheme', minLength: 1, maxLength: 8 })
    .map(encodeURIComponent)
    .filter((s) => !/^[1-9][0-9]*$/.test(s)),
);
/** Well-formed ids that no row has. */
const unknownId = int(1_000_000_000, Number.MAX_SAFE_INTEGER).map(String);
/** Strings PostgreSQL cannot store: NUL, unpaired surrogates. */
const unstorable = fc
  .tuple(text(5), fc.constantFrom('\u0000', '\ud800', '\udfff', 'a\u0000b', '\udc00\ud800'), text(5))
  .map(([a, b, c]) => a + b + c);

// ---- bodies ----------------------------------------------------------------------------------------------

interface Field {
  valid: fc.Arbitrary<Json>;
  invalid: fc.Arbitrary<Json>;
  required?: boolean;
}
type Shape = Record<string, Field>;

/** Some valid-looking body of `shape` (its validity does not matter: a defect is always added). */
const someBody = (shape: Shape) =>
  fc.record(Object.fromEntries(Object.entries(shape).map(([k, f]) => [k, f.valid])), {
    requiredKeys: Object.entries(shape)
      .filter(([, f]) => f.required)
      .map(([k]) => k),
  }) as fc.Arbitrary<Record<string, Json>>;

/**
 * A body of `shape` with one or more defects: a field of the wrong type or out of range, a required field
 * missing, an unknown field (all bodies are strict), or a string PostgreSQL cannot store.
 */
function badBody(shape: Shape, extra: fc.Arbitrary<[string, Record<string, Json>]>[] = []) {
  const keys = Object.keys(shape);
  const required = keys.filter((k) => shape[k]!.required);
  const wrongField = fc
    .tuple(someBody(shape), fc.constantFrom(...keys))
    .chain(([body, key]) =>
      shape[key]!.invalid.map((v): [string, Record<string, Json>] => [
        `${key} invalid`,
        { ...body, [key]: v },
      ]),
    );
  const missing = required.length
    ? [
        fc
          .tuple(someBody(shape), fc.subarray(required, { minLength: 1 }))
          .map(([body, gone]): [string, Record<string, Json>] => [
            `missing ${gone.join(', ')}`,
            Object.fromEntries(Object.entries(body).filter(([k]) => !gone.includes(k))),
          ]),
      ]
    : [];
  const unknownField = fc
    .tuple(
      someBody(shape),
      fc.oneof(letters(1, 15), text(10), fc.constantFrom('__proto__', 'constructor', 'prototype', '')),
      fc.oneof(json, deepJson, hugeJson, hugeNumbers),
    )
    .filter(([, key]) => !keys.includes(key))
    .map(([body, key, value]): [string, Record<string, Json>] => [
      `unknown field ${JSON.stringify(key)}`,
      // defineProperty, so that a key named __proto__ becomes a real key, as it would in parsed JSON.
      Object.defineProperty({ ...body }, key, {
        value,
        enumerable: true,
        configurable: true,
        writable: true,
      }),
    ]);
  const unstorableString = fc
    .tuple(someBody(shape), fc.constantFrom(...keys), unstorable)
    .map(([body, key, s]): [string, Record<string, Json>] => [
      `unstorable string in ${key}`,
      { ...body, [key]: s },
    ]);
  return fc.oneof(wrongField, ...missing, unknownField, unstorableString, ...extra);
}

/** Not a queue name (^[a-z][a-z0-9_.-]{0,99}$). */
const badName = fc.oneof(
  badString(1, 100),
  fc.stringMatching(/^([A-Z0-9_.-]|[a-z][a-z0-9_.-]*[ A-Z!/])[a-z]{0,10}$/),
);
/** Not a queue name, as it can stand in a path (still one segment). */
const badNameInPath = fc
  .oneof(
    fc.stringMatching(/^([A-Z0-9_.-]|[a-z][a-z0-9_.-]*[ A-Z!])[a-z]{0,10}$/),
    fc.integer({ min: 101, max: 300 }).map((n) => `q${'x'.repeat(n)}`),
    fc.constantFrom('%00', 'Default', '9lives', 'a%20b', '-x'),
  )
  .map((n) => encodeURIComponent(decodeURIComponentSafe(n)));
function decodeURIComponentSafe(s: string) {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

const QUEUE_SETTINGS: Shape = {
  // null is a valid value here (no such limit).
  concurrency: {
    valid: fc.integer({ min: 1, max: 1_000_000 }),
    invalid: badInt(1, 1_000_000).filter((v) => v !== null),
  },
  perKeyConcurrency: {
    valid: fc.integer({ min: 1, max: 1_000_000 }),
    invalid: badInt(1, 1_000_000).filter((v) => v !== null),
  },
  rateLimit: {
    valid: fc.record({
      limit: fc.integer({ min: 1, max: 1000 }),
      periodMs: fc.integer({ min: 1, max: 60_000 }),
    }),
    invalid: fc.oneof(
      notNumber.filter((v) => v !== null && (typeof v !== 'object' || Array.isArray(v))),
      fc.record({ limit: badInt(1, 1_000_000), periodMs: fc.constant(1000) }),
      fc.record({ limit: fc.constant(5), periodMs: badInt(1, 7 * 86_400_000) }),
      fc.record({ limit: fc.constant(5) }),
      fc.record({
        limit: fc.constant(5),
        periodMs: fc.constant(1000),
        perKey: notString.filter((v) => typeof v !== 'boolean'),
      }),
    ),
  },
};

const positiveIds = fc.array(fc.integer({ min: 1, max: 1_000_000 }), { maxLength: 5 });

const JOB: Shape = {
  type: {
    valid: fc.constantFrom('echo', 'noop'),
    // Any name matching ^[a-z][a-z0-9_.-]{0,99}$ is a valid type; anything else is not.
    invalid: fc.oneof(
      badString(1, 100),
      fc.stringMatching(/^([A-Z0-9_.-]|[a-z][a-z0-9_.-]*[ A-Z!/])[a-z]{0,10}$/),
    ),
    required: true,
  },
  payload: { valid: json, invalid: fc.constant('\u0000') },
  priority: { valid: fc.integer({ min: -1000, max: 1000 }), invalid: badInt(-1000, 1000) },
  maxAttempts: { valid: fc.integer({ min: 1, max: 100 }), invalid: badInt(1, 100) },
  backoff: {
    valid: fc.record(
      {
        initialDelayMs: fc.integer({ min: 0, max: 86_400_000 }),
        factor: fc.double({ min: 1, max: 10, noNaN: true }),
        jitter: fc.boolean(),
      },
      { requiredKeys: [] },
    ),
    invalid: fc.oneof(
      notNumber.filter((v) => v === null || typeof v !== 'object' || Array.isArray(v)),
      fc.record({ initialDelayMs: badInt(0, 86_400_000) }),
      fc.record({ factor: fc.oneof(notNumber, fc.double({ max: 0.99, noNaN: true }), fc.constant(11)) }),
      fc.record({ maxDelayMs: badInt(0, 7 * 86_400_000) }),
      fc.record({ jitter: fc.oneof(asciiText(), fc.integer(), fc.constant(null)) }),
      fc.record({ xy: json }),
    ),
  },
  timeoutMs: { valid: fc.integer({ min: 1, max: 86_400_000 }), invalid: badInt(1, 86_400_000) },
  runAt: {
    valid: fc.integer({ min: 1, max: 300 }).map((d) => new Date(Date.now() + d * 86_400_000).toISOString()),
    invalid: badTimestamp,
  },
  delayMs: { valid: int(3_600_000, 366 * 86_400_000), invalid: badInt(0, 366 * 86_400_000) },
  scheduleExpression: {
    valid: fc.constantFrom('0 3 1 1 *', '*/5 * * * *'),
    invalid: fc.oneof(
      badString(1, 200, true),
      letters(1, 30),
      fc.constantFrom('61 * * * *', '* * * *', 'a b c d e'),
    ),
  },
  timezone: {
    valid: fc.constantFrom('UTC', 'Europe/Paris'),
    invalid: fc.oneof(badString(1, 100), fc.constantFrom('Mars/Olympus_Mons', 'Europe/Nowhere', 'UTC+25')),
  },
  intervalSeconds: { valid: fc.integer({ min: 3600, max: 366 * 86_400 }), invalid: badInt(1, 366 * 86_400) },
  startAt: {
    valid: fc.integer({ min: 1, max: 300 }).map((d) => new Date(Date.now() + d * 86_400_000).toISOString()),
    invalid: badTimestamp,
  },
  overlapPolicy: {
    valid: fc.constantFrom('skip', 'allow', 'queue'),
    invalid: badEnum(['skip', 'allow', 'queue']),
  },
  catchUpPolicy: {
    valid: fc.constantFrom('fire_once', 'fire_all', 'skip'),
    invalid: badEnum(['fire_once', 'fire_all', 'skip']),
  },
  idempotencyKey: { valid: letters(1, 20), invalid: badString(1, 200) },
  queue: { valid: fc.constantFrom('default', 'fuzz-queue'), invalid: badName },
  concurrencyKey: { valid: letters(1, 20), invalid: badString(1, 200) },
  unique: {
    valid: fc.record(
      {
        key: letters(1, 20),
        windowSeconds: fc.integer({ min: 1, max: 366 * 86_400 }),
        states: fc.constantFrom(
          ['SCHEDULED', 'RUNNING'],
          ['RUNNING', 'SCHEDULED', 'PAUSED'],
          ['SCHEDULED', 'RUNNING', 'FAILED'],
        ),
      },
      { requiredKeys: ['key'] },
    ),
    invalid: fc.oneof(
      notNumber.filter((v) => v === null || typeof v !== 'object' || Array.isArray(v)),
      fc.record({ key: badString(1, 200) }),
      fc.record({ key: letters(1, 5), windowSeconds: badInt(1, 366 * 86_400) }),
      fc.record({
        key: letters(1, 5),
        states: fc.oneof(
          fc.constant([]),
          fc.constant(['RUNNING', 'RUNNING']),
          fc.constant(['SCHEDULED']),
          fc.array(badEnumText([...JobStatus.options]), {
            minLength: 1,
            maxLength: 3,
          }),
        ),
      }),
      fc.record({ key: letters(1, 5), other: json }),
    ),
  },
  // Flows: an existing job (read when the body is generated, after set-up) as the parent.
  dependsOn: {
    valid: fc.constant(0).map(() => [fx.scheduledJobId]),
    invalid: fc.oneof(
      fc.constant([]),
      notNumber.filter((v) => !Array.isArray(v)),
      fc.array(badInt(1, Number.MAX_SAFE_INTEGER), { minLength: 1, maxLength: 3 }),
      fc.constant(0).map(() => [fx.scheduledJobId, fx.scheduledJobId]),
      fc.constant(Array.from({ length: 101 }, (_, i) => i + 1)),
      unknownId.map((id) => [Number(id)]),
    ),
  },
  onParentFailure: { valid: fc.constantFrom('cancel', 'run'), invalid: badEnum(['cancel', 'run']) },
};

/** Handler payloads that break the handler's own schema (sleep and webhook check theirs). */
const badHandlerPayload = fc.oneof(
  fc
    .oneof(
      fc.constantFrom('x', 5, [], null, true),
      fc.record({ durationMs: badInt(0, 3_600_000) }),
      fc.record({ failureRate: fc.oneof(notNumber, fc.constantFrom(-0.1, 1.5, 1e308)) }),
      fc.record({ failAttempts: badInt(0, 100) }),
      fc.record({ nap: json }),
    )
    .map((payload) => ({ type: 'sleep', payload })),
  fc
    .oneof(
      fc.constantFrom('x', 5, [], null, {}),
      fc.record({
        url: fc.oneof(notString, letters(), fc.constantFrom('ftp://example.com', 'example.com', '')),
      }),
      fc.record({
        url: fc.constant('https://example.com'),
        headers: fc.oneof(
          fc.constantFrom('x', 5, [], { host: 'evil' }, { 'x-a': 'b\r\nc: d' }, { 'content-length': '1' }),
          fc.dictionary(
            letters(1, 5).map((k) => `bad${k}`),
            text(5),
            { minKeys: 1, maxKeys: 3 },
          ),
        ),
      }),
      fc.record({ url: fc.constant('https://example.com'), body: json }),
    )
    .map((payload) => ({ type: 'webhook', payload })),
);

const badJob = badBody(JOB, [
  fc
    .tuple(someBody(JOB), badHandlerPayload)
    .map(([b, h]): [string, Record<string, Json>] => [`bad ${h.type} payload`, { ...b, ...h }]),
]);

/** A job of POST /flows: a one-shot job's fields, a ref, and dependsOn (refs, or an existing job's id). */
const FLOW_JOB: Shape = {
  ...Object.fromEntries(
    Object.entries(JOB).filter(
      ([k]) =>
        ![
          'scheduleExpression',
          'timezone',
          'intervalSeconds',
          'startAt',
          'overlapPolicy',
          'catchUpPolicy',
        ].includes(k) && !['idempotencyKey', 'unique', 'dependsOn'].includes(k),
    ),
  ),
  ref: {
    valid: fc.constant('b'),
    invalid: fc.oneof(notString, fc.constantFrom('', 'a b', 'x'.repeat(101), 'ü')),
    required: true,
  },
  dependsOn: {
    valid: fc.constantFrom(['a'], ['a', 'c']),
    invalid: fc.oneof(
      fc.constant([]),
      notNumber.filter((v) => !Array.isArray(v)),
      fc.constantFrom(['nope'], ['a', 'a'], ['b'], [null], [0], ['']),
      unknownId.map((id) => ['a', Number(id)]),
    ),
  },
  idempotencyKey: { valid: fc.constant(''), invalid: letters(1, 20) },
  intervalSeconds: { valid: fc.constant(undefined), invalid: fc.integer({ min: 3600, max: 86_400 }) },
};

/** Flows whose graph is wrong: a cycle, an unknown or duplicate ref, a parent that does not exist. */
const BAD_GRAPH = fc.constantFrom<[string, Json[]]>(
  [
    'a cycle',
    [
      { ref: 'a', type: 'noop', dependsOn: ['b'] },
      { ref: 'b', type: 'noop', dependsOn: ['a'] },
    ],
  ],
  ['a self-loop', [{ ref: 'a', type: 'noop', dependsOn: ['a'] }]],
  ['an unknown ref', [{ ref: 'a', type: 'noop', dependsOn: ['zz'] }]],
  [
    'a duplicate ref',
    [
      { ref: 'a', type: 'noop' },
      { ref: 'a', type: 'noop' },
    ],
  ],
  ['an unknown parent id', [{ ref: 'a', type: 'noop', dependsOn: [987_654_321_012] }]],
);

const TIMER: Shape = {
  hours: { valid: fc.integer({ min: 0, max: 48 }), invalid: badInt(0, 366 * 24) },
  minutes: { valid: fc.integer({ min: 0, max: 59 }), invalid: badInt(0, 366 * 1440) },
  seconds: { valid: fc.integer({ min: 1, max: 59 }), invalid: badInt(0, 366 * 86_400) },
  url: {
    valid: fc.constantFrom('https://example.com/hook', 'http://example.org/x'),
    invalid: fc.oneof(
      notString,
      letters(),
      fc.constantFrom('', '   ', 'ftp://example.com', 'javascript:alert(1)', 'http://', '//example.com/x'),
      fc.integer({ min: 2049, max: 5000 }).map((n) => `https://example.com/${'p'.repeat(n)}`),
    ),
    required: true,
  },
  payload: { valid: json, invalid: fc.constant('\u0000') },
  headers: {
    valid: fc.constant({ 'x-fuzz': '1' }),
    invalid: fc.oneof(
      fc.constantFrom('x', 5, [], null),
      fc.dictionary(letters(1, 5), fc.oneof(fc.integer(), fc.constant(null), fc.boolean()), { minKeys: 1 }),
    ),
  },
  maxAttempts: { valid: fc.integer({ min: 1, max: 100 }), invalid: badInt(1, 100) },
  idempotencyKey: { valid: letters(1, 20), invalid: badString(1, 200) },
};
const badTimer = badBody(TIMER, [
  fc.constant(['all zero', { hours: 0, minutes: 0, seconds: 0, url: 'https://example.com/hook' }]),
  fc
    .tuple(
      fc.integer({ min: 0, max: 366 * 24 }),
      fc.integer({ min: 0, max: 366 * 1440 }),
      fc.integer({ min: 0, max: 366 * 86_400 }),
    )
    .filter(([h, m, s]) => h * 3600 + m * 60 + s > 366 * 86_400)
    .map(([hours, minutes, seconds]): [string, Record<string, Json>] => [
      'over 366 days',
      { hours, minutes, seconds, url: 'https://example.com/hook' },
    ]),
]);

const API_KEY: Shape = {
  name: { valid: letters(1, 20), invalid: badString(1, 200, true), required: true },
  scopes: {
    valid: fc.subarray(['admin', 'client', 'runner'], { minLength: 1 }),
    invalid: fc.oneof(
      fc.constant([]),
      notNumber.filter((v) => !Array.isArray(v)),
      fc.array(
        letters(1, 8).filter((s) => !['admin', 'client', 'runner'].includes(s)),
        { minLength: 1, maxLength: 3 },
      ),
      fc.constant(['admin', 'client', 'runner', 'admin']),
      fc.array(fc.constantFrom(null, 1, {}, []), { minLength: 1, maxLength: 2 }),
    ),
    required: true,
  },
  rateLimitPerMinute: { valid: fc.integer({ min: 1, max: 1_000_000 }), invalid: badInt(1, 1_000_000) },
};

const REGISTER: Shape = {
  id: { valid: unknownUuid, invalid: badUuid },
  name: { valid: letters(1, 20), invalid: badString(1, 200), required: true },
  host: { valid: letters(1, 20), invalid: badString(1, 255), required: true },
  types: {
    valid: fc.subarray(['echo', 'noop'], { minLength: 1 }),
    invalid: fc.oneof(
      fc.constant([]),
      notNumber.filter((v) => !Array.isArray(v)),
      fc.array(fc.oneof(fc.constant(''), fc.integer(), fc.constant(null)), { minLength: 1, maxLength: 3 }),
      fc.integer({ min: 201, max: 400 }).map((n) => Array.from({ length: n }, () => 'echo')),
    ),
    required: true,
  },
  capacity: { valid: fc.integer({ min: 1, max: 10_000 }), invalid: badInt(1, 10_000), required: true },
  queues: {
    valid: fc.subarray(['default', 'fuzz-queue'], { minLength: 1 }),
    invalid: fc.oneof(
      fc.constant([]),
      notNumber.filter((v) => !Array.isArray(v)),
      fc.array(badName, { minLength: 1, maxLength: 3 }),
    ),
  },
};

const HEARTBEAT: Shape = {
  running: {
    valid: positiveIds,
    invalid: fc.oneof(
      notNumber.filter((v) => !Array.isArray(v)),
      fc.array(badInt(1, Number.MAX_SAFE_INTEGER), { minLength: 1, maxLength: 3 }),
      fc.integer({ min: 10_001, max: 12_000 }).map((n) => Array.from({ length: n }, (_, i) => i + 1)),
    ),
  },
  progress: {
    valid: fc.dictionary(
      fc.integer({ min: 1, max: 1_000_000 }).map(String),
      fc.integer({ min: 0, max: 100 }),
      {
        maxKeys: 3,
      },
    ),
    invalid: fc.oneof(
      notNumber.filter((v) => v === null || typeof v !== 'object' || Array.isArray(v)),
      fc.constantFrom({ '0': 5 }, { abc: 5 }, { '1': 101 }, { '1': -1 }, { '1': 'half' }, { '1': [1] }),
      fc.constant({ '1': { note: 'x'.repeat(2_000) } }),
    ),
  },
};
const PURGE: Shape = {
  finishedBefore: { valid: JOB.runAt!.valid, invalid: malformedTimestamp, required: true },
  status: {
    valid: fc.constantFrom('SUCCEEDED', 'FAILED', 'CANCELLED'),
    invalid: fc.oneof(badString(1, 20), fc.constantFrom('RUNNING', 'succeeded')),
  },
  type: { ...JOB.type!, required: false },
};

const DEREGISTER: Shape = {
  started: { ...HEARTBEAT.running!, required: true },
};

const OUTCOME = fc.oneof(
  fc.record({ status: fc.constant('SUCCEEDED'), result: json }, { requiredKeys: ['status'] }),
  fc.record({ status: fc.constant('FAILED'), error: letters(1, 30) }),
  fc.record({ status: fc.constant('CANCELLED') }),
);
const BAD_OUTCOME = fc.oneof(
  notNumber.filter((v) => v === null || typeof v !== 'object' || Array.isArray(v)),
  fc.record({ status: badEnum(['SUCCEEDED', 'FAILED', 'CANCELLED']) }),
  fc.record({
    status: fc.constant('FAILED'),
    error: fc.oneof(fc.constant(''), notString, fc.constant('e'.repeat(10_001))),
  }),
  fc.record({ status: fc.constant('FAILED') }),
  fc.record({
    status: fc.constant('SUCCEEDED'),
    startedAt: badTimestamp.filter(
      (t) => typeof t !== 'string' || (!t.startsWith('19') && !t.startsWith('20')),
    ),
  }),
  fc.record({ status: fc.constant('CANCELLED'), result: json, extra: json }),
  // An unstorable result is not here: it is recorded, as a failure saying why (issue 10, defect 2).
  fc.record({ status: fc.constant('SUCCEEDED'), result: json, resultBytes: fc.nat() }),
);

// ---- requests --------------------------------------------------------------------------------------------

const JSON_TYPE = { 'content-type': 'application/json' };

/** Text that is not JSON: cut short, trailing garbage, single quotes, bare words, invalid UTF-8. */
const brokenJson = fc.oneof(
  fc
    .tuple(
      json.map((v) => JSON.stringify({ v, w: [1, 2, { x: 'y' }] })),
      fc.nat(),
    )
    .map(([s, n]) => s.slice(0, 1 + (n % (s.length - 1)))),
  json.map((v) => `${JSON.stringify({ v })} trailing`),
  fc.constantFrom(
    "{'type': 'echo'}",
    '{"type": "echo",}',
    '{type: "echo"}',
    'undefined',
    'NaN',
    '{"a": 01}',
    '{"a": .5}',
    '{"a": "\\x41"}',
    '[1, 2',
    '{"a": 1}}',
    '\u0000',
    // (An empty or blank body is no body, not broken JSON: routes that take none accept it.)
  ),
  fc
    .uint8Array({ minLength: 1, maxLength: 50 })
    // Invalid UTF-8 outside a string (inside one it decodes to U+FFFD and the JSON is fine).
    .map((b) => Buffer.concat([Buffer.from('{"a":'), Buffer.from([0xff, 0xfe, ...b]), Buffer.from('}')])),
);

/** A content type the API does not take (every route takes JSON only; text/plain is parsed but never valid). */
const foreignType = fc.constantFrom(
  'application/xml',
  'text/html',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=fuzz',
  'application/octet-stream',
  'image/png',
  'application/jsonx',
  'json',
);

type Headers = Record<string, string | string[]>;

/** Authentication that does not get in: none, garbage, an unknown key, or a key without the scope. */
function badAuth(needs: Auth): fc.Arbitrary<[string, Headers]> {
  const wrongScope: [string, string][] =
    needs === 'client'
      ? [['runner', fx.runnerKey]]
      : needs === 'runner'
        ? [['client', fx.clientKey]]
        : [
            ['client', fx.clientKey],
            ['runner', fx.runnerKey],
          ];
  return fc.oneof<fc.Arbitrary<[string, Headers]>[]>(
    fc.constant(['no key', {}]),
    headerText(0, 60)
      .filter((h) => !/^Bearer\s+\S+\s*$/i.test(h))
      .map((h): [string, Record<string, string>] => [
        `Authorization ${JSON.stringify(h)}`,
        { authorization: h },
      ]),
    fc
      .constantFrom(
        'Basic YWRtaW46YWRtaW4=',
        'Bearer',
        'Bearer ',
        `bearer  ${ADMIN_KEY} x`,
        `Token ${ADMIN_KEY}`,
      )
      .map((h): [string, Record<string, string>] => [`Authorization ${h}`, { authorization: h }]),
    headerText(1, 80)
      .filter((k) => !/\s/.test(k) && k !== ADMIN_KEY)
      .map((k): [string, Record<string, string>] => ['unknown bearer key', { authorization: `Bearer ${k}` }]),
    fc
      .tuple(fc.stringMatching(/^[0-9a-f]{12}$/), fc.stringMatching(/^[A-Za-z0-9_-]{43}$/))
      .map(([p, s]): [string, Record<string, string>] => [
        'unknown well-formed key',
        { authorization: `Bearer hg_${p}_${s}` },
      ]),
    headerText(1, 80)
      .filter((k) => k !== ADMIN_KEY && k.trim() === k)
      .map((k): [string, Record<string, string>] => ['unknown X-API-Key', { 'x-api-key': k }]),
    fc.constant(['two X-API-Key headers', { 'x-api-key': [ADMIN_KEY, ADMIN_KEY] }]),
    fc.constant([
      `a tampered key`,
      { authorization: `Bearer ${fx.clientKey.slice(0, -1)}${fx.clientKey.endsWith('A') ? 'B' : 'A'}` },
    ]),
    ...(needs === 'public' || needs === 'anyKey'
      ? []
      : [
          fc
            .constantFrom(...wrongScope)
            .map(([s, k]): [string, Record<string, string>] => [
              `${s} key`,
              { authorization: `Bearer ${k}` },
            ]),
        ]),
  );
}

const admin = { authorization: `Bearer ${ADMIN_KEY}` };

interface Route {
  method: Req['method'];
  path: string;
  auth: Auth;
  runs: number;
  /** Requests with good authentication and bad input. */
  bad: () => fc.Arbitrary<Req>;
  /** A request of this route with good input, sent under bad authentication. */
  someInput?: () => fc.Arbitrary<Pick<Req, 'url' | 'payload' | 'headers'>>;
}

const withJson = (method: Req['method'], url: string, [defect, body]: [string, Json]): Req => ({
  method,
  url,
  headers: { ...admin, ...JSON_TYPE },
  payload: toJson(body),
  defect,
});

/** Defects of the body itself, whatever the route: broken JSON, a foreign content type. */
const bodyLevel = (method: Req['method'], url: fc.Arbitrary<string>, takesText = true) =>
  fc.oneof(
    fc.tuple(url, brokenJson).map(
      ([u, p]): Req => ({
        method,
        url: u,
        headers: { ...admin, ...JSON_TYPE },
        payload: p,
        defect: 'broken JSON',
      }),
    ),
    fc
      .tuple(
        url,
        foreignType,
        fc.oneof(
          letters(1, 30),
          json.map((v) => JSON.stringify(v)),
        ),
      )
      .map(
        ([u, type, p]): Req => ({
          method,
          url: u,
          headers: { ...admin, 'content-type': type },
          payload: p || 'x',
          defect: `content type ${type}`,
        }),
      ),
    // A JSON body whose top level is not an object (for routes that take a body).
    ...(takesText
      ? [
          // Not null: heartbeat and deregister take a null body (as no body).
          fc
            .tuple(
              url,
              fc.oneof(
                text(20),
                fc.integer(),
                fc.boolean(),
                fc.array(json, { maxLength: 3 }),
                deepJson,
                hugeJson,
              ),
            )
            .map(
              ([u, v]): Req => ({
                method,
                url: u,
                headers: { ...admin, ...JSON_TYPE },
                payload: toJson(v),
                defect: 'body not an object',
              }),
            ),
          fc.tuple(url, letters(1, 40)).map(
            ([u, p]): Req => ({
              method,
              url: u,
              headers: { ...admin, 'content-type': 'text/plain' },
              payload: p,
              defect: 'text/plain body',
            }),
          ),
        ]
      : []),
  );

/** A query string of `pairs` (each value already a string). */
const qs = (pairs: [string, string][]) =>
  pairs.length
    ? `?${pairs.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&')}`
    : '';

/** Bad query strings for a strict query schema: a bad value of a known parameter, an unknown one, a repeated one. */
function badQuery(params: Record<string, fc.Arbitrary<string>>): fc.Arbitrary<[string, string]> {
  const known = Object.keys(params);
  return fc.oneof(
    fc
      .constantFrom(...known)
      .chain((k) => params[k]!.map((v): [string, string] => [`${k}=${JSON.stringify(v)}`, qs([[k, v]])])),
    fc
      .tuple(
        letters(1, 12).filter((k) => !known.includes(k)),
        asciiText(0, 10),
      )
      .map(([k, v]): [string, string] => [`unknown parameter ${k}`, qs([[k, v]])]),
    fc.constantFrom(...known).map((k): [string, string] => [`${k} twice`, `?${k}=1&${k}=2`]),
  );
}
const badLimit = (max: number) =>
  fc.oneof(
    int(max + 1, 10 ** 12).map(String),
    fc.integer({ min: -(10 ** 6), max: 0 }).map(String),
    fc.integer({ min: 1, max: max - 1 }).map((n) => `${n}.5`),
    letters(1, 8),
    fc.constantFrom('', '1e999', '-0', 'Infinity', '0x'),
  );
const badCursor = fc.oneof(
  fc.integer({ min: -(10 ** 6), max: 0 }).map(String),
  fc.integer({ min: 1, max: 10 ** 6 }).map((n) => `${n}.5`),
  letters(1, 8),
  fc.constantFrom('', '1e999', 'Infinity'),
);
/** Seconds to wait: 0 to 60. */
const badWait = fc.oneof(
  int(61, 10 ** 9).map(String),
  fc.integer({ min: -(10 ** 6), max: -1 }).map(String),
  letters(1, 8),
  fc.constantFrom('1e999', 'Infinity', 'NaN', '-0.5'),
);
const badBool = letters(1, 8).filter((v) => v !== 'true' && v !== 'false');

/** Id routes: a malformed id (400), a well-formed unknown one (404), or body-level defects on a real one. */
function idRoute(
  method: Req['method'],
  path: (id: string) => string,
  opts: { realId?: () => string; body?: boolean; uuid?: boolean } = {},
): () => fc.Arbitrary<Req> {
  return () => {
    const bad = opts.uuid ? badUuid : badId;
    const unknown = opts.uuid ? unknownUuid : unknownId;
    const req = (defect: string, url: string): Req => ({ method, url, headers: { ...admin }, defect });
    return fc.oneof(
      { weight: 3, arbitrary: bad.map((id) => req(`bad id ${JSON.stringify(id)}`, path(id))) },
      unknown.map((id) => req(`unknown id ${id}`, path(id))),
      ...(opts.realId && method !== 'GET'
        ? [
            bodyLevel(
              method,
              fc.constant(0).map(() => path(opts.realId!())),
              opts.body ?? false,
            ),
          ]
        : []),
    );
  };
}

const ROUTES: Route[] = [
  // Keys
  {
    method: 'POST',
    path: '/api-keys',
    auth: 'admin',
    runs: 110,
    bad: () =>
      fc.oneof(
        { weight: 4, arbitrary: badBody(API_KEY).map((b) => withJson('POST', '/api-keys', b)) },
        bodyLevel('POST', fc.constant('/api-keys')),
      ),
    someInput: () =>
      someBody(API_KEY).map((b) => ({ url: '/api-keys', payload: toJson(b), headers: JSON_TYPE })),
  },
  {
    method: 'GET',
    path: '/api-keys',
    auth: 'admin',
    runs: 30,
    bad: () =>
      fc.tuple(letters(1, 10), asciiText()).map(
        ([k, v]): Req => ({
          method: 'GET',
          url: `/api-keys${qs([[k, v]])}`,
          headers: admin,
          defect: 'a query it does not take',
          mayPass: true,
        }),
      ),
  },
  {
    method: 'DELETE',
    path: '/api-keys/:id',
    auth: 'admin',
    runs: 50,
    bad: idRoute('DELETE', (id) => `/api-keys/${id}`, { realId: () => String(fx.keyId) }),
    someInput: () => fc.constant({ url: `/api-keys/${fx.keyId}`, headers: {} }),
  },
  // Jobs
  {
    method: 'POST',
    path: '/jobs',
    auth: 'client',
    runs: 300,
    bad: () =>
      fc.oneof(
        { weight: 8, arbitrary: badJob.map((b) => withJson('POST', '/jobs', b)) },
        { weight: 2, arbitrary: bodyLevel('POST', fc.constant('/jobs')) },
        fc
          .tuple(
            someBody(JOB),
            fc.integer({ min: 201, max: 2000 }).map((n) => 'k'.repeat(n)),
          )
          .map(
            ([b, key]): Req => ({
              ...withJson('POST', '/jobs', ['bad Idempotency-Key header', b]),
              headers: { ...admin, ...JSON_TYPE, 'idempotency-key': key },
            }),
          ),
      ),
    someInput: () => someBody(JOB).map((b) => ({ url: '/jobs', payload: toJson(b), headers: JSON_TYPE })),
  },
  {
    method: 'POST',
    path: '/jobs/batch',
    auth: 'client',
    runs: 120,
    bad: () =>
      fc.oneof(
        {
          weight: 4,
          arbitrary: fc
            .tuple(
              fc.array(
                someBody(JOB).map((b) => ({ ...b, type: 'noop' })),
                { maxLength: 4 },
              ),
              badJob,
              fc.nat(),
            )
            .map(([good, [defect, bad], at]) => {
              const jobs: Json[] = [...good];
              jobs.splice(at % (good.length + 1), 0, bad);
              return withJson('POST', '/jobs/batch', [`an item with ${defect}`, { jobs }]);
            }),
        },
        badBody({
          jobs: {
            valid: fc.array(fc.constant({ type: 'noop', delayMs: 3_600_000 }), {
              minLength: 1,
              maxLength: 3,
            }),
            invalid: fc.oneof(
              fc.constant([]),
              notNumber.filter((v) => !Array.isArray(v)),
              fc.constant(Array.from({ length: 1001 }, () => ({ type: 'noop' }))),
              fc.array(fc.oneof(fc.constant(null), fc.integer(), text(5)), { minLength: 1, maxLength: 3 }),
              deepJson,
            ),
            required: true,
          },
        }).map((b) => withJson('POST', '/jobs/batch', b)),
        bodyLevel('POST', fc.constant('/jobs/batch')),
      ),
    someInput: () =>
      someBody(JOB).map((b) => ({ url: '/jobs/batch', payload: toJson({ jobs: [b] }), headers: JSON_TYPE })),
  },
  {
    method: 'GET',
    path: '/jobs',
    auth: 'client',
    runs: 80,
    bad: () =>
      badQuery({
        status: badEnumText([...JobStatus.options]),
        kind: badEnumText(['once', 'cron', 'interval']),
        type: fc.oneof(
          fc.constant(''),
          fc.integer({ min: 101, max: 500 }).map((n) => 't'.repeat(n)),
          text(5).map((t) => `${t}\u0000`),
        ),
        limit: badLimit(500),
        cursor: badCursor,
        q: fc.oneof(
          fc.constantFrom('', ' ', '\t'),
          fc.integer({ min: 201, max: 500 }).map((n) => 'q'.repeat(n)),
        ),
      }).map(([defect, q]): Req => ({ method: 'GET', url: `/jobs${q}`, headers: admin, defect })),
    someInput: () => fc.constant({ url: '/jobs?limit=1', headers: {} }),
  },
  {
    method: 'GET',
    path: '/jobs/:id',
    auth: 'client',
    runs: 50,
    bad: () =>
      fc.oneof(
        idRoute('GET', (id) => `/jobs/${id}`)(),
        badQuery({ wait: badWait }).map(
          ([defect, q]): Req => ({
            method: 'GET',
            url: `/jobs/${fx.scheduledJobId}${q}`,
            headers: admin,
            defect,
          }),
        ),
      ),
    someInput: () => fc.constant({ url: `/jobs/${fx.scheduledJobId}`, headers: {} }),
  },
  {
    method: 'GET',
    path: '/jobs/:id/executions',
    auth: 'client',
    runs: 50,
    bad: () =>
      fc.oneof(
        idRoute('GET', (id) => `/jobs/${id}/executions`)(),
        badQuery({ limit: badLimit(500), cursor: badCursor }).map(
          ([defect, q]): Req => ({
            method: 'GET',
            url: `/jobs/${fx.scheduledJobId}/executions${q}`,
            headers: admin,
            defect,
          }),
        ),
      ),
    someInput: () => fc.constant({ url: `/jobs/${fx.scheduledJobId}/executions`, headers: {} }),
  },
  {
    method: 'DELETE',
    path: '/jobs/:id',
    auth: 'client',
    runs: 50,
    // The real job is waiting: deleting it is refused (409), so nothing is written either way.
    bad: idRoute('DELETE', (id) => `/jobs/${id}`, { realId: () => String(fx.scheduledJobId) }),
    someInput: () => fc.constant({ url: `/jobs/${fx.scheduledJobId}`, headers: {} }),
  },
  {
    method: 'POST',
    path: '/jobs/purge',
    auth: 'admin',
    runs: 100,
    bad: () => badBody(PURGE).map((b) => withJson('POST', '/jobs/purge', b)),
    someInput: () =>
      fc.constant({
        url: '/jobs/purge',
        headers: {},
        payload: JSON.stringify({ finishedBefore: '2000-01-01T00:00:00Z' }),
      }),
  },
  ...(['trigger', 'cancel', 'pause', 'resume'] as const).map(
    (action): Route => ({
      method: 'POST',
      path: `/jobs/:id/${action}`,
      auth: 'client',
      runs: 50,
      bad: idRoute('POST', (id) => `/jobs/${id}/${action}`, {
        realId: () => String(action === 'pause' ? fx.cronJobId : fx.scheduledJobId),
      }),
      someInput: () =>
        fc.constant({
          url: `/jobs/${action === 'pause' ? fx.cronJobId : fx.scheduledJobId}/${action}`,
          headers: {},
        }),
    }),
  ),
  {
    method: 'PATCH',
    path: '/jobs/:id',
    auth: 'client',
    runs: 100,
    bad: () => {
      const PATCH: Shape = {
        scheduleExpression: JOB.scheduleExpression!,
        timezone: JOB.timezone!,
        intervalSeconds: JOB.intervalSeconds!,
        overlapPolicy: JOB.overlapPolicy!,
        catchUpPolicy: JOB.catchUpPolicy!,
      };
      const url = fc.constant(0).map(() => `/jobs/${fx.cronJobId}`);
      return fc.oneof(
        {
          weight: 4,
          arbitrary: fc
            .tuple(
              url,
              badBody(PATCH, [
                fc.constant(['nothing to change', {}]),
                fc.constant(['cron and interval', { scheduleExpression: '0 3 * * *', intervalSeconds: 60 }]),
              ]),
            )
            .map(([u, b]) => withJson('PATCH', u, b)),
        },
        fc
          .tuple(fc.oneof(badId, unknownId), someBody(PATCH))
          .map(([id, b]) => withJson('PATCH', `/jobs/${id}`, [`id ${JSON.stringify(id)}`, b])),
        // A one-shot job cannot be given a schedule.
        fc
          .constant(0)
          .map(() =>
            withJson('PATCH', `/jobs/${fx.scheduledJobId}`, ['a one-shot job', { overlapPolicy: 'allow' }]),
          ),
        bodyLevel('PATCH', url),
      );
    },
    someInput: () =>
      fc.constant({ url: `/jobs/${fx.cronJobId}`, payload: '{"overlapPolicy":"allow"}', headers: JSON_TYPE }),
  },
  // Flows
  {
    method: 'POST',
    path: '/flows',
    auth: 'client',
    runs: 150,
    bad: () =>
      fc.oneof(
        {
          // One bad job among good ones (refs a and c exist, so the bad job's own dependsOn may be valid).
          weight: 4,
          arbitrary: badBody(FLOW_JOB).map(([defect, bad]) =>
            withJson('POST', '/flows', [
              `a job with ${defect}`,
              { jobs: [{ ref: 'a', type: 'noop', delayMs: 3_600_000 }, { ref: 'c', type: 'noop' }, bad] },
            ]),
          ),
        },
        BAD_GRAPH.map(([defect, jobs]) => withJson('POST', '/flows', [defect, { jobs }])),
        badBody({
          jobs: {
            valid: fc.constant([{ ref: 'a', type: 'noop', delayMs: 3_600_000 }]),
            invalid: fc.oneof(
              fc.constant([]),
              notNumber.filter((v) => !Array.isArray(v)),
              fc.constant(Array.from({ length: 1001 }, (_, i) => ({ ref: `j${i}`, type: 'noop' }))),
              fc.array(fc.oneof(fc.constant(null), fc.integer(), text(5)), { minLength: 1, maxLength: 3 }),
              deepJson,
            ),
            required: true,
          },
        }).map((b) => withJson('POST', '/flows', b)),
        bodyLevel('POST', fc.constant('/flows')),
      ),
    someInput: () =>
      fc.constant({
        url: '/flows',
        payload: toJson({ jobs: [{ ref: 'a', type: 'noop' }] }),
        headers: JSON_TYPE,
      }),
  },
  {
    method: 'GET',
    path: '/flows/:id',
    auth: 'client',
    runs: 40,
    bad: idRoute('GET', (id) => `/flows/${id}`),
    someInput: () => fc.constant({ url: '/flows/1', headers: {} }),
  },
  // Queues
  {
    method: 'GET',
    path: '/queues',
    auth: 'client',
    runs: 30,
    bad: () =>
      fc.tuple(letters(1, 10), asciiText()).map(
        ([k, v]): Req => ({
          method: 'GET',
          url: `/queues${qs([[k, v]])}`,
          headers: admin,
          defect: 'a query it does not take',
        }),
      ),
    someInput: () => fc.constant({ url: '/queues', headers: {} }),
  },
  {
    method: 'GET',
    path: '/queues/:name',
    auth: 'client',
    runs: 40,
    bad: () =>
      fc.oneof(
        badNameInPath.map(
          (n): Req => ({ method: 'GET', url: `/queues/${n}`, headers: admin, defect: `bad name ${n}` }),
        ),
        letters(8, 20).map(
          (n): Req => ({ method: 'GET', url: `/queues/nope-${n}`, headers: admin, defect: 'unknown queue' }),
        ),
      ),
    someInput: () => fc.constant({ url: '/queues/default', headers: {} }),
  },
  {
    method: 'PUT',
    path: '/queues/:name',
    auth: 'admin',
    runs: 120,
    bad: () =>
      fc.oneof(
        {
          weight: 4,
          arbitrary: badBody(QUEUE_SETTINGS).map((b) => withJson('PUT', '/queues/fuzz-queue', b)),
        },
        fc
          .tuple(badNameInPath, someBody(QUEUE_SETTINGS))
          .map(([n, b]) => withJson('PUT', `/queues/${n}`, [`bad name ${n}`, b])),
        bodyLevel('PUT', fc.constant('/queues/fuzz-queue')),
      ),
    someInput: () =>
      someBody(QUEUE_SETTINGS).map((b) => ({
        url: '/queues/fuzz-queue',
        payload: toJson(b),
        headers: JSON_TYPE,
      })),
  },
  ...(['pause', 'resume'] as const).map(
    (action): Route => ({
      method: 'POST',
      path: `/queues/:name/${action}`,
      auth: 'admin',
      runs: 40,
      bad: () =>
        badNameInPath.map(
          (n): Req => ({
            method: 'POST',
            url: `/queues/${n}/${action}`,
            headers: admin,
            defect: `bad name ${n}`,
          }),
        ),
      someInput: () => fc.constant({ url: `/queues/fuzz-queue/${action}`, headers: {} }),
    }),
  ),
  // Timers
  {
    method: 'POST',
    path: '/timers',
    auth: 'client',
    runs: 150,
    bad: () =>
      fc.oneof(
        { weight: 4, arbitrary: badTimer.map((b) => withJson('POST', '/timers', b)) },
        bodyLevel('POST', fc.constant('/timers')),
      ),
    someInput: () => someBody(TIMER).map((b) => ({ url: '/timers', payload: toJson(b), headers: JSON_TYPE })),
  },
  {
    method: 'GET',
    path: '/timers/:id',
    auth: 'client',
    runs: 40,
    bad: idRoute('GET', (id) => `/timers/${id}`),
    someInput: () => fc.constant({ url: `/timers/${fx.timerId}`, headers: {} }),
  },
  // Events. Every request here must be refused: a valid one would be a stream that never ends.
  {
    method: 'GET',
    path: '/events',
    auth: 'client',
    runs: 60,
    bad: () => {
      const badAfter = badCursor.filter((v) => v !== '0');
      return fc.oneof(
        badQuery({
          jobId: badCursor,
          type: fc.constantFrom('Upper', '9start', 'x y', ''),
          kinds: fc.oneof(letters(1, 12), fc.constantFrom('job.*x', 'nope.*', ',', '', 'job.created,zzz')),
          after: badAfter,
          follow: badBool,
        }).map(([defect, q]): Req => ({ method: 'GET', url: `/events${q}`, headers: admin, defect })),
        badAfter.map(
          (v): Req => ({
            method: 'GET',
            url: '/events',
            headers: { ...admin, 'last-event-id': v },
            defect: `last-event-id ${JSON.stringify(v)}`,
          }),
        ),
      );
    },
    someInput: () => fc.constant({ url: '/events?after=0', headers: {} }),
  },
  // Runners
  {
    method: 'POST',
    path: '/runners/register',
    auth: 'runner',
    runs: 110,
    bad: () =>
      fc.oneof(
        { weight: 4, arbitrary: badBody(REGISTER).map((b) => withJson('POST', '/runners/register', b)) },
        bodyLevel('POST', fc.constant('/runners/register')),
      ),
    someInput: () =>
      someBody(REGISTER).map((b) => ({ url: '/runners/register', payload: toJson(b), headers: JSON_TYPE })),
  },
  {
    method: 'POST',
    path: '/runners/:id/heartbeat',
    auth: 'runner',
    runs: 80,
    bad: () => {
      const url = fc.constant(0).map(() => `/runners/${fx.runnerId}/heartbeat`);
      return fc.oneof(
        { weight: 3, arbitrary: fc.tuple(url, badBody(HEARTBEAT)).map(([u, b]) => withJson('POST', u, b)) },
        fc
          .tuple(badUuid, someBody(HEARTBEAT))
          .map(([id, b]) => withJson('POST', `/runners/${id}/heartbeat`, [`bad id ${id}`, b])),
        fc
          .tuple(unknownUuid, someBody(HEARTBEAT))
          .map(([id, b]) => withJson('POST', `/runners/${id}/heartbeat`, ['unknown runner', b])),
        bodyLevel('POST', url),
      );
    },
    someInput: () =>
      fc.constant({
        url: `/runners/${fx.runnerId}/heartbeat`,
        payload: '{"running":[]}',
        headers: JSON_TYPE,
      }),
  },
  {
    method: 'POST',
    path: '/runners/:id/next-job',
    auth: 'runner',
    runs: 80,
    bad: () => {
      const query = badQuery({
        wait: fc.oneof(
          fc.integer({ min: 61, max: 10 ** 9 }).map(String),
          fc.integer({ min: -(10 ** 6), max: -1 }).map(String),
          letters(1, 8),
          fc.constantFrom('1e999', 'Infinity', '-Infinity'),
        ),
        max: badLimit(1000),
      });
      return fc.oneof(
        {
          weight: 3,
          arbitrary: query.map(
            ([defect, q]): Req => ({
              method: 'POST',
              url: `/runners/${fx.runnerId}/next-job${q}`,
              headers: admin,
              defect,
            }),
          ),
        },
        badUuid.map(
          (id): Req => ({
            method: 'POST',
            url: `/runners/${id}/next-job?wait=0`,
            headers: admin,
            defect: `bad id ${id}`,
          }),
        ),
        unknownUuid.map(
          (id): Req => ({
            method: 'POST',
            url: `/runners/${id}/next-job?wait=0`,
            headers: admin,
            defect: 'unknown runner',
          }),
        ),
        bodyLevel(
          'POST',
          fc.constant(0).map(() => `/runners/${fx.runnerId}/next-job?wait=0`),
          false,
        ),
      );
    },
    someInput: () => fc.constant({ url: `/runners/${fx.runnerId}/next-job?wait=0`, headers: {} }),
  },
  {
    method: 'POST',
    path: '/runners/:id/drain',
    auth: 'admin',
    runs: 40,
    bad: idRoute('POST', (id) => `/runners/${id}/drain`, { uuid: true, realId: () => fx.runnerId }),
    someInput: () => fc.constant({ url: `/runners/${fx.runnerId}/drain`, headers: {} }),
  },
  {
    method: 'DELETE',
    path: '/runners/:id',
    auth: 'runner',
    runs: 60,
    bad: () => {
      const url = fc.constant(0).map(() => `/runners/${fx.runnerId}`);
      return fc.oneof(
        {
          weight: 3,
          arbitrary: fc.tuple(url, badBody(DEREGISTER)).map(([u, b]) => withJson('DELETE', u, b)),
        },
        badUuid.map(
          (id): Req => ({ method: 'DELETE', url: `/runners/${id}`, headers: admin, defect: `bad id ${id}` }),
        ),
        unknownUuid.map(
          (id): Req => ({
            method: 'DELETE',
            url: `/runners/${id}`,
            headers: admin,
            defect: 'unknown runner',
          }),
        ),
        bodyLevel('DELETE', url),
      );
    },
    someInput: () => fc.constant({ url: `/runners/${fx.runnerId}`, headers: {} }),
  },
  {
    method: 'GET',
    path: '/runners',
    auth: 'client',
    runs: 30,
    bad: () =>
      badQuery({ includeOffline: badBool }).map(
        ([defect, q]): Req => ({ method: 'GET', url: `/runners${q}`, headers: admin, defect }),
      ),
    someInput: () => fc.constant({ url: '/runners', headers: {} }),
  },
  {
    method: 'GET',
    path: '/job-types',
    auth: 'client',
    runs: 20,
    bad: () =>
      fc.tuple(letters(1, 12), asciiText(0, 10)).map(
        ([k, v]): Req => ({
          method: 'GET',
          url: `/job-types${qs([[k, v]])}`,
          headers: admin,
          defect: `parameter ${k}`,
        }),
      ),
    someInput: () => fc.constant({ url: '/job-types', headers: {} }),
  },
  // What a dashboard opens with
  ...(
    [
      ['/auth/me', 'anyKey'],
      ['/stats', 'client'],
    ] as const
  ).map(
    ([path, auth]): Route => ({
      method: 'GET',
      path,
      auth,
      runs: 20,
      bad: () =>
        fc.tuple(letters(1, 12), asciiText(0, 10)).map(
          ([k, v]): Req => ({
            method: 'GET',
            url: `${path}${qs([[k, v]])}`,
            headers: admin,
            defect: `parameter ${k}`,
          }),
        ),
      someInput: () => fc.constant({ url: path, headers: {} }),
    }),
  ),
  // Executions
  {
    method: 'GET',
    path: '/executions/active',
    auth: 'client',
    runs: 30,
    bad: () =>
      badQuery({ limit: badLimit(5000) }).map(
        ([defect, q]): Req => ({ method: 'GET', url: `/executions/active${q}`, headers: admin, defect }),
      ),
    someInput: () => fc.constant({ url: '/executions/active', headers: {} }),
  },
  {
    method: 'GET',
    path: '/executions/:id',
    auth: 'client',
    runs: 40,
    bad: idRoute('GET', (id) => `/executions/${id}`),
    someInput: () => fc.constant({ url: `/executions/${fx.runningExecutionId}`, headers: {} }),
  },
  {
    method: 'POST',
    path: '/executions/:id/complete',
    auth: 'runner',
    runs: 120,
    bad: () => {
      const url = fc.constant(0).map(() => `/executions/${fx.runningExecutionId}/complete`);
      const COMPLETE: Shape = {
        runnerId: {
          valid: fc.constant(0).map(() => fx.runnerId),
          invalid: fc.oneof(badUuid, notString),
          required: true,
        },
        outcome: { valid: OUTCOME, invalid: BAD_OUTCOME, required: true },
      };
      return fc.oneof(
        { weight: 4, arbitrary: fc.tuple(url, badBody(COMPLETE)).map(([u, b]) => withJson('POST', u, b)) },
        // Well-formed, but from a runner that does not hold it: 409, nothing recorded.
        fc
          .tuple(url, unknownUuid, OUTCOME)
          .map(([u, id, outcome]) => withJson('POST', u, ['not the holder', { runnerId: id, outcome }])),
        fc
          .tuple(fc.oneof(badId, unknownId), OUTCOME)
          .map(([id, outcome]) =>
            withJson('POST', `/executions/${id}/complete`, [
              `execution ${id}`,
              { runnerId: fx.runnerId, outcome },
            ]),
          ),
        bodyLevel('POST', url),
      );
    },
    someInput: () =>
      fc.constant({
        url: `/executions/${fx.runningExecutionId}/complete`,
        payload: JSON.stringify({ runnerId: fx.runnerId, outcome: { status: 'SUCCEEDED' } }),
        headers: JSON_TYPE,
      }),
  },
  {
    method: 'POST',
    path: '/executions/complete',
    auth: 'runner',
    runs: 120,
    bad: () => {
      const RESULT: Shape = {
        executionId: {
          valid: fc.constant(0).map(() => fx.runningExecutionId),
          invalid: badInt(1, Number.MAX_SAFE_INTEGER),
          required: true,
        },
        outcome: { valid: OUTCOME, invalid: BAD_OUTCOME, required: true },
      };
      const BATCH: Shape = {
        runnerId: {
          valid: fc.constant(0).map(() => fx.runnerId),
          invalid: fc.oneof(badUuid, notString),
          required: true,
        },
        results: {
          valid: fc.array(someBody(RESULT), { minLength: 1, maxLength: 3 }),
          invalid: fc.oneof(
            fc.constant([]),
            notNumber.filter((v) => !Array.isArray(v)),
            fc
              .tuple(fc.array(someBody(RESULT), { maxLength: 3 }), badBody(RESULT))
              .map(([ok, [, bad]]) => [...ok, bad]),
            fc.constant(0).map(() =>
              Array.from({ length: 1001 }, () => ({
                executionId: fx.runningExecutionId,
                outcome: { status: 'SUCCEEDED' },
              })),
            ),
          ),
          required: true,
        },
      };
      return fc.oneof(
        { weight: 4, arbitrary: badBody(BATCH).map((b) => withJson('POST', '/executions/complete', b)) },
        // Well-formed reports of executions the runner does not hold: a 200 of `conflict` verdicts, nothing recorded.
        fc
          .tuple(unknownUuid, fc.array(someBody(RESULT), { minLength: 1, maxLength: 5 }))
          .map(([id, results]) => ({
            ...withJson('POST', '/executions/complete', ['not the holder', { runnerId: id, results }]),
            mayPass: true,
          })),
        fc.array(fc.tuple(unknownId, OUTCOME), { minLength: 1, maxLength: 5 }).map((rs) => ({
          ...withJson('POST', '/executions/complete', [
            'unknown executions',
            {
              runnerId: fx.runnerId,
              results: rs.map(([id, outcome]) => ({ executionId: Number(id), outcome })),
            },
          ]),
          mayPass: true,
        })),
        bodyLevel('POST', fc.constant('/executions/complete')),
      );
    },
    someInput: () =>
      fc.constant({
        url: '/executions/complete',
        payload: JSON.stringify({
          runnerId: fx.runnerId,
          results: [{ executionId: fx.runningExecutionId, outcome: { status: 'SUCCEEDED' } }],
        }),
        headers: JSON_TYPE,
      }),
  },
  // Dead letters
  {
    method: 'GET',
    path: '/dead-letters',
    auth: 'client',
    runs: 40,
    bad: () =>
      badQuery({ includeRequeued: badBool, limit: badLimit(500), cursor: badCursor }).map(
        ([defect, q]): Req => ({ method: 'GET', url: `/dead-letters${q}`, headers: admin, defect }),
      ),
    someInput: () => fc.constant({ url: '/dead-letters', headers: {} }),
  },
  {
    method: 'POST',
    path: '/dead-letters/:id/requeue',
    auth: 'client',
    runs: 50,
    bad: idRoute('POST', (id) => `/dead-letters/${id}/requeue`, { realId: () => String(fx.deadLetterId) }),
    someInput: () => fc.constant({ url: `/dead-letters/${fx.deadLetterId}/requeue`, headers: {} }),
  },
];

/**
 * Public reads (health, metrics, the API description, the dashboard's files): junk queries and headers change
 * nothing and never fail.
 */
const PUBLIC_READS = ['/healthz', '/readyz', '/metrics', '/openapi.json', '/ui', '/ui/*'];

function publicRoute(path: string): Route {
  return {
    method: 'GET',
    path,
    auth: 'public',
    runs: path === '/openapi.json' ? 10 : 25,
    bad: () =>
      fc.tuple(fc.array(fc.tuple(letters(1, 10), asciiText()), { maxLength: 3 }), badAuth('public')).map(
        ([q, [, headers]]): Req => ({
          method: 'GET',
          url: `${path}${qs(q)}`,
          headers,
          defect: 'junk query and headers',
          mayPass: true,
        }),
      ),
  };
}

async function send(req: Req) {
  return o.app.inject({
    method: req.method,
    url: req.url,
    headers: req.headers,
    ...(req.payload === undefined ? {} : { payload: req.payload }),
  });
}

/** One line for a failure message: a deep or huge body would print as megabytes. */
function show(req: Req): string {
  const payload =
    req.payload === undefined
      ? ''
      : ` ${String(req.payload).slice(0, 300)}${String(req.payload).length > 300 ? '…' : ''}`;
  return `${req.method} ${req.url.slice(0, 200)} [${req.defect}] ${JSON.stringify(req.headers).slice(0, 200)}${payload}`;
}

/** The checks on one answer; throws (with the request) when one fails. */
function check(req: Req, res: Awaited<ReturnType<typeof send>>, before: unknown, after: unknown) {
  const why: string[] = [];
  if (res.statusCode >= 500) why.push(`${res.statusCode}`);
  if (!req.mayPass && (res.statusCode < 400 || res.statusCode >= 500))
    why.push(`status ${res.statusCode}, expected a 4xx`);
  if (res.statusCode >= 400) {
    const type = String(res.headers['content-type']);
    if (!type.startsWith('application/problem+json')) why.push(`content-type ${type}`);
    else {
      const body = res.json();
      if (body.status !== res.statusCode || typeof body.code !== 'string' || typeof body.title !== 'string') {
        why.push('not a problem document');
      }
      if (/\n\s+at .+:\d+:\d+|\bSELECT\b.*\bFROM\b|\bINSERT INTO\b/.test(res.body))
        why.push('internals in the answer');
    }
  }
  if (JSON.stringify(before) !== JSON.stringify(after))
    why.push(`wrote: ${JSON.stringify(before)} → ${JSON.stringify(after)}`);
  if (why.length)
    throw new Error(
      `${why.join('; ')}\n  request: ${show(req)}\n  answer: ${res.statusCode} ${res.body.slice(0, 300)}`,
    );
}

test('every route: generated bad requests get a 4xx problem+json, never a 5xx, and write nothing', async () => {
  const served = o.app.registeredRoutes
    .filter((r) => r.method !== 'HEAD' && r.method !== 'OPTIONS' && !r.url.startsWith('/docs'))
    .map((r) => `${r.method} ${r.url}`);
  const routes = [...ROUTES, ...PUBLIC_READS.filter((p) => served.includes(`GET ${p}`)).map(publicRoute)];
  const covered = new Set(routes.map((r) => `${r.method} ${r.path}`));
  // A new route needs a generator here: the property must reach every route.
  expect(served.filter((r) => !covered.has(r))).toEqual([]);
  expect(routes.filter((r) => !served.includes(`${r.method} ${r.path}`)).map((r) => r.path)).toEqual([]);

  const baseline = await digests();
  // Every table has rows a bad request could damage.
  for (const [table, digest] of Object.entries(baseline)) expect(digest, table).not.toBeNull();
  let total = 0;
  const statuses = new Map<number, number>();
  for (const route of routes) {
    const arbitrary =
      route.auth === 'public'
        ? route.bad()
        : fc.oneof(
            { weight: 5, arbitrary: route.bad() },
            {
              weight: 1,
              arbitrary: fc
                .tuple(
                  route.someInput?.() ??
                    route.bad().map((r) => ({
                      url: r.url,
                      payload: r.payload,
                      headers: {} as Record<string, string>,
                    })),
                  badAuth(route.auth),
                )
                .map(
                  ([input, [defect, auth]]): Req => ({
                    method: route.method,
                    url: input.url,
                    headers: {
                      ...Object.fromEntries(
                        Object.entries(input.headers).filter(([k]) => k !== 'authorization'),
                      ),
                      ...auth,
                    },
                    payload: input.payload,
                    defect: `auth: ${defect}`,
                  }),
                ),
            },
          );
    // Counterexamples print as one short line (a deep or huge body would print as megabytes).
    const printable = arbitrary.map((req) => Object.assign(req, { [fc.toStringMethod]: () => show(req) }));
    await fc.assert(
      fc.asyncProperty(printable, async (req) => {
        const before = await digests();
        const res = await send(req);
        const after = await digests();
        total++;
        statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1);
        check(req, res, before, after);
      }),
      { numRuns: route.runs, seed: SEED, verbose: 0, interruptAfterTimeLimit: 20_000 },
    );
    // And nothing changed since the start, route by route.
    expect(await digests(), `${route.method} ${route.path}`).toEqual(baseline);
  }
  expect(total).toBeGreaterThanOrEqual(2000);
  // Validation was reached, not only the auth gate: most answers are 400s.
  expect(statuses.get(400) ?? 0).toBeGreaterThan(total / 2);
  expect([...statuses.keys()].filter((s) => s >= 500)).toEqual([]);
}, 120_000);
