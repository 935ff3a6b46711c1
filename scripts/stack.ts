/**
 * `pnpm start`: the whole system on one machine, for a newcomer. PostgreSQL (DATABASE_URL, or an embedded
 * server with its data in .data/postgres), migrations, N orchestrators and M runners as real processes, their
 * logs interleaved and readable. Ctrl-C stops runners first (they finish or hand back their work), then the
 * orchestrators, then PostgreSQL; a second Ctrl-C kills everything at once.
 *
 *   pnpm start [--orchestrators N] [--runners M]
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { constants } from 'node:os';
import { parseArgs } from 'node:util';
import { ensureDashboardBuilt } from '@hourglass/dashboard/build';
import {
  DEV_DATA_DIR,
  type DevDatabase,
  ENTRY,
  formatLogLine,
  type LogStyle,
  namePrefix,
  paint,
  portIsFree,
  resolveDevDatabase,
  type ServiceKind,
  type ServiceProcess,
  StackState,
  spawnService,
  useColor,
} from '@hourglass/devkit';
import { migrate } from '../apps/orchestrator/src/db/migrate.js';

/** Set in the supervised copy of this script (see `launch`). */
const SUPERVISED = 'HOURGLASS_STACK_SUPERVISED';
const FORWARDED_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
/** One Ctrl-C can reach us twice (a wrapper forwarding what the terminal already sent): not a second press. */
const SECOND_SIGNAL_AFTER_MS = 500;
const READY_TIMEOUT_MS = 60_000;
const ORCHESTRATOR_STOP_MS = 15_000;
/**
 * Local development calls webhooks on this machine, so private targets are allowed unless asked otherwise
 * (production default: refused). Webhooks are signed with WEBHOOK_SECRET, or a fixed development secret.
 */
const DEV_BLOCK_PRIVATE = process.env.WEBHOOK_BLOCK_PRIVATE_TARGETS ?? 'false';
const DEV_WEBHOOK_SECRET = process.env.WEBHOOK_SECRET ?? 'hourglass-development-secret';
/**
 * Authentication stays on locally too (the product's default): without ADMIN_API_KEY a fresh admin key is made
 * for this run (set here, before the supervised copy starts, so both share it), printed in the banner and given
 * to the runners. AUTH_DISABLED=true turns it off, and the banner says so.
 */
const AUTH_OFF = process.env.AUTH_DISABLED === 'true';
if (!AUTH_OFF && !process.env.ADMIN_API_KEY)
  process.env.ADMIN_API_KEY = `dev-admin-${randomBytes(16).toString('hex')}`;
const ADMIN_KEY = AUTH_OFF ? undefined : process.env.ADMIN_API_KEY;

interface Options {
  orchestrators: number;
  runners: number;
}

const parse = (args: string[]) =>
  parseArgs({
    args,
    options: {
      orchestrators: { type: 'string', short: 'o', default: '1' },
      runners: { type: 'string', short: 'r', default: '2' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });

function parseOptions(): Options {
  // `pnpm start -- --runners 4` passes the `--` on.
  const args = process.argv.slice(2);
  if (args[0] === '--') args.shift();
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(args);
  } catch (err) {
    console.error(`${(err as Error).message}\nusage: pnpm start [--orchestrators N] [--runners M]`);
    process.exit(2);
  }
  const { values } = parsed;
  if (values.help) {
    console.log(
      'usage: pnpm start [--orchestrators N] [--runners M]\n' +
        '  N orchestrators (default 1) on PORT, PORT+1, … (PORT defaults to 8080)\n' +
        '  M runners (default 2), spread round-robin over the orchestrators\n' +
        '  PostgreSQL: DATABASE_URL, else an embedded server in .data/postgres on EMBEDDED_PG_PORT (5433)',
    );
    process.exit(0);
  }
  const count = (name: string, raw: string, min: number) => {
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min || n > 64) {
      console.error(`--${name}: expected a whole number from ${min} to 64, got '${raw}'`);
      process.exit(2);
    }
    return n;
  };
  return {
    orchestrators: count('orchestrators', values.orchestrators, 1),
    runners: count('runners', values.runners, 0),
  };
}

/**
 * Runs the stack in a child process of its own process group and relays signals to it. A Ctrl-C in a terminal
 * goes to every process of the foreground group: without this, PostgreSQL, the orchestrators and the runners
 * would all get it at once, and the database would be gone while the runners still report their work.
 */
function launch(): void {
  parseOptions(); // bad arguments fail here, before anything starts
  const child = spawn(process.execPath, [...process.execArgv, ...process.argv.slice(1)], {
    detached: true,
    // The IPC channel tells the stack when this launcher dies (even by kill -9), so it can shut down.
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    env: { ...process.env, [SUPERVISED]: '1' },
  });
  for (const signal of FORWARDED_SIGNALS) {
    process.on(signal, () => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    });
  }
  child.on('exit', (code, signal) => {
    process.exit(code ?? 128 + (signal ? (constants.signals[signal] ?? 0) : 1));
  });
}

async function runStack(): Promise<void> {
  const options = parseOptions();
  const color = useColor();
  const names = [
    'stack',
    'postgres',
    ...Array.from({ length: options.orchestrators }, (_, i) => `orchestrator-${i + 1}`),
    ...Array.from({ length: options.runners }, (_, i) => `runner-${i + 1}`),
  ];
  const style: LogStyle = { color, nameWidth: Math.max(...names.map((n) => n.length)) };
  // A closed terminal makes writes fail (EIO/EPIPE); that must not crash the shutdown.
  process.stdout.on('error', () => {});
  process.stderr.on('error', () => {});
  const print = (name: string, text: string) => {
    const prefix = namePrefix(name, names.indexOf(name), style);
    process.stdout.write(
      `${text
        .split('\n')
        .map((l) => prefix + l)
        .join('\n')}\n`,
    );
  };
  const say = (text: string) => print('stack', text);

  const graceMs = Number(process.env.SHUTDOWN_GRACE_MS) || 30_000;
  const services: ServiceProcess[] = [];
  let database: DevDatabase | undefined;
  let state: StackState | undefined;
  let stopping: Promise<void> | undefined;
  let firstSignalAt = 0;

  const stopAll = async (why: string, code: number) => {
    if (services.length > 0 || database || code === 0) {
      say(
        `${why}: stopping runners (they finish their work), then orchestrators, then PostgreSQL. Ctrl-C again to force.`,
      );
    }
    await startup.catch(() => {}); // lets a start in progress reach a step where it notices `stopping`
    const stopKind = (kind: ServiceKind, timeoutMs: number) =>
      Promise.all(services.filter((s) => s.kind === kind).map((s) => s.stop('SIGTERM', timeoutMs)));
    await stopKind('runner', graceMs + 15_000);
    await stopKind('orchestrator', ORCHESTRATOR_STOP_MS);
    if (database?.source === 'embedded') say('stopping PostgreSQL');
    await database?.stop();
    await state?.release();
    say('stopped');
    process.exit(code);
  };
  const requestStop = (why: string, code = 0) => {
    if (!stopping) {
      firstSignalAt = Date.now();
      stopping = stopAll(why, code).catch((err) => {
        say(`shutdown failed: ${(err as Error).message}`);
        process.exit(1);
      });
      return;
    }
    if (Date.now() - firstSignalAt < SECOND_SIGNAL_AFTER_MS) return;
    say('forced: killing every process now');
    for (const s of services) s.child.kill('SIGKILL');
    // PostgreSQL outlives this; the next start stops the orphaned postmaster (stale-postmaster.ts).
    process.exit(130);
  };
  for (const signal of FORWARDED_SIGNALS) process.on(signal, () => requestStop(`got ${signal}`));
  process.on('disconnect', () => requestStop('launcher went away'));

  const startup = (async () => {
    state = await StackState.claim(say, graceMs + 5_000);
    database = await resolveDevDatabase({
      joinRunning: false,
      log: say,
      serverLog: (line) => {
        // The server's own log lines; initdb's chatter on the first start is left out.
        if (/\b(LOG|WARNING|ERROR|FATAL|PANIC):|orphaned postmaster/.test(line))
          print('postgres', paint(color, '90', line));
      },
    });
    const where =
      database.source === 'env'
        ? 'from DATABASE_URL'
        : `embedded, data in ${database.dataDir === DEV_DATA_DIR ? '.data/postgres' : database.dataDir} (kept between runs)`;
    const shownUrl = database.source === 'env' ? withoutPassword(database.url) : database.url;
    say(`PostgreSQL ${where}: ${paint(color, '1', shownUrl)}`);
    const applied = await migrate(database.url);
    say(applied.length ? `migrations applied: ${applied.join(', ')}` : 'database schema is up to date');
    // The orchestrators serve apps/dashboard/dist at /ui: built when its sources changed since the last build.
    say((await ensureDashboardBuilt({ quiet: true })) ? 'dashboard built' : 'dashboard build is up to date');
    if (stopping) return;

    const basePort = Number(process.env.PORT || 8080);
    if (!Number.isInteger(basePort) || basePort < 1 || basePort + options.orchestrators > 65536) {
      throw new Error(`PORT: expected a TCP port, got '${process.env.PORT}'`);
    }
    const host = process.env.HOST || '127.0.0.1';
    const apiHost = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
    const urls = Array.from({ length: options.orchestrators }, (_, i) => `http://${apiHost}:${basePort + i}`);

    for (let i = 0; i < options.orchestrators; i++) {
      if (!(await portIsFree(basePort + i, host))) {
        throw new Error(
          `port ${basePort + i} is in use (another \`pnpm start\`?); set PORT to start from another port`,
        );
      }
    }

    const registered = new Set<string>();
    const start = (kind: keyof typeof ENTRY, name: string, env: Record<string, string>) => {
      const service = spawnService(kind, name, env, (n, line) => {
        print(n, formatLogLine(line, style));
        if (kind === 'runner' && line.includes('"registered"')) registered.add(n);
      });
      state?.add(name, service.pid, ENTRY[kind]);
      services.push(service);
      void service.exited.then((code) => {
        if (!stopping)
          say(paint(color, '31', `${name} exited unexpectedly (${code}); the rest keeps running`));
      });
      return service;
    };

    for (let i = 0; i < options.orchestrators; i++) {
      start('orchestrator', `orchestrator-${i + 1}`, {
        DATABASE_URL: database.url,
        PORT: String(basePort + i),
        HOST: host,
        MIGRATE_ON_START: 'false',
        WEBHOOK_BLOCK_PRIVATE_TARGETS: DEV_BLOCK_PRIVATE,
      });
    }
    await waitUntil(
      'the orchestrators to answer /readyz',
      async () => (await Promise.all(urls.map(answers))).every(Boolean),
      () => services.some((s) => s.kind === 'orchestrator' && hasExited(s)),
      () => stopping !== undefined,
    );
    if (stopping) return;

    for (let i = 0; i < options.runners; i++) {
      start('runner', `runner-${i + 1}`, {
        // Every replica, starting with a different one per runner: spread over them, failing over when one dies.
        ORCHESTRATOR_URL: [...urls.slice(i % urls.length), ...urls.slice(0, i % urls.length)].join(','),
        RUNNER_NAME: `runner-${i + 1}`,
        WEBHOOK_BLOCK_PRIVATE_TARGETS: DEV_BLOCK_PRIVATE,
        WEBHOOK_SECRET: DEV_WEBHOOK_SECRET,
        // Locally the runners use the admin key; in production give them a key with only the runner scope.
        ...(ADMIN_KEY ? { API_KEY: ADMIN_KEY } : {}),
        // Each execution start is a debug line: worth seeing when watching a few jobs by hand.
        LOG_LEVEL: process.env.LOG_LEVEL || 'debug',
      });
    }
    // A runner that dies is reported (above) and not waited for; the others keep going.
    const runners = services.filter((s) => s.kind === 'runner');
    await waitUntil(
      'the runners to register',
      async () => runners.every((r) => registered.has(r.name) || hasExited(r)),
      () => false,
      () => stopping !== undefined,
    );
    if (stopping) return;
    say(banner(urls, { ...database, url: shownUrl }, options, color));
  })();

  try {
    await startup;
  } catch (err) {
    say(paint(color, '31', `could not start: ${(err as Error).message}`));
    requestStop('start failed', 1);
  }
}

function hasExited(s: ServiceProcess): boolean {
  return s.child.exitCode !== null || s.child.signalCode !== null;
}

function withoutPassword(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return url;
  }
}

async function answers(url: string): Promise<boolean> {
  try {
    return (await fetch(`${url}/readyz`)).ok;
  } catch {
    return false;
  }
}

/** Polls `ready` until true; throws when `failed` turns true or after READY_TIMEOUT_MS; returns early on `cancelled`. */
async function waitUntil(
  what: string,
  ready: () => Promise<boolean>,
  failed: () => boolean,
  cancelled: () => boolean,
): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (!cancelled()) {
    if (await ready()) return;
    if (failed()) throw new Error(`a process exited while waiting for ${what} (see its log above)`);
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what} after ${READY_TIMEOUT_MS} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function banner(urls: string[], database: DevDatabase, options: Options, color: boolean): string {
  const api = urls[0]!;
  const bold = (t: string) => paint(color, '1', t);
  const auth = ADMIN_KEY ? ` -H 'authorization: Bearer ${ADMIN_KEY}'` : '';
  const json = `-H 'content-type: application/json'${auth}`;
  return [
    '',
    bold('Hourglass is running'),
    `  API          ${bold(api)}${urls.length > 1 ? `  (all orchestrators: ${urls.join(', ')})` : ''}`,
    `  PostgreSQL   ${database.url}${database.source === 'embedded' ? '  (psql or pgAdmin)' : ''}`,
    `  Runners      ${options.runners}`,
    ADMIN_KEY
      ? `  Admin key    ${bold(ADMIN_KEY)}  (this run's; set ADMIN_API_KEY to choose one, AUTH_DISABLED=true to turn auth off)`
      : '  Auth         OFF (AUTH_DISABLED=true): anyone who can reach the API can use it',
    `  API docs     ${api}/docs`,
    ADMIN_KEY
      ? `  Dashboard    ${bold(`${api}/ui/#key=${ADMIN_KEY}`)}  (this link signs you in as the admin)`
      : `  Dashboard    ${bold(`${api}/ui/`)}`,
    '',
    '  Try the CLI (in this checkout; `npx hourglass` where @hourglass/client is installed):',
    `    export HOURGLASS_URL=${api}${ADMIN_KEY ? ` HOURGLASS_API_KEY=${ADMIN_KEY}` : ''}`,
    `    pnpm hourglass jobs create echo --payload '{"hello":"world"}'`,
    '    pnpm hourglass jobs wait 1            # the id it printed; exit code 0 once it SUCCEEDED',
    '    pnpm hourglass jobs list              # --json for scripts; --help on every command',
    '',
    '  Or curl:',
    '    # a job that succeeds at once',
    `    curl -s -X POST ${api}/jobs ${json} -d '{"type":"echo","payload":{"hello":"world"}}'`,
    '    # a job that always fails: 3 attempts 1 s and 2 s apart, then FAILED and dead-lettered',
    `    curl -s -X POST ${api}/jobs ${json} \\`,
    `      -d '{"type":"sleep","payload":{"durationMs":500,"failAttempts":99},"maxAttempts":3,"backoff":{"initialDelayMs":1000}}'`,
    "    # jobs, newest first; one job's attempts; the dead-letter queue; the runners",
    `    curl -s${auth} '${api}/jobs?limit=10'`,
    `    curl -s${auth} ${api}/jobs/1/executions`,
    `    curl -s${auth} ${api}/dead-letters`,
    `    curl -s${auth} ${api}/runners`,
    '',
    '  Stop: Ctrl-C (runners finish their work first; Ctrl-C twice to kill everything at once)',
    '',
  ].join('\n');
}

if (process.env[SUPERVISED] === '1') await runStack();
else launch();
