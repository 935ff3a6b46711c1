import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import {
  startTestOrchestrator,
  stopTestOrchestrator,
  type TestOrchestrator,
} from '@hourglass/testkit/orchestrator';
import { afterAll, beforeAll, expect, test } from 'vitest';

/**
 * openapi.json is complete enough to generate a working client in another language: OpenAPI Generator (the jar
 * shipped in its npm package, run with the machine's Java) makes a Python client from the committed document, and
 * call.py uses it against a real orchestrator: create a job, read it back, meet a 404 as a typed error, create a
 * timer.
 */

const run = promisify(execFile);
const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, '../../..');
const jar = path.join(
  path.dirname(createRequire(import.meta.url).resolve('@openapitools/openapi-generator-cli/package.json')),
  'bin',
  'openapi-generator.jar',
);

let o: TestOrchestrator;
let out: string;
beforeAll(async () => {
  out = await mkdtemp(path.join(tmpdir(), 'hourglass-python-client-'));
  o = await startTestOrchestrator({ listen: true });
});
afterAll(async () => {
  if (o) await stopTestOrchestrator(o);
  if (out) await rm(out, { recursive: true, force: true });
});

test('a Python client generated from openapi.json creates and reads jobs and timers against a real orchestrator', async () => {
  await run(
    'java',
    [
      '-jar',
      jar,
      'generate',
      '--input-spec',
      path.join(ROOT, 'openapi.json'),
      '--generator-name',
      'python',
      '--output',
      out,
      '--package-name',
      'hourglass_client',
    ],
    { maxBuffer: 64 * 1024 * 1024 },
  );
  const { stdout } = await run('python3', [path.join(HERE, '..', 'call.py'), o.url], {
    env: { ...process.env, PYTHONPATH: out },
  });
  const result = JSON.parse(stdout);
  expect(result.created).toMatchObject({ type: 'echo', status: 'SCHEDULED' });
  expect(result.fetched).toEqual({ id: result.created.id, payload: { from: 'python' }, priority: 5 });
  expect(result.missing).toMatchObject({ status: 404, body: { code: 'NOT_FOUND' } });
  expect(result.timer).toMatchObject({ time_left: 3600 });
  // It really went through the API: the job is in the database.
  const res = await o.app.inject({ method: 'GET', url: `/jobs/${result.created.id}` });
  expect(res.json()).toMatchObject({ type: 'echo', payload: { from: 'python' } });
});
