import pg from 'pg';

// Escapes encodeURIComponent produces for characters that are legal as-is in a URL path.
const PATH_SAFE_ESCAPES = /%(24|26|2B|2C|3A|3B|3D|40)/g;

/**
 * Returns `url` pointing at database `dbName`, keeping credentials, host and query parameters.
 * node-postgres decodes the database name with decodeURI, which leaves escapes such as %3B (`;`) or
 * %40 (`@`) undecoded, so those characters are written literally; names holding `/`, `?` or `#`
 * cannot be expressed in a node-postgres URL at all.
 */
export function withDatabase(url: string, dbName: string): string {
  const parsed = new URL(url);
  const segment = encodeURIComponent(dbName).replace(PATH_SAFE_ESCAPES, (e) => decodeURIComponent(e));
  parsed.pathname = `/${segment}`;
  return parsed.toString();
}

/** Runs `fn` on its own short-lived connection, so that no admin session lingers on the server afterwards. */
async function withClient<T>(url: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/**
 * CREATE DATABASE, optionally as a copy of `template`. Copying a migrated template is much faster
 * than migrating each test database. PostgreSQL refuses the copy while any other session is
 * connected to the template (SQLSTATE 55006, "source database ... is being accessed by other users").
 */
export async function createDatabase(adminUrl: string, name: string, template?: string): Promise<void> {
  const sql =
    `CREATE DATABASE ${pg.escapeIdentifier(name)}` +
    (template === undefined ? '' : ` TEMPLATE ${pg.escapeIdentifier(template)}`);
  await withClient(adminUrl, (client) => client.query(sql));
}

/** Drops `name` if it exists, terminating the sessions still connected to it (PostgreSQL 13+). */
export async function dropDatabase(adminUrl: string, name: string): Promise<void> {
  await withClient(adminUrl, (client) =>
    client.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(name)} WITH (FORCE)`),
  );
}

/**
 * Makes `name` safe to clone from concurrently: ends every session still connected to it (a
 * migration tool's pool that was not closed, say) and refuses new connections, so no stray session
 * can make CREATE DATABASE ... TEMPLATE fail. The database can still be cloned and dropped.
 */
export async function sealTemplate(adminUrl: string, name: string): Promise<void> {
  await withClient(adminUrl, async (client) => {
    await client.query(`ALTER DATABASE ${pg.escapeIdentifier(name)} WITH ALLOW_CONNECTIONS false`);
    await client.query(
      'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()',
      [name],
    );
  });
}

/** True for the error PostgreSQL raises when a template is in use by another session. */
export function isTemplateInUse(err: unknown): boolean {
  const e = err as { code?: unknown; message?: unknown } | null;
  return (
    e?.code === '55006' ||
    (typeof e?.message === 'string' && e.message.includes('is being accessed by other users'))
  );
}
