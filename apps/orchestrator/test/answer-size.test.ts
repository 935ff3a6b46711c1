import { connect } from 'node:net';
import {
  startTestOrchestrator,
  stopTestOrchestrator,
  type TestOrchestrator,
} from '@hourglass/testkit/orchestrator';
import { sql } from 'kysely';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { claim, createJob, eventually, orchestratorPerFile, registerRunner } from './helpers.js';

/**
 * Answers are bounded in bytes, and a claim answer that does not reach its runner is given back (issue 10, defect
 * 10): a claim carries payloads up to CLAIM_MAX_BYTES (at least one execution), a list page up to LIST_MAX_BYTES
 * (with a nextCursor to the rest), and executions whose answer was cut off are PENDING again at once, not when
 * their leases expire.
 */

const o = orchestratorPerFile({ CLAIM_MAX_BYTES: '1000000', LIST_MAX_BYTES: '1000000' });
const blob = (kb: number) => ({ blob: 'x'.repeat(kb * 1000) });

test('a claim stops adding executions once their payloads pass CLAIM_MAX_BYTES, and always hands out one', async () => {
  const runner = await registerRunner(o, { types: ['big'], capacity: 100 });
  for (let i = 0; i < 5; i++) await createJob(o, { type: 'big', payload: blob(300) });
  // 3 × 300 kB fit in 1 MB; the 4th would not.
  expect(await claim(o, runner, { max: 10 })).toHaveLength(3);
  expect(await claim(o, runner, { max: 10 })).toHaveLength(2);

  const huge = await createJob(o, { type: 'big', payload: blob(1000) });
  await createJob(o, { type: 'big', payload: blob(1) });
  const alone = await claim(o, runner, { max: 10 });
  expect(alone.map((e) => e.jobId)).toEqual([huge.id]);
  expect(await claim(o, runner, { max: 10 })).toHaveLength(1);
});

test('a list page ends early once its rows pass LIST_MAX_BYTES; the cursor leads through all of them once', async () => {
  const created: number[] = [];
  for (let i = 0; i < 7; i++) created.push((await createJob(o, { type: 'listed', payload: blob(300) })).id);
  const seen: number[] = [];
  const sizes: number[] = [];
  let cursor: number | null = null;
  for (let round = 0; round < 10; round++) {
    const res = await o.app.inject({
      method: 'GET',
      url: `/jobs?type=listed&limit=50${cursor ? `&cursor=${cursor}` : ''}`,
    });
    expect(res.statusCode, res.body).toBe(200);
    const body = res.json() as { items: { id: number }[]; nextCursor: number | null };
    seen.push(...body.items.map((j) => j.id));
    sizes.push(body.items.length);
    cursor = body.nextCursor;
    if (cursor === null) break;
  }
  expect(sizes).toEqual([3, 3, 1]);
  expect(seen).toEqual([...created].reverse());
});

let served: TestOrchestrator;
beforeAll(async () => {
  // A claim answer far larger than loopback socket buffers (up to 32 MiB received + 4 MiB sent here), so that it is
  // still being written when the runner hangs up; a lease long enough that only the give-back can explain the executions being PENDING again.
  served = await startTestOrchestrator({
    listen: true,
    env: { CLAIM_MAX_BYTES: String(64 * 1024 * 1024), LEASE_MS: '600000', HEARTBEAT_INTERVAL_MS: '10000' },
  });
});
afterAll(async () => {
  if (served) await stopTestOrchestrator(served);
});

test('executions whose claim answer was cut off are given back at once, not when their leases expire', async () => {
  const runner = await registerRunner(served, { types: ['cut'], capacity: 100 });
  for (let i = 0; i < 60; i++) await createJob(served, { type: 'cut', payload: blob(900) });
  const status = async () =>
    (
      await sql<{ status: string; n: number }>`
        SELECT status, count(*)::int AS n FROM executions WHERE job_type = 'cut' GROUP BY status
      `.execute(served.db)
    ).rows;

  const until = (want: { status: string; n: number }[]) =>
    eventually(
      `executions ${JSON.stringify(want)}`,
      async () => {
        const now = await status();
        return JSON.stringify(now) === JSON.stringify(want) ? now : undefined;
      },
      20_000,
    );

  const { port } = new URL(served.url);
  const socket = connect(Number(port), '127.0.0.1');
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  socket.pause(); // read nothing: the ~54 MB answer cannot be written whole
  socket.write(
    `POST /runners/${runner}/next-job?max=60&wait=0 HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\n\r\n`,
  );
  await until([{ status: 'RUNNING', n: 60 }]);
  socket.destroy();
  await until([{ status: 'PENDING', n: 60 }]);
  // And they are claimable again, same attempt.
  const again = await claim(served, runner, { max: 1 });
  expect(again[0]?.attempt).toBe(1);
});

test('a claim answer read whole by a runner that closes the connection after it (Connection: close) is kept', async () => {
  const runner = await registerRunner(served, { types: ['closer'], capacity: 10 });
  const job = await createJob(served, { type: 'closer', payload: blob(10) });
  const { port } = new URL(served.url);
  const socket = connect(Number(port), '127.0.0.1');
  let answer = '';
  socket.on('data', (d) => {
    answer += d.toString();
  });
  socket.write(
    `POST /runners/${runner}/next-job?max=1&wait=0 HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`,
  );
  await new Promise((resolve) => socket.once('close', resolve));
  expect(answer).toMatch(/^HTTP\/1\.1 200/);
  expect(answer).toContain(`"jobId":${job.id}`);
  // Give a wrong give-back every chance to happen (it would run right after the answer).
  await new Promise((resolve) => setTimeout(resolve, 1_000));
  const { rows } = await sql<{ status: string }>`
    SELECT status FROM executions WHERE job_id = ${job.id}
  `.execute(served.db);
  expect(rows).toEqual([{ status: 'RUNNING' }]);
});
