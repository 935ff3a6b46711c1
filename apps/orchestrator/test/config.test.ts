import { ConfigError } from '@hourglass/runtime';
import { describe, expect, test } from 'vitest';
import { loadConfig } from '../src/config.js';

const base = { DATABASE_URL: 'postgres://u@127.0.0.1:5432/db' };

describe('orchestrator config', () => {
  test('defaults', () => {
    expect(loadConfig(base)).toMatchObject({ PORT: 8080, LEASE_MS: 30_000, HEARTBEAT_INTERVAL_MS: 10_000 });
  });

  test('a bad value stops start-up naming the variable', () => {
    expect(() => loadConfig({ ...base, PORT: 'eighty' })).toThrow(ConfigError);
    expect(() => loadConfig({ ...base, PORT: 'eighty' })).toThrow(/PORT/);
    expect(() => loadConfig({})).toThrow(/DATABASE_URL/);
    expect(() => loadConfig({ ...base, DATABASE_URL: 'mysql://x' })).toThrow(/DATABASE_URL/);
    expect(() => loadConfig({ ...base, LEASE_MS: '1000', HEARTBEAT_INTERVAL_MS: '900' })).toThrow(
      /HEARTBEAT_INTERVAL_MS/,
    );
  });
});
