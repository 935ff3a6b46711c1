import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { JobType } from '@hourglass/contracts';
import { type ServiceProcess, spawnService } from '@hourglass/devkit';
import { Cluster } from '@hourglass/testkit/cluster';
import { afterAll, beforeAll, expect, test } from 'vitest';

/**
 * The README as a newcomer follows it: every `api …` line of its shell blocks, in order, with the README's own
 * `api` function, against a fresh stack with authentication on (as `pnpm start` runs it), and the "Run your own
 * code" runner started from its code block. Each line must answer 2xx, or the status its `# → NNN` comment says.
 */

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const ADMIN = 'readme-admin-key-0123456789abcdef';

interface Readme {
  apiDefinition: string;
  apiLines: string[];
  ownRunner: string;
}

async function readReadme(): Promise<Readme> {
  const text = await readFile(path.join(ROOT, 'README.md'), 'utf8');
  const blocks = [...text.matchAll(/```(\w+)\n([\s\S]*?)```/g)].map((m) => ({ lang: m[1]!, code: m[2]! }));
  const shellLines = blocks
    .filter((b) => b.lang === 'sh')
    .flatMap((b) => b.code.split('\n').map((l) => l.trim()));
  const apiDefinition = shellLines.find((l) => l.startsWith('api() {'));
  const section = text.slice(text.indexOf('## Run your own code'));
  const ownRunner = /```ts\n([\s\S]*?)```/.exec(section)?.[1];
  if (!apiDefinition || !ownRunner)
    throw new Error('README: no api() definition or no "Run your own code" block');
  return { apiDefinition, apiLines: shellLines.filter((l) => l.startsWith('api ')), ownRunner };
}

const cluster = new Cluster();
let readme: Readme;
let port = 0;
let ownRunner: ServiceProcess | undefined;
let workDir = '';
const output: string[] = [];

beforeAll(async () => {
  readme = await readReadme();
  await cluster.start({
    AUTH_DISABLED: 'false',
    ADMIN_API_KEY: ADMIN,
    WEBHOOK_BLOCK_PRIVATE_TARGETS: 'false',
  });
  port = cluster.orchestrators[0]!.port;
  cluster.headers = { authorization: `Bearer ${ADMIN}` };
  await cluster.startRunner('stock-runner', { API_KEY: ADMIN, WEBHOOK_BLOCK_PRIVATE_TARGETS: 'false' });
  // Inside the checkout, as the README says, so that @hourglass/runner and zod resolve from its node_modules.
  workDir = path.join(ROOT, '.data', `readme-${randomBytes(4).toString('hex')}`);
  await mkdir(workDir, { recursive: true });
  const file = path.join(workDir, 'my-runner.ts');
  await writeFile(file, readme.ownRunner.replaceAll('127.0.0.1:8080', `127.0.0.1:${port}`));
  ownRunner = spawnService(
    'runner',
    'my-runner',
    { KEY: ADMIN, LOG_LEVEL: 'info' },
    (_, l) => output.push(l),
    {
      entry: file,
    },
  );
  await cluster
    .until(
      'the README runner to serve greet',
      async () => {
        const res = await fetch(`${cluster.url}/job-types`, {
          headers: { authorization: `Bearer ${ADMIN}` },
        });
        const { items } = (await res.json()) as { items: JobType[] };
        return items.find((t) => t.name === 'greet' && t.runners.length > 0);
      },
      30_000,
    )
    .catch((err) => {
      throw new Error(`${err.message}\n${output.join('\n')}`);
    });
}, 90_000);

afterAll(async () => {
  await ownRunner?.stop('SIGTERM', 10_000);
  await cluster.stop();
  if (workDir) await rm(workDir, { recursive: true, force: true });
});

test('the README has api lines in Quick start, Run your own code and Schedules', () => {
  expect(readme.apiLines.length).toBeGreaterThan(20);
  expect(readme.apiLines).toContain(
    `api 'localhost:8080/jobs/4?wait=30'   # job 4 (the id just answered), as soon as it is done: …"result":{"greeting":"Hello, Ada!"}…`,
  );
});

test('every api line of the README answers as documented, in order, on a fresh stack', async () => {
  const failures: string[] = [];
  for (const line of readme.apiLines) {
    const expected = /# → (\d{3})/.exec(line)?.[1];
    // The README's own api(), with curl made to print the status after the body.
    const script = [
      `curl() { command curl -w '\\n@@status=%{http_code}' "$@"; }`,
      readme.apiDefinition,
      line.replaceAll('localhost:8080', `127.0.0.1:${port}`),
    ].join('\n');
    const { stdout } = await run('bash', ['-c', script], {
      env: { ...process.env, KEY: ADMIN },
      timeout: 60_000,
    });
    const status = Number(/@@status=(\d+)/.exec(stdout)?.[1]);
    const ok = expected ? status === Number(expected) : status >= 200 && status < 300;
    if (!ok) failures.push(`${line}\n  → ${status}: ${stdout.slice(0, 300)}`);
    if (line.includes('?wait=30') && !stdout.includes('Hello, Ada!')) {
      failures.push(`${line}\n  → no greeting in ${stdout.slice(0, 500)}`);
    }
  }
  expect(failures).toEqual([]);
});
