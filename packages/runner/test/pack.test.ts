import { execFile } from 'node:child_process';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { Job } from '@hourglass/contracts';
import { type ServiceProcess, spawnService } from '@hourglass/devkit';
import { exclusively } from '@hourglass/testkit/build-lock';
import { Cluster } from '@hourglass/testkit/cluster';
import { afterAll, beforeAll, expect, test } from 'vitest';

/**
 * The SDK as a user gets it: `pnpm pack` of @hourglass/runner (and the @hourglass/contracts it depends on), installed
 * with npm into a project outside this repository, type-checked against its declarations, and run against a real
 * orchestrator process.
 */

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const cluster = new Cluster();
let project = '';
let userRunner: ServiceProcess | undefined;
const output: string[] = [];

beforeAll(async () => {
  project = await mkdtemp(path.join(tmpdir(), 'hourglass-sdk-user-'));
  const packs = path.join(project, 'packs');
  // The client's pack test builds @hourglass/contracts too: one build at a time.
  await exclusively(path.join(ROOT, '.data', 'pack-build.lock'), async () => {
    await run('pnpm', ['--filter', '@hourglass/runner', 'build'], { cwd: ROOT });
    for (const pkg of ['contracts', 'runner']) {
      await run('pnpm', ['pack', '--pack-destination', packs], { cwd: path.join(ROOT, 'packages', pkg) });
    }
  });
  const tarballs = (await readdir(packs)).map((f) => path.join(packs, f));
  await writeFile(
    path.join(project, 'package.json'),
    JSON.stringify({ name: 'sdk-user', private: true, type: 'module' }),
  );
  // zod is the SDK's peer dependency: the user's own copy; @types/node as any TypeScript project on Node has it.
  // (npm's cache makes this quick after the first run.)
  await run(
    'npm',
    [
      'install',
      '--no-audit',
      '--no-fund',
      '--prefer-offline',
      ...tarballs,
      'zod@^4.1.0',
      '@types/node@^20.19.0',
    ],
    { cwd: project },
  );
  await writeFile(path.join(project, 'runner.mjs'), USER_RUNNER);
  await writeFile(path.join(project, 'typed.ts'), USER_TYPES);
  await cluster.start();
}, 240_000);

afterAll(async () => {
  await userRunner?.stop('SIGTERM', 10_000);
  await cluster.stop();
  if (project) await rm(project, { recursive: true, force: true });
});

test('the tarball holds the build and its README only, and no workspace links', async () => {
  const tarball = path.join(
    project,
    'packs',
    (await readdir(path.join(project, 'packs'))).find((f) => f.includes('runner'))!,
  );
  const files = (await run('tar', ['tzf', tarball])).stdout.trim().split('\n');
  expect(files).toEqual(
    expect.arrayContaining([
      'package/dist/index.js',
      'package/dist/index.d.ts',
      'package/dist/builtin/index.js',
      'package/README.md',
    ]),
  );
  expect(files.filter((f) => !/^package\/(dist\/.+\.(js|d\.ts)|README\.md|package\.json)$/.test(f))).toEqual(
    [],
  );
  const manifest = (await run('tar', ['xzf', tarball, '-O', 'package/package.json'])).stdout;
  expect(manifest).not.toContain('workspace:');
  expect(JSON.parse(manifest).exports['.']).toEqual({
    types: './dist/index.d.ts',
    default: './dist/index.js',
  });
});

test('its declarations type-check a user’s handler: the payload is the schema’s output type', async () => {
  await writeFile(
    path.join(project, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        module: 'nodenext',
        moduleResolution: 'nodenext',
        target: 'es2022',
        strict: true,
        noEmit: true,
        skipLibCheck: false,
        types: ['node'],
      },
      files: ['typed.ts'],
    }),
  );
  const tsc = path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  const result = await run(process.execPath, [tsc, '-p', project]).catch((err) => err);
  expect(`${result.stdout ?? ''}${result.stderr ?? ''}`).toBe('');
});

test('installed from the tarball, a user’s runner serves its own type against a real orchestrator', async () => {
  userRunner = spawnService(
    'script',
    'sdk-user',
    { ORCHESTRATOR_URL: cluster.url },
    (_, line) => output.push(line),
    {
      entry: path.join(project, 'runner.mjs'),
      cwd: project,
    },
  );
  await cluster
    .until(
      'the user runner to register',
      async () => {
        const { body } = await cluster.get<{ items: { name: string }[] }>('/runners');
        return body.items.some((r) => r.name === 'sdk-user') ? true : undefined;
      },
      30_000,
    )
    .catch((err) => {
      throw new Error(`${err.message}\n${output.join('\n')}`);
    });
  const created = await cluster.request<Job>('POST', '/jobs', { type: 'greet', payload: { name: 'Ada' } });
  expect(created.status).toBe(201);
  const { body: job } = await cluster.get<Job>(`/jobs/${created.body.id}?wait=20`);
  expect(job.status, output.join('\n')).toBe('SUCCEEDED');
  expect(job.lastExecution?.result).toEqual({ greeting: 'Hello, Ada!', excited: false });
  // A graceful stop on SIGTERM (the SDK's own signal handling), then the process ends.
  expect(await userRunner.stop('SIGTERM', 15_000)).toBe(143); // 128 + SIGTERM, after the graceful stop
  // (Output can arrive just after the exit.)
  await cluster.until(
    'its last log line',
    async () => (output.join('\n').includes('"msg":"stopped"') ? true : undefined),
    5_000,
  );
});

/** What a user writes: plain JavaScript, importing the installed packages. */
const USER_RUNNER = `
import { createRunner, defineHandler } from '@hourglass/runner';
import { z } from 'zod';

const greet = defineHandler({
  type: 'greet',
  payload: z.object({ name: z.string(), excited: z.boolean().default(false) }),
  handle: async ({ name, excited }) => ({ greeting: \`Hello, \${name}\${excited ? '!!!' : '!'}\`, excited }),
});

const runner = createRunner({ orchestratorUrl: process.env.ORCHESTRATOR_URL, name: 'sdk-user', handlers: [greet] });
await runner.start();
`;

/** A TypeScript user: the types must flow from the schema to the handler, and mistakes must not compile. */
const USER_TYPES = `
import { createRunner, defineHandler, PermanentError, type HandlerContext } from '@hourglass/runner';
import { builtinHandlers, verify } from '@hourglass/runner/builtin';
import { z } from 'zod';

const resize = defineHandler({
  type: 'resize-image',
  payload: z.object({ url: z.url(), width: z.number().int(), format: z.enum(['png', 'jpeg']).default('png') }),
  retry: { maxAttempts: 5 },
  handle: async (p, ctx: HandlerContext) => {
    const width: number = p.width;
    const format: 'png' | 'jpeg' = p.format;
    // @ts-expect-error: not in the schema
    p.height;
    ctx.progress(10);
    ctx.logger.info({ width }, 'resizing');
    if (ctx.signal.aborted) throw new PermanentError('gone', { code: 'GONE' });
    return { width, format, attempt: ctx.attempt, of: ctx.maxAttempts };
  },
});

const runner = createRunner({ orchestratorUrl: 'http://127.0.0.1:8080', handlers: [resize, ...builtinHandlers()], concurrency: 2 });
const id: string = runner.id;
const ok: boolean = verify('secret', '{}', 't=1,v1=00');
void runner.start;
void id;
void ok;
`;
