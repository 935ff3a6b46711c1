/**
 * `pnpm build`: the production bundles the container images run.
 *
 *   dist/orchestrator/main.mjs      the orchestrator (migrates at start when MIGRATE_ON_START)
 *   dist/orchestrator/migrate.mjs   the migrate CLI (`node dist/orchestrator/migrate.mjs`, DATABASE_URL required)
 *   dist/orchestrator/migrations/   the SQL files migrate.ts finds beside the bundle (`./migrations/`)
 *   dist/orchestrator/ui/           the web dashboard (apps/dashboard, built by Vite), served at /ui
 *   dist/runner/main.mjs            the runner
 *
 * Workspace packages (@hourglass/*, TypeScript source) are bundled in. Every other package stays an import,
 * installed in the image from the app's own package.json: so each bare import must be a dependency of that
 * app, or the image would start and then fail to find it. The build checks that and fails naming the import.
 *
 * In a checkout, dist/<app>/node_modules links to apps/<app>/node_modules, so `node dist/<app>/main.mjs` finds
 * those same dependencies here too; the images copy the bundles beside a `pnpm deploy --prod` of the app.
 */
import { copyFile, cp, mkdir, readdir, readFile, rm, symlink } from 'node:fs/promises';
import { builtinModules } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildDashboard, DASHBOARD_DIST } from '@hourglass/dashboard/build';
import { build, type Plugin } from 'esbuild';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const DIST = path.join(ROOT, 'dist');
const BUILTINS = new Set(builtinModules);

interface AppBuild {
  app: 'orchestrator' | 'runner';
  entries: Record<string, string>;
}

const APPS: AppBuild[] = [
  {
    app: 'orchestrator',
    entries: { main: 'apps/orchestrator/src/main.ts', migrate: 'apps/orchestrator/src/db/migrate-cli.ts' },
  },
  { app: 'runner', entries: { main: 'apps/runner/src/main.ts' } },
];

/** `@scope/name/sub` -> `@scope/name`; `name/sub` -> `name`. */
function packageName(specifier: string): string {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!;
}

function externals(app: string, dependencies: Set<string>): Plugin {
  return {
    name: 'app-dependencies-external',
    setup(b) {
      b.onResolve({ filter: /^[^./]/ }, (args) => {
        if (args.kind === 'entry-point' || path.isAbsolute(args.path)) return undefined;
        if (args.path.startsWith('node:') || BUILTINS.has(args.path)) return { external: true };
        const name = packageName(args.path);
        if (name.startsWith('@hourglass/')) return undefined; // workspace source: bundle it
        if (dependencies.has(name)) return { external: true };
        return {
          errors: [
            {
              text: `'${name}' (imported by ${path.relative(ROOT, args.importer)}) is not a dependency of apps/${app}/package.json, so the image would not install it`,
            },
          ],
        };
      });
    },
  };
}

async function buildApp({ app, entries }: AppBuild): Promise<void> {
  const manifest = JSON.parse(await readFile(path.join(ROOT, 'apps', app, 'package.json'), 'utf8')) as {
    dependencies?: Record<string, string>;
  };
  const outdir = path.join(DIST, app);
  await rm(outdir, { recursive: true, force: true });
  await build({
    absWorkingDir: ROOT,
    entryPoints: Object.fromEntries(Object.entries(entries).map(([out, src]) => [out, path.join(ROOT, src)])),
    outdir,
    outExtension: { '.js': '.mjs' },
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    sourcemap: true,
    logLevel: 'warning',
    plugins: [externals(app, new Set(Object.keys(manifest.dependencies ?? {})))],
  });
  await symlink(path.join('..', '..', 'apps', app, 'node_modules'), path.join(outdir, 'node_modules'), 'dir');
}

async function copyMigrations(): Promise<number> {
  const from = path.join(ROOT, 'apps/orchestrator/src/db/migrations');
  const to = path.join(DIST, 'orchestrator/migrations');
  await mkdir(to, { recursive: true });
  const files = (await readdir(from)).filter((f) => f.endsWith('.sql'));
  for (const file of files) await copyFile(path.join(from, file), path.join(to, file));
  return files.length;
}

/** The dashboard, built afresh, beside the orchestrator's bundle (where the orchestrator looks for `ui/`). */
async function copyDashboard(): Promise<void> {
  await buildDashboard({ quiet: true });
  const to = path.join(DIST, 'orchestrator/ui');
  await cp(DASHBOARD_DIST, to, { recursive: true, filter: (src) => !path.basename(src).startsWith('.') });
}

/** `pnpm build` builds both apps; `pnpm build runner` only one (an image installs only its own app). */
async function main(): Promise<void> {
  const wanted = process.argv.slice(2);
  const unknown = wanted.filter((name) => !APPS.some((a) => a.app === name));
  if (unknown.length)
    throw new Error(`unknown app: ${unknown.join(', ')} (known: ${APPS.map((a) => a.app).join(', ')})`);
  const selected = wanted.length ? APPS.filter((a) => wanted.includes(a.app)) : APPS;
  for (const app of selected) {
    await buildApp(app);
    for (const out of Object.keys(app.entries)) console.log(`built dist/${app.app}/${out}.mjs`);
    if (app.app === 'orchestrator') {
      console.log(`copied ${await copyMigrations()} migrations to dist/orchestrator/migrations/`);
      await copyDashboard();
      console.log('built the dashboard into dist/orchestrator/ui/');
    }
  }
}

main().catch((err) => {
  // esbuild has already printed its errors with locations.
  if (!(err instanceof Error && 'errors' in err)) console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
