/**
 * What CI can check about the images and docker-compose.yml without a Docker engine (the lint steps are in
 * scripts/check-containers.sh, which runs this after `pnpm build`):
 *
 * - Each Dockerfile's runtime stage is assembled in a temporary directory the way `docker build` would: its
 *   `pnpm deploy` command is run as written (offline, from the lockfile), and every `COPY --from=build` source
 *   must exist. Then the CMD is started there with a deliberately invalid configuration: exit code 2 with
 *   "invalid configuration" proves every module the entry file imports resolves in the image's layout.
 * - The runtime stage has a non-root USER, a HEALTHCHECK (its `node -e` code compiles), a STOPSIGNAL, and an
 *   ENTRYPOINT binary the stage installs (tini).
 * - docker-compose.yml: every variable it reads is in .env.example (the required ones with a value, so
 *   `cp .env.example .env` is enough), every bind-mounted file and build file exists, and pgAdmin's
 *   servers.json and pgpass match the database user, name and password in .env.example.
 *
 * Exits 1 listing every problem found.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Script } from 'node:vm';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const DOCKERFILES = ['Dockerfile.orchestrator', 'Dockerfile.runner'];
const COMPOSE_FILE = 'docker-compose.yml';
const ENV_EXAMPLE = '.env.example';

const problems: string[] = [];
const problem = (where: string, message: string) => problems.push(`${where}: ${message}`);

interface Instruction {
  keyword: string;
  args: string;
  line: number;
}

interface Stage {
  name: string | undefined;
  instructions: Instruction[];
}

/** Instructions with continuation lines joined; comments and parser directives dropped. */
function parseDockerfile(text: string): Stage[] {
  const stages: Stage[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const start = i;
    let line = lines[i]!.trim();
    if (line === '' || line.startsWith('#')) continue;
    while (line.endsWith('\\') && i + 1 < lines.length) {
      line = `${line.slice(0, -1).trimEnd()} `;
      let next = lines[++i]!.trim();
      while (next.startsWith('#') && i + 1 < lines.length) next = lines[++i]!.trim();
      line += next;
    }
    const [keyword = '', ...rest] = line.split(/\s+/);
    const instruction = { keyword: keyword.toUpperCase(), args: rest.join(' '), line: start + 1 };
    if (instruction.keyword === 'FROM') {
      stages.push({ name: /\bAS\s+(\S+)/i.exec(instruction.args)?.[1], instructions: [] });
    }
    stages.at(-1)?.instructions.push(instruction);
  }
  return stages;
}

/** `["a", "b"]` (exec form) or `a b` (shell form, split on spaces). */
function argv(args: string): string[] {
  const trimmed = args.trim();
  if (trimmed.startsWith('[')) return JSON.parse(trimmed) as string[];
  return trimmed.split(/\s+/).filter(Boolean);
}

/** COPY's `--flag=value` options, then sources and destination. */
function parseCopy(args: string): { from?: string; sources: string[]; dest: string } {
  const words = args.trim().split(/\s+/);
  const flags = new Map<string, string>();
  while (words[0]?.startsWith('--')) {
    const [flag, value = ''] = words.shift()!.slice(2).split('=');
    flags.set(flag!, value);
  }
  const paths = words.join(' ').startsWith('[') ? argv(words.join(' ')) : words;
  return { from: flags.get('from'), sources: paths.slice(0, -1), dest: paths.at(-1) ?? '' };
}

function lastWorkdir(stage: Stage): string {
  return (
    stage.instructions
      .filter((i) => i.keyword === 'WORKDIR')
      .at(-1)
      ?.args.trim() ?? '/'
  );
}

function checkDockerfile(file: string, scratch: string): void {
  const stages = parseDockerfile(readFileSync(path.join(ROOT, file), 'utf8'));
  const runtime = stages.at(-1);
  if (!runtime || stages.length < 2) {
    problem(file, 'expected a multi-stage build (a build stage, then the runtime stage)');
    return;
  }
  const at = (i: Instruction) => `${file}:${i.line}`;
  const find = (keyword: string) => runtime.instructions.filter((i) => i.keyword === keyword);

  // Context files the build stages copy must exist (COPY without --from).
  for (const stage of stages) {
    for (const copy of stage.instructions.filter((i) => i.keyword === 'COPY')) {
      const { from, sources } = parseCopy(copy.args);
      if (from) continue;
      for (const source of sources) {
        if (!existsSync(path.join(ROOT, source)))
          problem(at(copy), `COPY source ${source} is not in the repository`);
      }
    }
  }

  // The build stage's `pnpm ... deploy /out`, run as written into a scratch directory.
  const outDir = path.join(scratch, 'out');
  const deploy = stages
    .flatMap((s) => s.instructions)
    .find((i) => i.keyword === 'RUN' && /\bpnpm\b.*\bdeploy\b/.test(i.args));
  if (!deploy) {
    problem(file, 'no `pnpm ... deploy` step: the runtime stage needs production dependencies only');
    return;
  }
  const deployCommand = deploy.args
    .split('&&')
    .map((part) => part.trim())
    .find((part) => /\bdeploy\b/.test(part))!;
  const target = /\bdeploy\s+(\S+)/.exec(deployCommand)?.[1];
  if (!target) {
    problem(at(deploy), 'cannot find the deploy target directory');
    return;
  }
  const ran = spawnSync('sh', ['-c', deployCommand.replace(/\bdeploy\s+\S+/, `deploy '${outDir}'`)], {
    cwd: ROOT,
    encoding: 'utf8',
  });
  if (ran.status !== 0) {
    problem(at(deploy), `\`${deployCommand}\` failed:\n${ran.stdout}${ran.stderr}`);
    return;
  }

  // Assemble the runtime stage's files: COPY --from=build sources map to the deploy output or the repository.
  const buildStage = stages.find((s) => s.name !== undefined && s.name === parseCopyFrom(runtime));
  const buildWorkdir = buildStage ? lastWorkdir(buildStage) : '/';
  const appDir = path.join(scratch, 'app');
  const workdir = lastWorkdir(runtime);
  const inImage = (p: string) => path.join(appDir, path.posix.resolve(workdir, p).slice(workdir.length));
  mkdirSync(appDir, { recursive: true });
  for (const copy of find('COPY')) {
    const { from, sources, dest } = parseCopy(copy.args);
    if (!from) continue;
    for (const source of sources) {
      const local = source.startsWith(target)
        ? path.join(outDir, source.slice(target.length))
        : source.startsWith(buildWorkdir)
          ? path.join(ROOT, source.slice(buildWorkdir.length))
          : undefined;
      if (!local) {
        problem(at(copy), `cannot tell where ${source} comes from in the build stage`);
        continue;
      }
      if (!existsSync(local)) {
        problem(
          at(copy),
          `COPY --from=${from} ${source}: ${path.relative(ROOT, local)} does not exist after pnpm build`,
        );
        continue;
      }
      const destination = inImage(dest);
      if (statSync(local).isDirectory())
        cpSync(local, destination, { recursive: true, verbatimSymlinks: true });
      else {
        const file = dest.endsWith('/') ? path.join(destination, path.basename(local)) : destination;
        mkdirSync(path.dirname(file), { recursive: true });
        cpSync(local, file);
      }
    }
  }

  // The orchestrator serves the dashboard from `ui/` beside its bundle (apps/orchestrator/src/http/routes/dashboard.ts).
  if (file === 'Dockerfile.orchestrator' && !existsSync(path.join(appDir, 'dist/ui/index.html')))
    problem(file, 'the image has no dashboard: dist/ui/index.html, which the orchestrator serves at /ui');

  // Policy: non-root, health-checked, told how to stop, signals forwarded.
  const user = find('USER').at(-1)?.args.trim();
  if (!user || /^(root|0)(:|$)/.test(user)) problem(file, 'the runtime stage must switch to a non-root USER');
  if (find('STOPSIGNAL').length === 0) problem(file, 'the runtime stage has no STOPSIGNAL');
  const healthcheck = find('HEALTHCHECK').at(-1);
  if (!healthcheck) problem(file, 'the runtime stage has no HEALTHCHECK');
  else {
    const command = argv(healthcheck.args.replace(/^(--\S+\s+)*CMD\s+/, ''));
    const code = command[0] === 'node' && command[1] === '-e' ? command[2] : undefined;
    if (code) {
      try {
        new Script(code);
      } catch (err) {
        problem(at(healthcheck), `the HEALTHCHECK's node code does not compile: ${(err as Error).message}`);
      }
    }
  }
  const entrypoint = find('ENTRYPOINT').at(-1);
  const init = entrypoint ? argv(entrypoint.args)[0] : undefined;
  if (!entrypoint || !init) problem(file, 'no ENTRYPOINT: an init (tini) must forward SIGTERM to Node');
  else {
    const installs = find('RUN').some(
      (r) => /apt-get install\b/.test(r.args) && r.args.includes(path.basename(init)),
    );
    if (!installs) problem(at(entrypoint), `${init} is not installed by the runtime stage (apt-get install)`);
  }

  // The CMD: its entry file exists, and it starts far enough to read (and refuse) its configuration.
  const cmd = find('CMD').at(-1);
  const command = cmd ? argv(cmd.args) : [];
  const entry = command.find((a) => /\.(mjs|cjs|js)$/.test(a));
  if (!cmd || command[0] !== 'node' || !entry) {
    problem(file, 'CMD must be ["node", ..., "<entry file>"]');
    return;
  }
  if (!existsSync(inImage(entry))) {
    problem(at(cmd), `CMD runs ${entry}, which is not in the image (${path.posix.resolve(workdir, entry)})`);
    return;
  }
  const started = spawnSync(process.execPath, command.slice(1), {
    cwd: appDir,
    encoding: 'utf8',
    timeout: 30_000,
    // The image's ENV, plus a URL that is invalid on purpose for both apps: the process must load every module,
    // then refuse that URL, and only that (the image's own settings must be valid), with exit code 2.
    env: { PATH: process.env.PATH, ...imageEnv(runtime), ...INVALID },
  });
  const refused = [...started.stderr.matchAll(/^ {2}([A-Z][A-Z0-9_]*)[.:]/gm)].map((m) => m[1]!);
  const onlyOurs = refused.length > 0 && refused.every((name) => name in INVALID);
  if (started.status !== 2 || !started.stderr.includes('invalid configuration') || !onlyOurs) {
    problem(
      at(cmd),
      `\`${command.join(' ')}\` in the assembled image should refuse only ${Object.keys(INVALID).join('/')} ` +
        `(exit 2), but exited ${started.status ?? started.signal}:\n${started.stdout}${started.stderr}`,
    );
  }
}

const INVALID = { DATABASE_URL: 'not-a-url', ORCHESTRATOR_URL: 'not-a-url' };

/** The stage's ENV settings (`ENV A=1 B=2`, or the older `ENV A 1`). */
function imageEnv(stage: Stage): Record<string, string> {
  const env: Record<string, string> = {};
  for (const i of stage.instructions.filter((x) => x.keyword === 'ENV')) {
    const pairs = [...i.args.matchAll(/([A-Za-z_][A-Za-z0-9_]*)=("[^"]*"|'[^']*'|\S*)/g)];
    if (pairs.length === 0) {
      const [key, ...value] = i.args.trim().split(/\s+/);
      if (key) env[key] = value.join(' ');
    }
    for (const [, key, value] of pairs) env[key!] = value!.replace(/^(["'])(.*)\1$/, '$2');
  }
  return env;
}

/** The runtime stage's `COPY --from=<stage>` name. */
function parseCopyFrom(stage: Stage): string | undefined {
  for (const i of stage.instructions) {
    if (i.keyword === 'COPY') {
      const { from } = parseCopy(i.args);
      if (from) return from;
    }
  }
  return undefined;
}

function readEnvExample(): Map<string, string> {
  const vars = new Map<string, string>();
  for (const line of readFileSync(path.join(ROOT, ENV_EXAMPLE), 'utf8').split('\n')) {
    // `KEY=value`, or a documented optional one: `# KEY=value`.
    const m = /^(#\s*)?([A-Z][A-Z0-9_]*)=(.*)$/.exec(line.trim());
    if (m && !(m[1] && vars.has(m[2]!))) vars.set(m[2]!, m[1] ? '' : m[3]!.trim());
  }
  return vars;
}

function checkCompose(): void {
  const compose = readFileSync(path.join(ROOT, COMPOSE_FILE), 'utf8');
  const env = readEnvExample();
  const envText = readFileSync(path.join(ROOT, ENV_EXAMPLE), 'utf8');

  const seen = new Set<string>();
  for (const m of compose.matchAll(/\$\{([A-Z][A-Z0-9_]*)(:?[-?+])?/g)) {
    const [, name, operator] = m;
    if (seen.has(`${name}${operator}`)) continue;
    seen.add(`${name}${operator}`);
    if (!new RegExp(`^#?\\s*${name}=`, 'm').test(envText)) {
      problem(COMPOSE_FILE, `\${${name}} is not documented in ${ENV_EXAMPLE}`);
    } else if (operator?.endsWith('?') && !env.get(name!)) {
      problem(ENV_EXAMPLE, `${name} is required by ${COMPOSE_FILE}, so it needs a value here`);
    }
  }
  for (const m of compose.matchAll(/^\s*-\s*['"]?(\.\/[^:'"\s]+):/gm)) {
    if (!existsSync(path.join(ROOT, m[1]!))) problem(COMPOSE_FILE, `bind-mounted ${m[1]} does not exist`);
  }
  for (const m of compose.matchAll(/^\s*dockerfile:\s*(\S+)/gm)) {
    if (!existsSync(path.join(ROOT, m[1]!))) problem(COMPOSE_FILE, `build file ${m[1]} does not exist`);
  }

  // pgAdmin opens the database without a prompt only if its saved login matches the database's.
  const user = env.get('POSTGRES_USER') || 'hourglass';
  const database = env.get('POSTGRES_DB') || 'hourglass';
  const pgpass = readFileSync(path.join(ROOT, 'docker/pgadmin/pgpass'), 'utf8').trim();
  const expected = `postgres:5432:*:${user}:${env.get('POSTGRES_PASSWORD')}`;
  if (pgpass !== expected) {
    problem('docker/pgadmin/pgpass', `must be the single line \`${expected}\` (from ${ENV_EXAMPLE})`);
  }
  const servers = JSON.parse(readFileSync(path.join(ROOT, 'docker/pgadmin/servers.json'), 'utf8')) as {
    Servers: Record<string, Record<string, unknown>>;
  };
  for (const [id, server] of Object.entries(servers.Servers)) {
    const want = {
      Host: 'postgres',
      Port: 5432,
      Username: user,
      MaintenanceDB: database,
      PassFile: '/.pgpass',
    };
    for (const [key, value] of Object.entries(want)) {
      if (server[key] !== value) {
        problem('docker/pgadmin/servers.json', `server ${id}: ${key} must be ${JSON.stringify(value)}`);
      }
    }
  }
}

function main(): void {
  checkCompose();
  for (const file of DOCKERFILES) {
    const scratch = mkdtempSync(path.join(tmpdir(), 'hourglass-image-'));
    try {
      checkDockerfile(file, scratch);
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
    console.log(`${file}: checked`);
  }
  if (problems.length) {
    console.error(`\n${problems.length} problem(s):\n${problems.map((p) => `- ${p}`).join('\n')}`);
    process.exit(1);
  }
  console.log('images and docker-compose.yml: every file they run or mount exists');
}

main();
