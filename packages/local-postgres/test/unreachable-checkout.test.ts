import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import {
  chmod,
  cp,
  link,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  readlink,
  realpath,
  rm,
  symlink,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  installationAt,
  makeTempDataDir,
  reachableDataDir,
  reachableInstallation,
  shippedInstallation,
  startEmbeddedPostgres,
} from '../src/index.js';
import { ensurePostgresUser, type PostgresIdentity } from '../src/postgres-user.js';

// Only root runs PostgreSQL as another user; /proc and useradd make it Linux.
const rootOnLinux = process.getuid?.() === 0 && process.platform === 'linux';

/** A copy of `src` made of hard links where the file system allows (instant; same content, same hash). */
async function linkTree(src: string, dst: string): Promise<void> {
  await mkdir(dst, { mode: 0o755 });
  for (const entry of await readdir(src, { withFileTypes: true })) {
    const from = path.join(src, entry.name);
    const to = path.join(dst, entry.name);
    if (entry.isDirectory()) await linkTree(from, to);
    else if (entry.isSymbolicLink()) await symlink(await readlink(from), to);
    else await link(from, to).catch(() => cp(from, to));
  }
}

function runAs(who: PostgresIdentity, file: string, args: string[]): string {
  return execFileSync(file, args, { uid: who.uid, gid: who.gid, encoding: 'utf8' });
}

// Issue 10, defect 13: as root in a mode-700 directory (a root home, a `mktemp -d` folder) the `postgres` user
// that runs the server could reach neither node_modules' binaries (`spawn …/initdb EACCES`) nor .data/postgres.
describe.skipIf(!rootOnLinux)(
  'a checkout the postgres user cannot enter (skipped unless root on Linux)',
  () => {
    let who: PostgresIdentity;
    let privateDir: string; // mode 700, like the folder the checkout sits in
    let scratch: string; // stands in for /var/tmp/hourglass-postgres
    let inside: ReturnType<typeof installationAt>; // the binaries where node_modules would hold them

    beforeAll(async () => {
      who = await ensurePostgresUser();
      privateDir = await mkdtemp(path.join(tmpdir(), 'local-postgres-private-'));
      await chmod(privateDir, 0o700);
      await linkTree(await realpath(shippedInstallation().dir), path.join(privateDir, 'node_modules-native'));
      inside = installationAt(path.join(privateDir, 'node_modules-native'));
      scratch = await mkdtemp(path.join(tmpdir(), 'local-postgres-scratch-'));
      await chmod(scratch, 0o755);
    });

    afterAll(async () => {
      if (privateDir) await rm(privateDir, { recursive: true, force: true });
      if (scratch) await rm(scratch, { recursive: true, force: true });
    });

    it('copies the binaries once to a place the postgres user can reach, also when two starts copy at once', async () => {
      expect(() => runAs(who, inside.postgres, ['--version'])).toThrow(/EACCES/);

      const [a, b] = await Promise.all([
        reachableInstallation(inside, scratch),
        reachableInstallation(inside, scratch),
      ]);
      expect(b.dir).toBe(a.dir);
      expect(path.dirname(a.dir)).toBe(scratch);
      expect(readdirSync(scratch)).toEqual([path.basename(a.dir)]); // the loser's partial copy is gone
      expect(runAs(who, a.postgres, ['--version'])).toMatch(/^postgres \(PostgreSQL\) \d+/);

      const inode = statSync(a.postgres).ino;
      // What a run killed mid-copy leaves behind (no process has a pid this large).
      await mkdir(`${a.dir}.partial-999999999-abandoned`);
      const again = await reachableInstallation(inside, scratch);
      expect(again.dir).toBe(a.dir);
      expect(statSync(again.postgres).ino).toBe(inode); // reused, not copied again
      expect(readdirSync(scratch)).toEqual([path.basename(a.dir)]);
    });

    it('starts from that copy with the data directory moved out of reach of the private directory, and answers SELECT 1', async () => {
      const wanted = path.join(privateDir, 'checkout', '.data', 'postgres');
      await expect(
        startEmbeddedPostgres({
          dataDir: wanted,
          persistent: true,
          installation: inside,
          scratchRoot: scratch,
        }),
      ).rejects.toThrow(/cannot enter .*local-postgres-private-/);

      const { dir: dataDir, movedBecause } = await reachableDataDir(wanted, 'data-checkout', scratch);
      expect(dataDir).toBe(path.join(scratch, 'data-checkout'));
      expect(movedBecause).toContain(privateDir);

      const server = await startEmbeddedPostgres({
        dataDir,
        persistent: false,
        fast: true,
        installation: inside,
        scratchRoot: scratch,
      });
      try {
        const client = new pg.Client({ connectionString: server.url });
        await client.connect();
        try {
          expect((await client.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
        } finally {
          await client.end();
        }
        const postmaster = (await readFile(path.join(dataDir, 'postmaster.pid'), 'utf8')).split('\n')[0];
        expect(await readlink(`/proc/${postmaster}/exe`)).toMatch(new RegExp(`^${scratch}/postgres-`));
        expect(statSync(`/proc/${postmaster}`).uid).toBe(who.uid);
      } finally {
        await server.stop();
      }
      expect(existsSync(dataDir)).toBe(false);
    });

    it('puts a throwaway data directory under the scratch root when TMPDIR is private', async () => {
      const usual = await makeTempDataDir('local-postgres-tmp-', scratch);
      expect(path.dirname(usual)).toBe(tmpdir());
      await rm(usual, { recursive: true });

      vi.stubEnv('TMPDIR', privateDir);
      try {
        const moved = await makeTempDataDir('local-postgres-tmp-', scratch);
        expect(path.dirname(moved)).toBe(scratch);
        await rm(moved, { recursive: true });
      } finally {
        vi.unstubAllEnvs();
      }
    });
  },
);
