import { lookup } from 'node:dns/promises';
import { hostname } from 'node:os';
import { createWebhookHandler, isPrivateAddress, refusedLiteral } from '@hourglass/runner/builtin';
import { WebhookReceiver } from '@hourglass/testkit/webhook-receiver';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { safeLookup } from '../src/builtin/webhook/outbound-policy.js';
import { testContext } from './context.js';

/**
 * Where a webhook may go and how it behaves on the wire: private, loopback and link-local targets are refused
 * (by literal, and on the address a DNS name resolves to at connect time) and nothing reaches them; redirects
 * are not followed; a receiver that hangs costs at most the configured timeout; a huge answer is not a problem.
 */

describe('isPrivateAddress', () => {
  test.each([
    '127.0.0.1',
    '127.255.255.254',
    '10.0.0.1',
    '10.255.255.255',
    '172.16.0.1',
    '172.31.255.255',
    '192.168.0.1',
    '169.254.169.254',
    '100.64.0.1',
    '0.0.0.0',
    '224.0.0.1',
    '255.255.255.255',
    '::1',
    '::',
    'fc00::1',
    'fd12:3456::1',
    'fe80::1',
    'ff02::1',
    '::ffff:127.0.0.1',
    '::ffff:10.0.0.1',
    '::ffff:169.254.169.254',
    '::ffff:7f00:1',
    // Forms that carry or reach an IPv4 address (issue 10, defect 11), and the rest of the special-purpose ranges.
    '::7f00:1',
    '::127.0.0.1',
    '::a00:1',
    '64:ff9b::7f00:1',
    '64:ff9b::a9fe:a9fe',
    '2002:7f00:1::',
    '2002:a9fe:a9fe::1',
    '::ffff:0:7f00:1',
    '2001::1',
    'fec0::1',
    'feff::1',
    '2001:db8::1',
    '100::1',
    '192.0.2.1',
    '198.51.100.7',
    '203.0.113.9',
    'fe80::1%eth0',
  ])('%s is private', (address) => {
    expect(isPrivateAddress(address)).toBe(true);
  });

  test.each([
    '8.8.8.8',
    '1.1.1.1',
    '93.184.215.14',
    '172.15.255.255',
    '172.32.0.1',
    '100.128.0.1',
    '169.253.0.1',
    '11.0.0.1',
    '2606:4700:4700::1111',
    '2001:4860:4860::8888',
    '::ffff:8.8.8.8',
  ])('%s is public', (address) => {
    expect(isPrivateAddress(address)).toBe(false);
  });

  test('names are not addresses (they are judged when they resolve)', () => {
    for (const name of ['localhost', 'example.com', '', 'not an ip'])
      expect(isPrivateAddress(name)).toBe(false);
  });
});

describe('refusedLiteral', () => {
  test('refuses private literals (bracketed IPv6 too) and loopback names', () => {
    for (const host of ['127.0.0.1', '10.1.2.3', '[::1]', '[::ffff:7f00:1]', 'localhost', 'api.localhost']) {
      expect(refusedLiteral(host), host).toMatch(/loopback|private/);
    }
  });

  test('passes public literals and other names, including a trailing-dot localhost (left to the lookup)', () => {
    for (const host of ['8.8.8.8', '[2606:4700:4700::1111]', 'example.com', 'localhost.']) {
      expect(refusedLiteral(host), host).toBeUndefined();
    }
  });
});

describe('safeLookup', () => {
  const run = (host: string, options: object) =>
    new Promise<{ err: Error | null; address: unknown }>((resolve) =>
      safeLookup(host, options, (err, address) => resolve({ err, address })),
    );

  test('refuses a name resolving to loopback, in both callback forms', async () => {
    for (const options of [{}, { all: true }]) {
      const { err } = await run('localhost', options);
      expect(err?.message).toMatch(/localhost resolves to .*private, loopback or link-local/);
    }
  });

  test('passes on a resolution error', async () => {
    const { err } = await run('no-such-host.invalid', {});
    expect(err).toBeTruthy();
    expect(err!.message).not.toMatch(/private/);
  });
});

/** A name that is no IP literal and not `localhost` but resolves to a private address here. */
async function privateName(): Promise<string | undefined> {
  for (const name of ['localhost.', hostname()]) {
    if (refusedLiteral(name)) continue;
    const addresses = await lookup(name, { all: true }).catch(() => []);
    if (addresses.length > 0 && addresses.some((a) => isPrivateAddress(a.address))) return name;
  }
  return undefined;
}

describe('the webhook handler on the wire', () => {
  let receiver: WebhookReceiver;
  beforeAll(async () => {
    receiver = await WebhookReceiver.start();
    receiver
      .on('/redirect', { kind: 'redirect', to: '/elsewhere' })
      .on('/hang', { kind: 'hang' })
      .on('/large', { kind: 'large', bytes: 1024 * 1024 })
      .on('/large-error', { kind: 'large', bytes: 1024 * 1024, status: 503 })
      .on('/fail', { kind: 'always-fail' });
  });
  afterAll(() => receiver.close());

  const fire = (url: string, opts: { block?: boolean; timeoutMs?: number; signal?: AbortSignal } = {}) => {
    const webhook = createWebhookHandler({
      blockPrivateTargets: opts.block ?? false,
      connectTimeoutMs: 2_000,
      timeoutMs: opts.timeoutMs ?? 5_000,
    });
    return Promise.resolve(
      webhook.handle(
        webhook.payload!.parse({ url }),
        testContext({ jobId: 99, ...(opts.signal ? { signal: opts.signal } : {}) }),
      ),
    );
  };

  test('with the policy on, private literals are refused and the receiver gets nothing', async () => {
    const before = receiver.deliveries.length;
    for (const host of ['127.0.0.1', '[::ffff:127.0.0.1]', '2130706433', 'localhost']) {
      await expect(fire(`http://${host}:${receiver.port}/blocked`, { block: true }), host).rejects.toThrow(
        /^target refused/,
      );
    }
    expect(receiver.deliveries.length).toBe(before);
  });

  test('with the policy on, a name that resolves to a private address is refused at connect time', async () => {
    const name = await privateName();
    expect(name, 'no name here resolves to a private address besides localhost').toBeDefined();
    const before = receiver.deliveries.length;
    await expect(fire(`http://${name}:${receiver.port}/by-name`, { block: true })).rejects.toThrow(
      /^target refused: .* resolves to .*private, loopback or link-local/,
    );
    expect(receiver.deliveries.length).toBe(before);
    expect(receiver.at('/by-name')).toEqual([]);
  });

  test('with the policy off, the same targets get the delivery', async () => {
    await expect(fire(`http://127.0.0.1:${receiver.port}/allowed`)).resolves.toEqual({ status: 200 });
    const name = await privateName();
    await expect(fire(`http://${name}:${receiver.port}/allowed`)).resolves.toEqual({ status: 200 });
    expect(receiver.at('/allowed')).toHaveLength(2);
  });

  test('a redirect is not followed: the attempt fails and the other path is never hit', async () => {
    await expect(fire(`${receiver.url}/redirect`)).rejects.toThrow(/receiver answered 302/);
    expect(receiver.at('/redirect')).toHaveLength(1);
    expect(receiver.at('/elsewhere')).toEqual([]);
  });

  test('a non-2xx answer fails the attempt, naming the status', async () => {
    await expect(fire(`${receiver.url}/fail`)).rejects.toThrow(/receiver answered 500: receiver is down/);
  });

  test('a receiver that hangs fails the attempt after the configured timeout', async () => {
    const started = Date.now();
    await expect(fire(`${receiver.url}/hang`, { timeoutMs: 300 })).rejects.toThrow(/no answer within 300 ms/);
    const took = Date.now() - started;
    expect(took).toBeGreaterThanOrEqual(290);
    expect(took, 'sanity bound: the timeout, not some default, ended it').toBeLessThan(4_000);
    expect(receiver.at('/hang')).toHaveLength(1);
  });

  test("the execution's own signal (timeout, cancel) aborts the request", async () => {
    const ac = new AbortController();
    const run = fire(`${receiver.url}/hang`, { signal: ac.signal });
    await receiver.waitFor(2, '/hang', 5_000);
    ac.abort(new Error('cancelled'));
    await expect(run).rejects.toThrow(/request failed/);
  });

  test('a 1 MB answer is fine: success on 2xx, and a short excerpt of it in the error otherwise', async () => {
    await expect(fire(`${receiver.url}/large`)).resolves.toEqual({ status: 200 });
    const err = await fire(`${receiver.url}/large-error`).catch((e: Error) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toMatch(/^receiver answered 503: x+$/);
    expect((err as Error).message.length).toBeLessThan(300);
  });

  test('a closed port is a failed attempt', async () => {
    const closed = await WebhookReceiver.start();
    const url = `${closed.url}/gone`;
    await closed.close();
    await expect(fire(url)).rejects.toThrow(/^request failed/);
  });
});
