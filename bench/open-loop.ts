import { sleep } from './stack.js';

/**
 * Calls `send(i)` for i = 0 … count-1 at `rate` per second, open loop (not waiting for answers, as independent
 * clients would). Once all calls settle, throws the first failure; the first failure also stops further sends.
 * Answers how many seconds the sending took.
 */
export async function openLoop(
  count: number,
  rate: number,
  assertAlive: () => void,
  send: (i: number) => Promise<void>,
): Promise<number> {
  const intervalMs = 1000 / rate;
  const start = performance.now();
  const calls: Promise<void>[] = [];
  let failure: Error | undefined;
  for (let i = 0; i < count && !failure; i++) {
    const wait = start + i * intervalMs - performance.now();
    if (wait > 0) await sleep(wait);
    assertAlive();
    calls.push(
      send(i).catch((err: Error) => {
        failure ??= err;
      }),
    );
  }
  const seconds = (performance.now() - start) / 1000;
  await Promise.all(calls);
  if (failure) throw failure;
  return seconds;
}
