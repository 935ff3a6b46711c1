import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import type { Execution } from '@hourglass/contracts';
import { type ServiceProcess, spawnService } from '@hourglass/devkit';
import { createRunner, type Runner } from '@hourglass/runner';
import { Cluster } from '@hourglass/testkit/cluster';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createChargeCustomer } from '../src/charge-customer.js';
import { renderReport } from '../src/render-report.js';

/**
 * The example's handlers against a real orchestrator process and a fake billing API on loopback: in-process through
 * createRunner, then as the example's own program (src/main.ts), the way `pnpm start` and the image run it.
 */

const cluster = new Cluster();
let billing: Server;
let billingUrl = '';
/** Charge requests the fake billing API got, by customer. */
const charges = new Map<string, { idempotencyKey: string }[]>();

/** customer `ok-*`: 201; `gone`: 404; `busy`: 503 on the first request, then 201. */
function startBilling(): Promise<void> {
  billing = createServer((req, res) => {
    let raw = '';
    req.on('data', (c) => {
      raw += c;
    });
    req.on('end', () => {
      const body = JSON.parse(raw) as { customerId: string };
      const seen = charges.get(body.customerId) ?? [];
      seen.push({ idempotencyKey: String(req.headers['idempotency-key']) });
      charges.set(body.customerId, seen);
      const [status, answer] =
        body.customerId === 'gone'
          ? [404, { error: 'no such customer' }]
          : body.customerId === 'busy' && seen.length === 1
            ? [503, { error: 'try later' }]
            : [201, { invoiceId: `inv-${body.customerId}-${seen.length}` }];
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(answer));
    });
  });
  billing.listen(0, '127.0.0.1');
  return once(billing, 'listening').then(() => {
    billingUrl = `http://127.0.0.1:${(billing.address() as AddressInfo).port}`;
  });
}

beforeAll(async () => {
  await startBilling();
  await cluster.start();
}, 60_000);

afterAll(async () => {
  await cluster.stop();
  billing.closeAllConnections();
  billing.close();
});

const runToEnd = (body: Record<string, unknown>) => cluster.runToEnd(body);

describe('in-process, through createRunner', () => {
  let runner: Runner;
  beforeAll(async () => {
    runner = createRunner({
      orchestratorUrl: cluster.url,
      handlers: [renderReport, createChargeCustomer({ baseUrl: billingUrl })],
      logger: pino({ level: 'silent' }),
      handleSignals: false,
    });
    await runner.start();
  });
  afterAll(() => runner.stop());

  test('report.render: Markdown with a total, defaults filled in', async () => {
    const job = await runToEnd({
      type: 'report.render',
      payload: {
        title: 'Q3',
        rows: [
          { label: 'Hosting', amount: 120.5 },
          { label: 'Support | 24/7', amount: 80 },
        ],
      },
    });
    expect(job.status).toBe('SUCCEEDED');
    expect(job.lastExecution?.result).toEqual({
      format: 'markdown',
      total: 200.5,
      rows: 2,
      content: [
        '# Q3',
        '',
        '| item | amount |',
        '| --- | ---: |',
        '| Hosting | €120.50 |',
        '| Support \\| 24/7 | €80.00 |',
        '| **total** | **€200.50** |',
      ].join('\n'),
    });
  });

  test('report.render: CSV, quoting what needs it', async () => {
    const job = await runToEnd({
      type: 'report.render',
      payload: { title: 'x', format: 'csv', rows: [{ label: 'a, "b"', amount: 1 }] },
    });
    expect((job.lastExecution!.result as { content: string }).content).toBe(
      'item,amount\n"a, ""b""",1\ntotal,1',
    );
  });

  test('report.render: a bad payload is refused when the job is created', async () => {
    const res = await cluster.request<{ errors: { field: string }[] }>('POST', '/jobs', {
      type: 'report.render',
      payload: { title: 'x', rows: [] },
    });
    expect(res.status).toBe(400);
    expect(res.body.errors[0]!.field).toBe('payload.rows');
  });

  test('billing.charge: a 2xx is done, with the invoice id', async () => {
    const job = await runToEnd({ type: 'billing.charge', payload: { customerId: 'ok-1', amountCents: 999 } });
    expect(job.status).toBe('SUCCEEDED');
    expect(job.maxAttempts).toBe(5); // the handler's retry defaults
    expect(job.lastExecution?.result).toEqual({ invoiceId: 'inv-ok-1-1', attempt: 1 });
    expect(charges.get('ok-1')).toEqual([{ idempotencyKey: `hourglass-job-${job.id}` }]);
  });

  test('billing.charge: a 4xx is permanent: one attempt, dead-lettered, with its code', async () => {
    const job = await runToEnd({ type: 'billing.charge', payload: { customerId: 'gone', amountCents: 5 } });
    expect(job.status).toBe('FAILED');
    const { body } = await cluster.get<{ items: Execution[] }>(`/jobs/${job.id}/executions`);
    expect(body.items).toHaveLength(1);
    expect(body.items[0]).toMatchObject({ retryable: false, errorCode: 'BILLING_404' });
    expect(body.items[0]!.error).toContain('no such customer');
  });

  test('billing.charge: a 5xx is retried, with the same idempotency key', async () => {
    const job = await runToEnd({
      type: 'billing.charge',
      payload: { customerId: 'busy', amountCents: 5 },
      backoff: { initialDelayMs: 100 },
    });
    expect(job.status).toBe('SUCCEEDED');
    expect(job.lastExecution?.result).toEqual({ invoiceId: 'inv-busy-2', attempt: 2 });
    expect(charges.get('busy')!.map((c) => c.idempotencyKey)).toEqual([
      `hourglass-job-${job.id}`,
      `hourglass-job-${job.id}`,
    ]);
  });
});

describe('as its own program (src/main.ts)', () => {
  let program: ServiceProcess;
  const output: string[] = [];
  afterAll(() => program?.stop('SIGTERM', 10_000));

  test('it registers both types and runs a job; SIGTERM stops it gracefully', async () => {
    program = spawnService(
      'runner',
      'custom-runner',
      {
        ORCHESTRATOR_URL: cluster.url,
        BILLING_API_URL: billingUrl,
        RUNNER_NAME: 'custom-runner',
        LOG_LEVEL: 'info',
      },
      (_, line) => output.push(line),
      { entry: fileURLToPath(new URL('../src/main.ts', import.meta.url)) },
    );
    await cluster
      .until('the program to register', async () => {
        const { body } = await cluster.get<{ items: { name: string; types: string[] }[] }>('/runners');
        return body.items.find((r) => r.name === 'custom-runner');
      })
      .then((r) => expect(r.types.sort()).toEqual(['billing.charge', 'report.render']))
      .catch((err) => {
        throw new Error(`${err.message}\n${output.join('\n')}`);
      });
    const job = await runToEnd({ type: 'billing.charge', payload: { customerId: 'ok-2', amountCents: 1 } });
    expect(job.status).toBe('SUCCEEDED');
    expect(await program.stop('SIGTERM', 15_000)).toBe(143); // 128 + SIGTERM, after the graceful stop
    // (Output can arrive just after the exit.)
    await cluster.until(
      'its last log line',
      async () => (output.join('\n').includes('"msg":"stopped"') ? true : undefined),
      5_000,
    );
  });
});
