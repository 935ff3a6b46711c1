/**
 * `pnpm postman`: runs the Postman collection (postman/) with newman against a real stack, as CI does (issue 5).
 *
 * PostgreSQL (a fresh database on DATABASE_URL's server when set, else an embedded server in a temporary
 * directory), migrations, one orchestrator process with authentication on and a random bootstrap admin key, and
 * one runner process restricted to `webhook,sleep` with a runner-scoped key. The collection plays a runner of
 * its own for `echo` and `noop` jobs, so the real runner never takes the work the collection claims. Exits 1
 * on any failed assertion; stops everything it started, whatever happens.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type ServiceProcess, spawnService, waitForHttp } from '@hourglass/devkit';
import { migrate } from '../apps/orchestrator/src/db/migrate.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const COLLECTION = path.join(ROOT, 'postman/hourglass.postman_collection.json');
const ENVIRONMENT = path.join(ROOT, 'postman/local.postman_environment.json');
const RUNNER_NAME = 'postman-ci-runner';
/** Lines of each service's log printed when something fails. */
const LOG_TAIL = 60;

/** The part of newman's programmatic API used here (newman ships no type declarations). */
interface NewmanSummary {
  run: {
    executions: { request: { method: string; url: { getPath(): string } } }[];
    stats: Record<string, { total?: number; failed?: number }>;
    failures: { error: { name: string; message: string; test?: string }; source?: { name?: string } }[];
    error?: Error;
  };
}
interface Newman {
  run(
    options: Record<string, unknown>,
    callback: (err: Error | null, summary: NewmanSummary) => void,
  ): unknown;
}
const newman = createRequire(import.meta.url)('newman') as Newman;

const say = (text: string) => console.log(`[postman] ${text}`);

/** Imported once our signal handlers are in place (see main). */
let pg: typeof import('@hourglass/local-postgres');

interface Stack {
  baseUrl: string;
  adminKey: string;
  services: ServiceProcess[];
  logs: Map<string, string[]>;
  cleanups: (() => Promise<void>)[];
  /** Set on Ctrl-C: the start stops at its next step. */
  interrupted: boolean;
}

function checkInterrupted(stack: Stack): void {
  if (stack.interrupted) throw new Error('interrupted');
}

async function startDatabase(stack: Stack): Promise<string> {
  const name = `hourglass_postman_${randomBytes(6).toString('hex')}`;
  const fromEnv = process.env.DATABASE_URL;
  if (fromEnv) {
    await pg.createDatabase(fromEnv, name);
    stack.cleanups.push(() => pg.dropDatabase(fromEnv, name));
    say(`PostgreSQL from DATABASE_URL, fresh database ${name}`);
    return pg.withDatabase(fromEnv, name);
  }
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'hourglass-postman-pg-'));
  stack.cleanups.push(() => rm(dataDir, { recursive: true, force: true }));
  const server = await pg.startEmbeddedPostgres({ dataDir, persistent: false, fast: true });
  stack.cleanups.push(() => server.stop());
  await pg.createDatabase(server.url, name);
  say(`embedded PostgreSQL on port ${server.port}, database ${name}`);
  return pg.withDatabase(server.url, name);
}

function start(stack: Stack, kind: 'orchestrator' | 'runner', name: string, env: Record<string, string>) {
  const lines: string[] = [];
  stack.logs.set(name, lines);
  const service = spawnService(kind, name, env, (_n, line) => {
    lines.push(line);
    if (lines.length > LOG_TAIL) lines.shift();
    // Errors are worth seeing as they happen; the rest only if the run fails.
    if (/"level":(50|60)/.test(line)) console.error(`[${name}] ${line}`);
  });
  stack.services.push(service);
  return service;
}

async function api(stack: Stack, method: string, url: string, body?: unknown): Promise<unknown> {
  const res = await fetch(`${stack.baseUrl}${url}`, {
    method,
    headers: {
      authorization: `Bearer ${stack.adminKey}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${url}: HTTP ${res.status} ${text}`);
  return text ? JSON.parse(text) : undefined;
}

async function startStack(stack: Stack): Promise<void> {
  const databaseUrl = await startDatabase(stack);
  checkInterrupted(stack);
  const applied = await migrate(databaseUrl);
  say(`migrations applied: ${applied.join(', ')}`);

  const port = await pg.pickFreePort('127.0.0.1');
  stack.baseUrl = `http://127.0.0.1:${port}`;
  const orchestrator = start(stack, 'orchestrator', 'orchestrator', {
    DATABASE_URL: databaseUrl,
    PORT: String(port),
    HOST: '127.0.0.1',
    AUTH_DISABLED: 'false',
    ADMIN_API_KEY: stack.adminKey,
    WEBHOOK_BLOCK_PRIVATE_TARGETS: 'false',
    MIGRATE_ON_START: 'false',
    LOG_LEVEL: 'info',
  });
  await Promise.race([
    waitForHttp(`${stack.baseUrl}/readyz`, 60_000),
    orchestrator.exited.then((code) => {
      throw new Error(`the orchestrator exited (${code}) before it was ready`);
    }),
  ]);
  say(`orchestrator ready at ${stack.baseUrl}`);
  checkInterrupted(stack);

  // The runner gets a key with only the runner scope, as in production.
  const { key } = (await api(stack, 'POST', '/api-keys', { name: RUNNER_NAME, scopes: ['runner'] })) as {
    key: string;
  };
  const runner = start(stack, 'runner', RUNNER_NAME, {
    ORCHESTRATOR_URL: stack.baseUrl,
    API_KEY: key,
    RUNNER_NAME,
    // Only these: `echo` and `noop` jobs are left for the runner the collection plays.
    RUNNER_TYPES: 'webhook,sleep',
    RUNNER_CONCURRENCY: '4',
    WEBHOOK_BLOCK_PRIVATE_TARGETS: 'false',
    // Short polls and grace, so that the runner stops quickly at the end.
    POLL_WAIT_SECONDS: '5',
    SHUTDOWN_GRACE_MS: '5000',
    LOG_LEVEL: 'info',
  });
  const deadline = Date.now() + 60_000;
  for (;;) {
    const { items } = (await api(stack, 'GET', '/runners')) as { items: { name: string }[] };
    if (items.some((r) => r.name === RUNNER_NAME)) break;
    if (runner.child.exitCode !== null) throw new Error(`the runner exited (${runner.child.exitCode})`);
    if (Date.now() > deadline) throw new Error('the runner did not register within 60 s');
    checkInterrupted(stack);
    await new Promise((r) => setTimeout(r, 100));
  }
  say(`runner ${RUNNER_NAME} registered (types webhook, sleep)`);
}

function runNewman(stack: Stack): Promise<NewmanSummary> {
  return new Promise((resolve, reject) => {
    newman.run(
      {
        collection: COLLECTION,
        environment: ENVIRONMENT,
        envVar: [
          { key: 'baseUrl', value: stack.baseUrl },
          { key: 'adminKey', value: stack.adminKey },
        ],
        reporters: ['cli'],
        // Long-polls in the collection wait at most a few seconds; nothing should take this long.
        timeoutRequest: 30_000,
        timeout: 300_000,
      },
      (err, summary) => (err ? reject(err) : resolve(summary)),
    );
  });
}

/**
 * Operations of the OpenAPI document that the run never requested, as `METHOD /path/{param}`: a route added
 * without a request in the collection fails CI here.
 */
async function untested(stack: Stack, summary: NewmanSummary): Promise<string[]> {
  const doc = (await (await fetch(`${stack.baseUrl}/openapi.json`)).json()) as {
    paths: Record<string, Record<string, unknown>>;
  };
  const sent = summary.run.executions.map((e) => `${e.request.method} ${e.request.url.getPath()}`);
  const missing: string[] = [];
  for (const [path, operations] of Object.entries(doc.paths)) {
    const pattern = path.replace(/\{[^}]+\}/g, '[^/]+');
    for (const method of Object.keys(operations)) {
      const route = new RegExp(`^${method.toUpperCase()} ${pattern}$`);
      if (!sent.some((s) => route.test(s))) missing.push(`${method.toUpperCase()} ${path}`);
    }
  }
  return missing;
}

async function stopStack(stack: Stack): Promise<void> {
  // Runner first (it hands back its work), then the orchestrator, then the database.
  for (const kind of ['runner', 'orchestrator'] as const) {
    await Promise.all(stack.services.filter((s) => s.kind === kind).map((s) => s.stop('SIGTERM', 15_000)));
  }
  for (const cleanup of stack.cleanups.reverse()) {
    await cleanup().catch((err) => say(`cleanup failed: ${(err as Error).message}`));
  }
}

async function main(): Promise<number> {
  const began = Date.now();
  const stack: Stack = {
    baseUrl: '',
    adminKey: `postman-admin-${randomBytes(24).toString('hex')}`,
    services: [],
    logs: new Map(),
    cleanups: [],
    interrupted: false,
  };
  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= stopStack(stack);
    return stopping;
  };
  let starting: Promise<void> = Promise.resolve();
  const onSignal = (signal: NodeJS.Signals) => {
    if (stack.interrupted) return;
    say(`got ${signal}: stopping`);
    stack.interrupted = true;
    // A start in progress gets to a step where it notices, so that what it started is known and stopped.
    void starting
      .catch(() => {})
      .then(stop)
      .finally(() => process.exit(128 + os.constants.signals[signal]));
  };
  const signals = ['SIGINT', 'SIGTERM'] as const;
  for (const signal of signals) process.on(signal, onSignal);
  // (@hourglass/local-postgres installs no process-exiting signal hooks, so this script's own handler decides
  // the shutdown.)
  pg = await import('@hourglass/local-postgres');

  // Whatever ends this process, the services do not outlive it.
  process.on('exit', () => {
    for (const s of stack.services) if (s.child.exitCode === null) s.child.kill('SIGKILL');
  });

  let failed = true;
  try {
    starting = startStack(stack);
    await starting;
    const summary = await runNewman(stack);
    const { failures, stats, error } = summary.run;
    const assertions = stats.assertions ?? {};
    const requests = stats.requests ?? {};
    const missing = await untested(stack, summary);
    failed = failures.length > 0 || error != null || (assertions.total ?? 0) === 0 || missing.length > 0;
    for (const f of failures) say(`failure in ${f.source?.name ?? '?'}: ${f.error.name}: ${f.error.message}`);
    if (missing.length > 0) say(`documented but not in the collection: ${missing.join(', ')}`);
    say(
      `${requests.total ?? 0} requests, ${assertions.total ?? 0} assertions, ${assertions.failed ?? 0} failed` +
        (error ? `; run error: ${error.message}` : ''),
    );
  } catch (err) {
    if (!stack.interrupted) say(`failed: ${(err as Error).stack ?? err}`);
  } finally {
    if (failed && !stack.interrupted) {
      for (const [name, lines] of stack.logs) {
        console.error(`--- last ${lines.length} log lines of ${name} ---\n${lines.join('\n')}`);
      }
    }
    await stop();
  }
  say(`${failed ? 'FAILED' : 'passed'} in ${((Date.now() - began) / 1000).toFixed(1)} s`);
  return failed ? 1 : 0;
}

process.exit(await main());
