import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

/**
 * Where a Node.js process spends its CPU, from the `.cpuprofile` files `node --cpu-prof` writes at exit: the
 * self time of every sampled function, attributed to a category by where its code lives (a package, Node's core,
 * our own source folders), counted only between two moments of the run (the process's start-up, its idle waits
 * and its shutdown left out).
 */

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string };
}
interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

/** The categories, in the order they are printed; the first rule that matches a frame wins. */
const RULES: [category: string, test: (url: string, fn: string) => boolean][] = [
  ['idle (waiting for I/O)', (_u, fn) => fn === '(idle)'],
  ['garbage collection', (_u, fn) => fn === '(garbage collector)'],
  [
    'HTTP server (fastify, find-my-way, avvio)',
    (u) =>
      /node_modules\/(\.pnpm\/)?.*(fastify|find-my-way|avvio|light-my-request|fast-json-stringify|secure-json-parse|fast-querystring|@fastify)/.test(
        u,
      ),
  ],
  ['HTTP client (undici)', (u) => u.includes('/undici/')],
  ['validation (zod)', (u) => u.includes('/zod/')],
  ['validation (ajv)', (u) => u.includes('/ajv/')],
  ['SQL building (kysely)', (u) => u.includes('/kysely/')],
  [
    'PostgreSQL driver (pg, pg-protocol)',
    (u) => /\/(pg|pg-protocol|pg-pool|pg-types|postgres-array|pg-connection-string)\//.test(u),
  ],
  ['logging (pino)', (u) => /\/(pino|sonic-boom|thread-stream|pino-std-serializers)\//.test(u)],
  [
    'Node core: HTTP, net, streams',
    (u) => /^node:(_http|http|net|internal\/(http|streams|stream_base|net|js_stream))/.test(u),
  ],
  [
    'Node core: timers, events, promises',
    (u) => /^node:(timers|events|internal\/(timers|process\/task_queues|event_target|async_hooks))/.test(u),
  ],
  ['Node core: other', (u) => u.startsWith('node:')],
  ['orchestrator: our code', (u) => u.includes('/apps/orchestrator/src/')],
  [
    'runner: our code (SDK, program)',
    (u) => u.includes('/packages/runner/src/') || u.includes('/apps/runner/src/'),
  ],
  ['our other packages', (u) => u.includes('/packages/')],
  ['other packages', (u) => u.includes('/node_modules/')],
  ['JSON parse / stringify (V8)', (_u, fn) => fn === 'parse' || fn === 'stringify'],
  ['V8 built-ins and native code', () => true],
];

export const CATEGORIES = RULES.map(([c]) => c);

function categoryOf(frame: ProfileNode['callFrame']): string {
  for (const [category, test] of RULES) if (test(frame.url, frame.functionName)) return category;
  return 'V8 built-ins and native code';
}

/** Self time (µs) per category of one profile, between `from` and `to` (µs, the monotonic clock of hrtime). */
export function breakdown(profile: CpuProfile, from: number, to: number): Map<string, number> {
  const category = new Map(profile.nodes.map((n) => [n.id, categoryOf(n.callFrame)]));
  const out = new Map<string, number>();
  let t = profile.startTime;
  for (let i = 0; i < profile.samples.length; i++) {
    const delta = profile.timeDeltas[i] ?? 0;
    t += delta;
    // A sample stands for the time until the next one.
    const span = profile.timeDeltas[i + 1] ?? 0;
    if (t < from || t > to) continue;
    const c = category.get(profile.samples[i]!)!;
    out.set(c, (out.get(c) ?? 0) + span);
  }
  return out;
}

/**
 * The main threads' profiles `node --cpu-prof` wrote in `dir`, by the pid in their names
 * (CPU.<date>.<time>.<pid>.<thread id>.<n>; the main thread is thread 0, a worker such as a log transport's has
 * its own file).
 */
export function readProfiles(dir: string): Map<number, CpuProfile> {
  const out = new Map<number, CpuProfile>();
  for (const f of readdirSync(dir)) {
    const m = /^CPU\.\d+\.\d+\.(\d+)\.0\.\d+\.cpuprofile$/.exec(f);
    if (!m) continue;
    out.set(Number(m[1]), JSON.parse(readFileSync(path.join(dir, f), 'utf8')) as CpuProfile);
  }
  return out;
}

/** Sums the breakdowns of several processes (the runners). */
export function sumBreakdowns(parts: Map<string, number>[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const part of parts) for (const [c, us] of part) out.set(c, (out.get(c) ?? 0) + us);
  return out;
}
