import { mkdir, rmdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Runs `fn` while holding a lock directory (`mkdir` is atomic), so that test files building the same packages at
 * once (the pack tests: `tsc -b` of @hourglass/contracts from two processes) take turns instead of one reading
 * declarations the other is rewriting. A lock older than `staleMs` is left over from a killed run and is taken.
 */
export async function exclusively<T>(
  lockDir: string,
  fn: () => Promise<T>,
  opts: { timeoutMs?: number; staleMs?: number } = {},
): Promise<T> {
  const deadline = Date.now() + (opts.timeoutMs ?? 180_000);
  const staleMs = opts.staleMs ?? 300_000;
  await mkdir(path.dirname(lockDir), { recursive: true });
  for (;;) {
    try {
      await mkdir(lockDir);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const age = await stat(lockDir).then(
        (s) => Date.now() - s.mtimeMs,
        () => 0,
      );
      if (age > staleMs) await rmdir(lockDir).catch(() => {});
      else if (Date.now() > deadline) throw new Error(`timed out waiting for the lock ${lockDir}`);
      else await sleep(200);
    }
  }
  try {
    return await fn();
  } finally {
    await rmdir(lockDir).catch(() => {});
  }
}
