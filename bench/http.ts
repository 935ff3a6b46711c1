import { Pool } from 'undici';

/** The benchmark's HTTP client for the orchestrator's public API: one keep-alive pool, JSON in and out. */
export class ApiClient {
  private readonly pool: Pool;

  constructor(baseUrl: string, connections: number) {
    this.pool = new Pool(baseUrl, { connections, headersTimeout: 30_000, bodyTimeout: 30_000 });
  }

  /** POSTs `body` (a JSON text, or a value to serialise) and parses the answer; any other status throws. */
  async post<T>(path: string, body: unknown, expectStatus = 201): Promise<T> {
    const res = await this.pool.request({
      method: 'POST',
      path,
      body: typeof body === 'string' ? body : JSON.stringify(body),
      headers: { 'content-type': 'application/json' },
    });
    const text = await res.body.text();
    if (res.statusCode !== expectStatus) {
      throw new Error(
        `POST ${path}: HTTP ${res.statusCode} (expected ${expectStatus}): ${text.slice(0, 500)}`,
      );
    }
    return JSON.parse(text) as T;
  }

  /** PUTs `body` as JSON and parses the answer; any status but 200 throws. */
  async put<T>(path: string, body: unknown): Promise<T> {
    const res = await this.pool.request({
      method: 'PUT',
      path,
      body: JSON.stringify(body),
      headers: { 'content-type': 'application/json' },
    });
    const text = await res.body.text();
    if (res.statusCode !== 200) throw new Error(`PUT ${path}: HTTP ${res.statusCode}: ${text.slice(0, 500)}`);
    return JSON.parse(text) as T;
  }

  /** GETs `path` and parses the answer; any status but 200 throws. */
  async get<T>(path: string): Promise<T> {
    const res = await this.pool.request({ method: 'GET', path });
    const text = await res.body.text();
    if (res.statusCode !== 200) throw new Error(`GET ${path}: HTTP ${res.statusCode}: ${text.slice(0, 500)}`);
    return JSON.parse(text) as T;
  }

  /** GETs `path` as text (e.g. /metrics); any status but 200 throws. */
  async text(path: string): Promise<string> {
    const res = await this.pool.request({ method: 'GET', path });
    const text = await res.body.text();
    if (res.statusCode !== 200) throw new Error(`GET ${path}: HTTP ${res.statusCode}: ${text.slice(0, 500)}`);
    return text;
  }

  close(): Promise<void> {
    return this.pool.close();
  }
}
