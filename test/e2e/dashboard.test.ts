import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import {
  createServer,
  request as httpRequest,
  type IncomingHttpHeaders,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { DeadLetter, Job, Runner } from '@hourglass/contracts';
import { Cluster, type RunnerHandle } from '@hourglass/testkit/cluster';
import { type BrowserContext, chromium, type Locator, type Page } from 'playwright-core';
import { afterAll, beforeAll, expect, test } from 'vitest';

/**
 * The dashboard in a real headless Chromium (Debian's `chromium`, driven by playwright-core) against real
 * orchestrator and runner processes on PostgreSQL, with authentication on: signing in through the link `pnpm start`
 * prints, creating a job from the form built from its type's schema and watching it succeed without a reload,
 * its execution timeline, requeueing a dead letter, draining a runner, and a client key that is offered no admin
 * action. Every wait is on something visible (or on the API), never a fixed sleep. Screenshots of the main views go
 * to test-results/screenshots/.
 */

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ADMIN = 'browser-test-admin-key-0123456789';
const SHOTS = path.resolve('test-results/screenshots');
/** Generous: the machine is shared, and a view refreshes every 5 s when the event stream is not there. */
const WAIT_MS = 30_000;
/** Until the element is on screen. */
const visible = (l: Locator, timeout = WAIT_MS) => l.waitFor({ state: 'visible', timeout });
const gone = (l: Locator) => l.first().waitFor({ state: 'detached', timeout: WAIT_MS });
/** Asks again (every 200 ms) until the assertion that follows holds. */
const eventually = <T>(probe: () => Promise<T>, timeout = WAIT_MS) =>
  expect.poll(probe, { timeout, interval: 200 });

let cluster: Cluster;
let runnerB: RunnerHandle;
let clientKey: string;
let profile: string;
let browser: BrowserContext;
let page: Page;

beforeAll(async () => {
  cluster = new Cluster();
  cluster.headers = { authorization: `Bearer ${ADMIN}` };
  await cluster.start({ AUTH_DISABLED: 'false', ADMIN_API_KEY: ADMIN, HEARTBEAT_INTERVAL_MS: '1000' });
  const runnerEnv = { API_KEY: ADMIN, RUNNER_CONCURRENCY: '2', HEARTBEAT_INTERVAL_MS: '1000' };
  await cluster.startRunner('runner-a', runnerEnv);
  runnerB = await cluster.startRunner('runner-b', runnerEnv);
  const key = await cluster.request<{ key: string }>('POST', '/api-keys', {
    name: 'browser-client',
    scopes: ['client'],
  });
  clientKey = key.body.key;

  mkdirSync(SHOTS, { recursive: true });
  console.log(`[dashboard] screenshots in ${SHOTS}`);
  // A fresh profile per run: nothing carried over between runs (session storage, cache).
  profile = mkdtempSync(path.join(tmpdir(), 'hourglass-chromium-'));
  browser = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
    viewport: { width: 1280, height: 860 },
  });
  browser.setDefaultTimeout(30_000);
  page = browser.pages()[0] ?? (await browser.newPage());
}, 180_000);

afterAll(async () => {
  await browser?.close();
  if (profile) rmSync(profile, { recursive: true, force: true });
  await cluster?.stop();
});

const ui = (p: string) => `${cluster.url}/ui${p}`;
const shot = (name: string) => page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });

test('the sign-in link signs the admin in and leaves the key out of the address bar', async () => {
  await page.goto(ui(`/#key=${ADMIN}`));
  await visible(page.getByRole('heading', { name: 'Overview' }));
  expect(page.url()).not.toContain(ADMIN);
  expect(page.url()).not.toContain('#key');
  await eventually(() => page.getByTestId('who').textContent()).toContain('(admin)');
  // The runners are on the overview, with their capacity.
  await visible(page.getByRole('link', { name: 'runner-a' }));
  // A reload keeps the session (the key is in session storage).
  await page.reload();
  await visible(page.getByRole('heading', { name: 'Overview' }));
});

test('a job created from the form built from its schema reaches SUCCEEDED live, with its timeline', async () => {
  await page.goto(ui('/jobs/new'));
  await page.getByLabel('Type', { exact: true }).fill('sleep');
  // `sleep` declares its payload schema: the form has a field per property.
  const duration = page.getByLabel('durationMs');
  await visible(duration);
  await duration.fill('1500');
  await shot('create-job');
  await page.getByRole('button', { name: 'Create job' }).click();
  await page.waitForURL(/\/ui\/jobs\/\d+$/, { timeout: WAIT_MS });
  const id = Number(page.url().split('/').pop());
  const job = (await cluster.get<Job>(`/jobs/${id}`)).body;
  expect(job).toMatchObject({ type: 'sleep', payload: { durationMs: 1500 } });
  // No reload from here on: the page follows the job by itself.
  const status = page.locator('h1 + .status');
  await visible(status);
  await eventually(() => status.textContent(), 60_000).toBe('SUCCEEDED');
  const timeline = page.getByTestId('timeline');
  await visible(timeline.getByText('Attempt 1'));
  await eventually(() => timeline.locator('.status').textContent()).toBe('SUCCEEDED');
  // The runner that ran it, by name.
  await eventually(() => timeline.textContent()).toMatch(/runner-[ab] \(/);
  await shot('job-detail');
});

test('the jobs list filters by status and finds a job by its idempotency key', async () => {
  const [keyed] = await cluster.createJobs([
    { type: 'noop', delayMs: 3_600_000, idempotencyKey: 'browser-order-17' },
  ]);
  await page.goto(ui('/jobs'));
  await page.getByLabel('Id or idempotency key').fill('browser-order-17');
  await page.getByRole('button', { name: 'Find' }).click();
  const rows = page.locator('table.data tbody tr');
  await eventually(() => rows.allTextContents()).toEqual([expect.stringContaining(`#${keyed!.id}`)]);
  await page.goto(ui('/jobs?status=SUCCEEDED'));
  expect(await page.getByLabel('Status').inputValue()).toBe('SUCCEEDED');
  await eventually(async () => {
    const texts = await rows.allTextContents();
    return texts.length > 0 && texts.every((t) => t.includes('SUCCEEDED'));
  }).toBe(true);
  await page.goto(ui('/jobs'));
  await visible(rows.first());
  await shot('jobs');
});

test('the jobs list pages with its cursor, older and back', async () => {
  // More than a page (25) of one type, so the pages are known: newest first.
  const made = await cluster.createJobs(
    Array.from({ length: 30 }, () => ({ type: 'paged', delayMs: 3_600_000 })),
  );
  const ids = made.map((j) => j.id).sort((a, b) => b - a);
  await page.goto(ui('/jobs?type=paged'));
  const firstCells = page.locator('table.data tbody tr td:first-child');
  await eventually(() => firstCells.allTextContents()).toEqual(ids.slice(0, 25).map((id) => `#${id}`));
  await page.getByRole('button', { name: 'Older →' }).click();
  await eventually(() => firstCells.allTextContents()).toEqual(ids.slice(25).map((id) => `#${id}`));
  expect(await page.getByRole('button', { name: 'Older →' }).isDisabled()).toBe(true);
  await page.getByRole('button', { name: '← Newer' }).click();
  await eventually(() => firstCells.allTextContents()).toEqual(ids.slice(0, 25).map((id) => `#${id}`));
});

test('a dead letter is requeued after a confirmation', async () => {
  const [doomed] = await cluster.createJobs([
    { type: 'sleep', payload: { durationMs: 10, failAttempts: 5 }, maxAttempts: 1 },
  ]);
  const letter = await cluster.until('the job to be dead-lettered', async () => {
    const { body } = await cluster.get<{ items: DeadLetter[] }>('/dead-letters');
    return body.items.find((d) => d.jobId === doomed!.id);
  });
  await page.goto(ui('/dead-letters'));
  const row = page.locator('table.data tbody tr', { hasText: `#${doomed!.id}` });
  await visible(row);
  await shot('dead-letters');
  await row.getByRole('button', { name: 'Requeue' }).click();
  const dialog = page.getByRole('dialog');
  await visible(dialog);
  expect(await dialog.textContent()).toContain(`Run job #${doomed!.id}`);
  await dialog.getByRole('button', { name: 'Requeue' }).click();
  await dialog.waitFor({ state: 'hidden', timeout: WAIT_MS });
  const requeued = await cluster.until('the dead letter to be marked requeued', async () => {
    const { body } = await cluster.get<{ items: DeadLetter[] }>('/dead-letters?includeRequeued=true');
    return body.items.find((d) => d.id === letter.id && d.requeuedAt !== null);
  });
  expect(requeued.requeuedAt).not.toBeNull();
  // The page shows it as requeued, with the requeued ones on.
  await page.getByLabel('Show requeued ones too').check();
  await visible(page.getByText(/^requeued /).first());
  expect((await cluster.executions(doomed!.id)).length).toBeGreaterThanOrEqual(2);
});

test('an admin drains a runner after a confirmation', async () => {
  await page.goto(ui('/runners'));
  const row = page.locator('table.data tbody tr', { hasText: 'runner-b' });
  await visible(row);
  await shot('runners');
  await row.getByRole('button', { name: 'Drain' }).click();
  const dialog = page.getByRole('dialog');
  await visible(dialog);
  expect(await dialog.textContent()).toContain('Drain runner runner-b?');
  await dialog.getByRole('button', { name: 'Drain' }).click();
  const status = await cluster.until('runner-b to drain', async () => {
    const { body } = await cluster.get<{ items: Runner[] }>('/runners?includeOffline=true');
    const s = body.items.find((r) => r.id === runnerB.id)?.status;
    return s === 'ONLINE' ? undefined : s;
  });
  expect(['DRAINING', 'OFFLINE']).toContain(status);
  // The list follows without a reload: runner-b drains, then leaves the list of live runners.
  await gone(row.getByRole('button', { name: 'Drain' }));
  expect(await runnerB.process.exited).toBe(0);
  await gone(row);
});

test('the queues view shows limits and counts; an admin pauses and resumes a queue after a confirmation', async () => {
  await cluster.request('PUT', '/queues/browser-q', {
    concurrency: 4,
    rateLimit: { limit: 30, periodMs: 60_000 },
  });
  await cluster.request('POST', '/jobs', { type: 'noop', queue: 'browser-q', delayMs: 3_600_000 });
  await page.goto(ui('/queues'));
  const row = page.locator('table.data tbody tr', { hasText: 'browser-q' });
  await visible(row);
  expect(await row.textContent()).toContain('4 at once, 30 per 60 s');
  await shot('queues');
  await row.getByRole('button', { name: 'Pause' }).click();
  const dialog = page.getByRole('dialog');
  await visible(dialog);
  expect(await dialog.textContent()).toContain('Pause queue browser-q?');
  await dialog.getByRole('button', { name: 'Pause' }).click();
  await cluster.until('browser-q to be paused', async () => {
    const { body } = await cluster.get<{ paused: boolean }>('/queues/browser-q');
    return body.paused || undefined;
  });
  await visible(row.getByText('PAUSED'));
  await row.getByRole('button', { name: 'Resume' }).click();
  await visible(dialog);
  await dialog.getByRole('button', { name: 'Resume' }).click();
  await visible(row.getByText('OPEN'));
  const { body } = await cluster.get<{ paused: boolean }>('/queues/browser-q');
  expect(body.paused).toBe(false);
});

test('a timer counts down in the page', async () => {
  // An hour away: it does not fire during the test (and the default outbound policy refuses private addresses).
  const timer = await cluster.request('POST', '/timers', { hours: 1, url: 'https://example.com/hook' });
  expect(timer.status).toBe(201);
  await page.goto(ui('/timers'));
  const clock = page.getByRole('timer').first();
  await visible(clock);
  const first = await clock.textContent();
  expect(first).toMatch(/^(1:00:00|0:59:\d\d)$/);
  await eventually(() => clock.textContent()).not.toBe(first);
  await shot('timers');
});

test('the overview shows counts by status and the throughput chart; it fits a phone', async () => {
  await page.goto(ui('/'));
  const succeeded = page.getByTestId('status-counts').getByRole('link', { name: /SUCCEEDED jobs/ });
  await eventually(() => succeeded.getAttribute('aria-label')).toMatch(/^[1-9]\d* SUCCEEDED jobs$/);
  const chart = page.getByRole('img', { name: /Finished attempts per minute/ });
  await visible(chart);
  await eventually(() => chart.locator('title').textContent()).toMatch(/: [1-9]\d* in all/);
  await shot('overview');
  // The same tab (the session is per tab), at a phone's width.
  await page.setViewportSize({ width: 390, height: 844 });
  try {
    await page.reload();
    await visible(page.getByRole('heading', { name: 'Overview' }));
    // Nothing wider than the screen: no sideways scrolling on a phone.
    const overflow = await page.evaluate<number>('document.documentElement.scrollWidth - window.innerWidth');
    expect(overflow).toBeLessThanOrEqual(0);
    await shot('overview-phone');
  } finally {
    await page.setViewportSize({ width: 1280, height: 860 });
  }
});

test('a client-scoped key signs in through the form and is offered no admin action', async () => {
  // Sign out, then in again as the client, through the form.
  await page.goto(ui('/'));
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.getByLabel('API key').fill('hg_000000000000_not-a-key');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await visible(page.getByRole('alert'));
  expect(await page.getByRole('alert').textContent()).toContain('does not know this key');
  await page.getByLabel('API key').fill(clientKey);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await eventually(() => page.getByTestId('who').textContent()).toContain('(client)');
  await page.goto(ui('/runners'));
  await visible(page.locator('table.data tbody tr', { hasText: 'runner-a' }));
  expect(await page.getByRole('button', { name: 'Drain' }).count()).toBe(0);
  expect(await page.getByRole('columnheader', { name: 'Action' }).count()).toBe(0);
  // What a client may do is still there: creating and cancelling jobs.
  await page.goto(ui('/jobs'));
  await visible(page.getByRole('link', { name: 'Create a job' }));
});

/**
 * Live from the orchestrator's own GET /events: with the stream up, the page refetches only every 60 s as a safety
 * net, so a cancel made through the API showing within the wait (30 s) came through the stream.
 */
test('the real event stream: a job cancelled through the API shows CANCELLED without a reload', async () => {
  const [job] = await cluster.createJobs([{ type: 'noop', delayMs: 3_600_000 }]);
  await page.goto(ui(`/jobs/${job!.id}`));
  await eventually(() => page.locator('.live').textContent()).toBe('live');
  const status = page.locator('h1 + .status');
  await eventually(() => status.textContent()).toBe('SCHEDULED');
  expect((await cluster.request('POST', `/jobs/${job!.id}/cancel`)).status).toBe(200);
  await eventually(() => status.textContent()).toBe('CANCELLED');
});

/**
 * Live updates from a stream the test controls: a proxy in front of the orchestrator serves `GET /events` itself
 * and passes everything else through: held open as Server-Sent Events, with events the test sends when it chooses. A job cancelled through the API shows as
 * cancelled once its event arrives, well before the interval the page keeps as a safety net while the stream is up
 * (60 s); a dropped stream is resumed with Last-Event-ID.
 */
test('the views follow GET /events: an event makes the page refetch what it touched', async () => {
  const streams: { res: ServerResponse; headers: IncomingHttpHeaders }[] = [];
  const target = new URL(cluster.url);
  const proxy = createServer((req, res) => {
    if (req.url?.startsWith('/events')) {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      res.write(': hello\n\n');
      streams.push({ res, headers: req.headers });
      return;
    }
    const upstream = httpRequest(
      { host: target.hostname, port: target.port, path: req.url, method: req.method, headers: req.headers },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  const via = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
  const send = (event: Record<string, unknown>) => {
    for (const { res } of streams)
      res.write(`id: ${event.id}\nevent: ${event.kind}\ndata: ${JSON.stringify(event)}\n\n`);
  };
  try {
    const [job] = await cluster.createJobs([{ type: 'noop', delayMs: 3_600_000 }]);
    // Its own origin, so its own session: signed in through the link.
    await page.goto(`${via}/ui/jobs/${job!.id}#key=${ADMIN}`);
    await eventually(() => page.locator('.live').textContent()).toBe('live');
    expect(streams[0]?.headers.authorization).toBe(`Bearer ${ADMIN}`);
    const status = page.locator('h1 + .status');
    await eventually(() => status.textContent()).toBe('SCHEDULED');

    expect((await cluster.request('POST', `/jobs/${job!.id}/cancel`)).status).toBe(200);
    send({
      id: 7,
      kind: 'job.cancelled',
      at: new Date().toISOString(),
      jobId: job!.id,
      jobType: 'noop',
      data: {},
    });
    await eventually(() => status.textContent()).toBe('CANCELLED');

    // The server drops the stream: the page connects again, saying what it saw last.
    const dropped = streams.length;
    streams.at(-1)!.res.end();
    await eventually(() => Promise.resolve(streams.length)).toBeGreaterThan(dropped);
    expect(streams.at(-1)!.headers['last-event-id']).toBe('7');
  } finally {
    for (const { res } of streams) res.end();
    proxy.closeAllConnections();
    await new Promise((resolve) => proxy.close(resolve));
  }
});
