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
  for (const stream of [child.stdout, child.stderr]) {
    createInterface({ input: stream! }).on('line', (line) => onLine(name, line));
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
  return { name, kind, child, pid: child.pid!, exited, stop, kill9: () => stop('SIGKILL') };
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
