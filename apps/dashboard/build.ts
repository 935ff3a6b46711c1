/**
 * Builds the dashboard (Vite) into apps/dashboard/dist, which the orchestrator serves at /ui, and says whether a
 * build is current. `pnpm start` and the tests call `ensureDashboardBuilt()`: it hashes what goes into the bundle
 * (this app's sources and the client and contracts packages it bundles) and builds only when the hash differs from
 * the one stored with the last build, so a stale build is never served and an unchanged one costs a hash.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const APP = fileURLToPath(new URL('./', import.meta.url));
export const DASHBOARD_DIST = path.join(APP, 'dist');
const HASH_FILE = path.join(DASHBOARD_DIST, '.inputs-hash');
const INPUTS = [
  path.join(APP, 'src'),
  path.join(APP, 'public'),
  path.join(APP, 'index.html'),
  path.join(APP, 'vite.config.ts'),
  path.join(APP, 'package.json'),
  path.join(APP, '../../packages/client/src'),
  path.join(APP, '../../packages/contracts/src'),
];

async function filesUnder(p: string): Promise<string[]> {
  if (!existsSync(p)) return [];
  const entries = await readdir(p, { withFileTypes: true, recursive: true }).catch(() => null);
  if (entries === null) return [p]; // a file
  return entries.filter((e) => e.isFile()).map((e) => path.join(e.parentPath, e.name));
}

export async function inputsHash(): Promise<string> {
  const hash = createHash('sha256');
  const files = (await Promise.all(INPUTS.map(filesUnder))).flat().sort();
  for (const file of files) {
    hash
      .update(path.relative(APP, file))
      .update('\0')
      .update(await readFile(file))
      .update('\0');
  }
  return hash.digest('hex');
}

/** A production build into dist/ (logs Vite's summary unless `quiet`). */
export async function buildDashboard(opts: { quiet?: boolean } = {}): Promise<void> {
  const hash = await inputsHash();
  const { build } = await import('vite');
  await build({
    root: APP,
    configFile: path.join(APP, 'vite.config.ts'),
    logLevel: opts.quiet ? 'warn' : 'info',
  });
  await writeFile(HASH_FILE, `${hash}\n`);
}

/** Builds unless dist/ holds a build of exactly the current sources; answers whether it built. */
export async function ensureDashboardBuilt(opts: { quiet?: boolean } = {}): Promise<boolean> {
  const [current, built] = await Promise.all([
    inputsHash(),
    readFile(HASH_FILE, 'utf8').then(
      (s) => s.trim(),
      () => '',
    ),
  ]);
  if (current === built && existsSync(path.join(DASHBOARD_DIST, 'index.html'))) return false;
  await buildDashboard(opts);
  return true;
}
