import { chmod, lstat, mkdir, mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ensurePostgresUser, isRoot, whyPostgresCannotReach } from './postgres-user.js';

/**
 * Where we keep, as root, what the `postgres` user must reach but cannot where it normally lives (a checkout
 * in a mode-700 home or `mktemp -d` folder): a copy of the binaries, and data directories. /var/tmp rather
 * than os.tmpdir(): it survives reboots (the development cluster lives here then) and is not the TMPDIR that
 * may itself be private.
 */
export const SCRATCH_ROOT = '/var/tmp/hourglass-postgres';

/**
 * Creates `root` (755) if needed and checks that nobody but us can have planted anything in it: in a
 * world-writable /var/tmp another user could create it first, and the server would then run binaries or
 * use data from there. Answers `root`.
 */
export async function ensureScratchRoot(root = SCRATCH_ROOT): Promise<string> {
  await mkdir(root, { recursive: true, mode: 0o755 });
  const info = await lstat(root);
  if (!info.isDirectory() || info.uid !== process.getuid?.() || (info.mode & 0o022) !== 0) {
    throw new Error(
      `${root} must be a directory owned by uid ${process.getuid?.()} that others cannot write ` +
        `(it is ${info.isDirectory() ? `mode ${(info.mode & 0o777).toString(8)}, uid ${info.uid}` : 'not a directory'}); ` +
        'remove it and start again.',
    );
  }
  // A umask such as 077 would have made it 700, closed to the postgres user.
  if ((info.mode & 0o777) !== 0o755) await chmod(root, 0o755);
  return root;
}

/**
 * A new empty directory for a throwaway cluster: in os.tmpdir(), or, as root when the postgres user cannot
 * reach os.tmpdir() (a private TMPDIR), under `scratchRoot`.
 */
export async function makeTempDataDir(prefix: string, scratchRoot = SCRATCH_ROOT): Promise<string> {
  const usual = path.join(os.tmpdir(), prefix);
  if (!isRoot || (await whyPostgresCannotReach(usual, await ensurePostgresUser())) === undefined) {
    return mkdtemp(usual);
  }
  return mkdtemp(path.join(await ensureScratchRoot(scratchRoot), prefix));
}

/**
 * `dir` when the server can use it. As root, when the postgres user cannot reach `dir`, the stable
 * directory `name` under `scratchRoot` instead (so its data outlives restarts), and why `dir` was not used.
 */
export async function reachableDataDir(
  dir: string,
  name: string,
  scratchRoot = SCRATCH_ROOT,
): Promise<{ dir: string; movedBecause?: string }> {
  if (!isRoot) return { dir };
  const blocked = await whyPostgresCannotReach(dir, await ensurePostgresUser());
  if (blocked === undefined) return { dir };
  return {
    dir: path.join(await ensureScratchRoot(scratchRoot), name),
    movedBecause: `the postgres user cannot enter ${blocked}`,
  };
}
