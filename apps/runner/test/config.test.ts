import { ConfigError } from '@hourglass/runtime';
import { describe, expect, test } from 'vitest';
import { loadConfig } from '../src/config.js';

describe('runner config', () => {
  test('defaults: all known types, local orchestrator', () => {
    const c = loadConfig({});
    expect(c.ORCHESTRATOR_URL).toBe('http://127.0.0.1:8080');
    expect(c.RUNNER_TYPES).toEqual(expect.arrayContaining(['echo', 'noop', 'sleep']));
  });

  test('a bad value stops start-up naming the variable', () => {
    expect(() => loadConfig({ RUNNER_CONCURRENCY: '0' })).toThrow(ConfigError);
    expect(() => loadConfig({ RUNNER_CONCURRENCY: '0' })).toThrow(/RUNNER_CONCURRENCY/);
    expect(() => loadConfig({ ORCHESTRATOR_URL: 'ftp://x' })).toThrow(/ORCHESTRATOR_URL/);
    expect(() => loadConfig({ RUNNER_TYPES: 'echo,bogus' })).toThrow(/RUNNER_TYPES/);
  });

  test('RUNNER_TYPES narrows what the runner advertises', () => {
    expect(loadConfig({ RUNNER_TYPES: 'echo, sleep' }).RUNNER_TYPES).toEqual(['echo', 'sleep']);
  });
});
