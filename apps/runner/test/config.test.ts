import { ConfigError } from '@hourglass/runtime';
import { describe, expect, test } from 'vitest';
import { loadConfig } from '../src/config.js';

describe('runner config', () => {
  test('defaults: all known types, local orchestrator', () => {
    const c = loadConfig({});
    expect(c.ORCHESTRATOR_URL).toEqual(['http://127.0.0.1:8080']);
    expect(c.RUNNER_TYPES).toEqual(expect.arrayContaining(['echo', 'noop', 'sleep']));
  });

  test('a bad value stops start-up naming the variable', () => {
    expect(() => loadConfig({ RUNNER_CONCURRENCY: '0' })).toThrow(ConfigError);
    expect(() => loadConfig({ RUNNER_CONCURRENCY: '0' })).toThrow(/RUNNER_CONCURRENCY/);
    expect(() => loadConfig({ ORCHESTRATOR_URL: 'ftp://x' })).toThrow(/ORCHESTRATOR_URL/);
    expect(() => loadConfig({ RUNNER_TYPES: 'echo,bogus' })).toThrow(/RUNNER_TYPES/);
  });

  test('ORCHESTRATOR_URL may list several replicas', () => {
    expect(loadConfig({ ORCHESTRATOR_URL: 'http://a:8080, http://b:8080' }).ORCHESTRATOR_URL).toEqual([
      'http://a:8080',
      'http://b:8080',
    ]);
    expect(() => loadConfig({ ORCHESTRATOR_URL: 'http://a:8080,ftp://b' })).toThrow(/ORCHESTRATOR_URL/);
  });

  test('RUNNER_QUEUES names the queues it serves (unset: all); a bad name stops start-up', () => {
    expect(loadConfig({}).RUNNER_QUEUES).toBeUndefined();
    expect(loadConfig({ RUNNER_QUEUES: 'emails, reports' }).RUNNER_QUEUES).toEqual(['emails', 'reports']);
    expect(() => loadConfig({ RUNNER_QUEUES: 'Emails' })).toThrow(/RUNNER_QUEUES/);
    expect(() => loadConfig({ RUNNER_QUEUES: ' , ' })).toThrow(/RUNNER_QUEUES/);
  });

  test('RUNNER_TYPES narrows what the runner advertises', () => {
    expect(loadConfig({ RUNNER_TYPES: 'echo, sleep' }).RUNNER_TYPES).toEqual(['echo', 'sleep']);
  });
});
