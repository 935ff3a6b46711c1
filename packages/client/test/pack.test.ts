import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { Job } from '@hourglass/client';
import { createRunner, type Runner } from '@hourglass/runner';
import { builtinHandlers } from '@hourglass/runner/builtin';
import { exclusively } from '@hourglass/testkit/build-lock';
import {
  startTestOrchestrator,
  stopTestOrchestrator,
  type TestOrchestrator,
} from '@hourglass/testkit/orchestrator';
import { build } from 'esbuild';
import { pino } from 'pino';
import { afterAll, beforeAll, expect, test } from 'vitest';

/**
 * The client as a user gets it: `pnpm pack` of @hourglass/client (and the @hourglass/contracts it depends on),
 * installed with npm into a project outside this repository; its declarations type-check a user's code (in Node.js
 * and in a browser project), it bundles for the browser, a user's script calls a real orchestrator with it, and its
 * bin runs as `npx hourglass`.
 */

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const TSC = path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
let project = '';
let o: TestOrchestrator;
let runner: Runner;

beforeAll(async () => {
  project = await mkdtemp(path.join(tmpdir(), 'hourglass-client-user-'));
  const packs = path.join(project, 'packs');
  // The runner's pack test builds @hourglass/contracts too: one build at a time.
  await exclusively(path.join(ROOT, '.data', 'pack-build.lock'), async () => {
    await run('pnpm', ['--filter', '@hourglass/client', 'build'], { cwd: ROOT });
    for (const pkg of ['contracts', 'client']) {
      await run('pnpm', ['pack', '--pack-destination', packs], { cwd: path.join(ROOT, 'packages', pkg) });
    }
  });
  const tarballs = (await readdir(packs)).map((f) => path.join(packs, f));
  await writeFile(
    path.join(project, 'package.json'),
    JSON.stringify({ name: 'client-user', private: true, type: 'module' }),
  );
  // @types/node as any TypeScript project on Node has it. (npm's cache makes this quick after the first run.)
  await run(
    'npm',
    ['install', '--no-audit', '--no-fund', '--prefer-offline', ...tarballs, '@types/node@^20.19.0'],
    { cwd: project },
  );
  o = await startTestOrchestrator({ listen: true });
  runner = createRunner({
    orchestratorUrl: o.url,
    handlers: builtinHandlers(),
    handleSignals: false,
    logger: pino({ level: 'silent' }),
  });
  await runner.start();
}, 240_000);

afterAll(async () => {
  await runner?.stop();
  if (o) await stopTestOrchestrator(o);
  if (project) await rm(project, { recursive: true, force: true });
});

async function tarball(): Promise<string> {
  const packs = path.join(project, 'packs');
  return path.join(packs, (await readdir(packs)).find((f) => f.includes('client'))!);
}

test('the tarball holds the build and its README only; exports, types and bin point into dist', async () => {
  const files = (await run('tar', ['tzf', await tarball()])).stdout.trim().split('\n');
  expect(files).toEqual(
    expect.arrayContaining([
      'package/dist/index.js',
      'package/dist/index.d.ts',
      'package/dist/cli/main.js',
      'package/README.md',
    ]),
  );
  expect(files.filter((f) => !/^package\/(dist\/.+\.(js|d\.ts)|README\.md|package\.json)$/.test(f))).toEqual(
    [],
  );
  const manifest = JSON.parse(
    (await run('tar', ['xzf', await tarball(), '-O', 'package/package.json'])).stdout,
  );
  expect(JSON.stringify(manifest)).not.toContain('workspace:');
  expect(manifest.exports['.']).toEqual({ types: './dist/index.d.ts', default: './dist/index.js' });
  expect(manifest.bin).toEqual({ hourglass: './dist/cli/main.js' });
  expect(manifest.private).toBeUndefined();
});

test('its declarations type-check a user’s calls, in a Node.js project and in a browser one', async () => {
  await writeFile(path.join(project, 'typed.ts'), USER_TYPES);
  const tsconfig = (types: string[], lib: string[]) =>
    JSON.stringify({
      compilerOptions: {
        module: 'nodenext',
        moduleResolution: 'nodenext',
        target: 'es2022',
        lib,
        strict: true,
        noEmit: true,
        skipLibCheck: false,
        types,
      },
      files: ['typed.ts'],
    });
  for (const [name, config] of [
    ['tsconfig.node.json', tsconfig(['node'], ['es2023'])],
    // No Node.js types at all: what a browser project has.
    ['tsconfig.browser.json', tsconfig([], ['es2023', 'dom'])],
  ] as const) {
    await writeFile(path.join(project, name), config);
    const result = await run(process.execPath, [TSC, '-p', path.join(project, name)]).catch((err) => err);
    expect(`${result.stdout ?? ''}${result.stderr ?? ''}`, name).toBe('');
  }
});

test('it bundles for the browser: no Node.js module, and no zod, in the bundle', async () => {
  const out = await build({
    stdin: { contents: "export * from '@hourglass/client';", resolveDir: project },
    bundle: true,
    platform: 'browser',
    format: 'esm',
    write: false,
    logLevel: 'silent',
  });
  const code = out.outputFiles[0]!.text;
  expect(code).toMatch(/HourglassClient = class|class HourglassClient/);
  expect(code).not.toMatch(/\bnode:|require\(|ZodType|process\.env/);
});

test('installed from the tarball, a user’s script creates a job and waits for its result', async () => {
  await writeFile(path.join(project, 'use.mjs'), USER_SCRIPT);
  const { stdout } = await run(process.execPath, ['use.mjs'], {
    cwd: project,
    env: { ...process.env, HOURGLASS_URL: o.url },
  });
  expect(JSON.parse(stdout)).toEqual({
    status: 'SUCCEEDED',
    result: { from: 'the tarball' },
    code: 'NOT_FOUND',
  });
});

test('its bin runs as `npx hourglass` outside the workspace', async () => {
  const env = { ...process.env, HOURGLASS_URL: o.url };
  const created = await run(
    'npx',
    ['--no-install', 'hourglass', 'jobs', 'create', 'echo', '--payload', '7', '--json'],
    {
      cwd: project,
      env,
    },
  );
  const job = JSON.parse(created.stdout) as Job;
  const waited = await run('npx', ['--no-install', 'hourglass', 'jobs', 'wait', String(job.id)], {
    cwd: project,
    env,
  });
  expect(waited.stdout).toMatch(/^status\s+SUCCEEDED$/m);
  const version = JSON.parse(await readFile(path.join(ROOT, 'packages/client/package.json'), 'utf8')).version;
  expect((await run('npx', ['--no-install', 'hourglass', '--version'], { cwd: project })).stdout.trim()).toBe(
    version,
  );
});

/** What a user writes: plain JavaScript, importing the installed package. */
const USER_SCRIPT = `
import { HourglassClient, HourglassError } from '@hourglass/client';

const hourglass = new HourglassClient({ url: process.env.HOURGLASS_URL });
const job = await hourglass.createJob({ type: 'echo', payload: { from: 'the tarball' } });
const done = await hourglass.waitForJob(job.id);
const missing = await hourglass.getJob(999999).catch((err) => err);
if (!(missing instanceof HourglassError)) throw new Error('expected an HourglassError');
console.log(JSON.stringify({ status: done.status, result: done.lastExecution?.result, code: missing.code }));
`;

/** A TypeScript user: answers are typed from the contracts, and mistakes do not compile. */
const USER_TYPES = `
import { HourglassClient, HourglassError, isFinal, type Job, type JobStatus } from '@hourglass/client';

const hourglass = new HourglassClient({ url: 'http://127.0.0.1:8080', apiKey: 'k', retry: { retries: 1 } });
export async function use(signal: AbortSignal): Promise<void> {
  const job: Job = await hourglass.createJob({ type: 'echo', payload: { a: 1 }, delayMs: 1000 }, { signal });
  const status: JobStatus = job.status;
  // @ts-expect-error: not a status
  const wrong: typeof job.status = 'DONE';
  // @ts-expect-error: misspelt field
  await hourglass.createJob({ type: 'echo', prority: 1 });
  // @ts-expect-error: ids are numbers
  await hourglass.getJob('1');
  for await (const j of hourglass.listJobs({ status: 'FAILED' }, { pageSize: 10 })) void j.lastExecution?.error;
  const timer = await hourglass.createTimer({ minutes: 5, url: 'https://example.com' });
  const left: number = timer.time_left;
  const runners = await hourglass.listRunners({ includeOffline: true });
  const drained = await hourglass.drainRunner(runners[0]!.id);
  const draining: 'DRAINING' = drained.status;
  try {
    await hourglass.updateJob(job.id, { scheduleExpression: '0 9 * * *' });
  } catch (err) {
    if (err instanceof HourglassError) void [err.status, err.code, err.detail, err.errors[0]?.field, err.retryAfterMs];
  }
  void [status, wrong, left, draining, isFinal(job.status)];
}
`;
