import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const ENTRY = {
  orchestrator: 'apps/orchestrator/src/main.ts',
  runner: 'apps/runner/src/main.ts',
} as const;

/** An orchestrator, a runner, or a plain Node script of someone's (an example, a user's project). */
export type ServiceKind = keyof typeof ENTRY | 'script';

export interface ServiceProcess {
  name: string;
  kind: ServiceKind;
  child: ChildProcess;
  pid: number;
  /** Resolves with the exit code (or the signal name) once the process has exited. */
  exited: Promise<number | string>;
  /** Sends `signal` (SIGTERM by default) and waits up to `timeoutMs` for the exit, then SIGKILLs. */
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<number | string>;
  /** kill -9: no shutdown code runs. */
  kill9(): Promise<number | string>;
  /** Calls `fn` with each output line from now on; answers a function that stops it. */
  onLine(fn: (line: string) => void): () => void;
}

/**
 * Starts an orchestrator or runner as a real Node process (TypeScript through tsx's loader, one process, so
 * signals reach the service itself), or a `script` (`opts.entry`, run as it is by Node or by `opts.command`, e.g.
 * python3, from `opts.cwd`).
 * Each output line goes to `onLine`.
 */
export function spawnService(
  kind: ServiceKind,
  name: string,
  env: Record<string, string | undefined>,
  onLine: (name: string, line: string) => void = () => {},
  opts: { entry?: string; cwd?: string; command?: string; nodeArgs?: string[] } = {},
): ServiceProcess {
  const args = [
    ...(opts.nodeArgs ?? []),
    ...(kind === 'script' ? [opts.entry ?? ''] : ['--import', 'tsx', opts.entry ?? ENTRY[kind]]),
  ];
  const child = spawn(opts.command ?? process.execPath, args, {
    cwd: opts.cwd ?? ROOT,
    env: { ...process.env, LOG_FORMAT: 'json', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const watchers = new Set<(line: string) => void>();
  for (const stream of [child.stdout, child.stderr]) {
    createInterface({ input: stream! }).on('line', (line) => {
      onLine(name, line);
      for (const fn of watchers) fn(line);
    });
  }
  const exited = once(child, 'exit').then(([code, signal]) => (code ?? signal) as number | string);
  const stop = async (signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 15_000) => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    try {
      return await exited;
    } finally {
      clearTimeout(timer);
    }
  };
  const watch = (fn: (line: string) => void) => {
    watchers.add(fn);
    return () => watchers.delete(fn);
  };
  return { name, kind, child, pid: child.pid!, exited, stop, kill9: () => stop('SIGKILL'), onLine: watch };
}

/**
 * Answers the port an orchestrator process listens on, from its own 'orchestrator listening' log line (JSON, at
 * LOG_LEVEL info or below); throws if it exits first or says nothing within `timeoutMs`. Started with PORT=0, it
 * binds a port the kernel picks at that moment. Picking a free port first and handing it over leaves the seconds
 * of the process's start for another test's server to take it, and a readiness probe of that port is then
 * answered by the other server: two e2e files once talked to each other's orchestrator that way.
 */
export function listeningPort(service: ServiceProcess, timeoutMs: number): Promise<number> {
  return new Promise((resolve, reject) => {
    let stopWatching = () => {};
    const done = (fn: () => void) => {
      clearTimeout(timer);
      stopWatching();
      fn();
    };
    const timer = setTimeout(
      () => done(() => reject(new Error(`${service.name} did not say it listens within ${timeoutMs} ms`))),
      timeoutMs,
    );
    stopWatching = service.onLine((line) => {
      if (!line.includes('"orchestrator listening"')) return;
      let port = Number.NaN;
      try {
        port = Number(new URL((JSON.parse(line) as { address: string }).address).port);
      } catch {}
      if (Number.isInteger(port) && port > 0) done(() => resolve(port));
      else done(() => reject(new Error(`${service.name}: no port in its listening line: ${line}`)));
    });
    service.exited.then((code) =>
      done(() => reject(new Error(`${service.name} exited (${code}) before it listened`))),
    );
  });
}

/** Polls `url` until it answers 2xx (e.g. an orchestrator's /readyz), or throws after `timeoutMs`. */
export async function waitForHttp(url: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    try {
      const res = await fetch(url);
      if (res.ok) return;
      last = `HTTP ${res.status}`;
    } catch (err) {
      last = (err as Error).message;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${url} did not answer within ${timeoutMs} ms (${last})`);
}
