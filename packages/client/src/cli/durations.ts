const UNIT_MS = { d: 86_400_000, h: 3_600_000, m: 60_000, s: 1_000, ms: 1 } as const;

/** Units from largest to smallest, each at most once: `1h30m`, `45s`, `2d12h`, `1500ms`, `1m30s250ms`. */
const DURATION = /^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m(?!s))?(?:(\d+)s)?(?:(\d+)ms)?$/;

/** `1h30m` → 5,400,000 (ms). Throws a message fit for the user when the text is not a positive duration. */
export function parseDuration(text: string): number {
  const match = DURATION.exec(text.trim());
  if (!match || text.trim() === '') {
    throw new Error(`'${text}' is not a duration: write it like 1h30m, 45s, 10s, 2d or 500ms`);
  }
  const [, d, h, m, s, ms] = match;
  const total =
    Number(d ?? 0) * UNIT_MS.d +
    Number(h ?? 0) * UNIT_MS.h +
    Number(m ?? 0) * UNIT_MS.m +
    Number(s ?? 0) * UNIT_MS.s +
    Number(ms ?? 0) * UNIT_MS.ms;
  if (total <= 0) throw new Error(`'${text}' is no time at all: give a positive duration`);
  if (!Number.isSafeInteger(total)) throw new Error(`'${text}' is too long`);
  return total;
}

/** A duration that must be whole seconds (timers, intervals): `1h30m` → 5,400. */
export function parseSeconds(text: string): number {
  const ms = parseDuration(text);
  if (ms % 1000 !== 0) throw new Error(`'${text}' is not whole seconds`);
  return ms / 1000;
}

/** 5,400 → `1h30m`; for people reading a table. */
export function formatSeconds(seconds: number): string {
  if (seconds <= 0) return '0s';
  const parts: string[] = [];
  let rest = Math.round(seconds);
  for (const [unit, size] of [
    ['d', 86_400],
    ['h', 3_600],
    ['m', 60],
    ['s', 1],
  ] as const) {
    if (rest >= size) {
      parts.push(`${Math.floor(rest / size)}${unit}`);
      rest %= size;
    }
  }
  return parts.join('');
}
