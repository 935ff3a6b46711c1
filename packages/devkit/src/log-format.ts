/**
 * Renders the services' pino JSON lines for a person: `12:00:01.234 INFO  message key=value …`, prefixed with
 * the process name. A few lines of code instead of pino-pretty, whose output is multi-line and which the
 * repository root does not depend on.
 */

const LEVELS: Record<number, { label: string; color: string }> = {
  10: { label: 'TRACE', color: '90' },
  20: { label: 'DEBUG', color: '90' },
  30: { label: 'INFO ', color: '32' },
  40: { label: 'WARN ', color: '33' },
  50: { label: 'ERROR', color: '31' },
  60: { label: 'FATAL', color: '35' },
};
/** pino's own fields, shown as time, level and message or not at all. */
const HIDDEN = new Set(['level', 'time', 'pid', 'hostname', 'name', 'msg', 'v']);
const NAME_COLORS = ['36', '35', '34', '33', '32', '96', '95', '94'];
const MAX_VALUE = 200;

export interface LogStyle {
  color: boolean;
  /** Width the process names are padded to. */
  nameWidth: number;
}

export function useColor(stream: NodeJS.WriteStream = process.stdout): boolean {
  if (process.env.NO_COLOR) return false;
  if (process.env.FORCE_COLOR) return true;
  return stream.isTTY === true;
}

export const paint = (on: boolean, code: string, text: string) => (on ? `\x1b[${code}m${text}\x1b[0m` : text);

/** A stable color per process name: orchestrator-1 and runner-1 differ, runner-1 keeps its color. */
export function namePrefix(name: string, index: number, style: LogStyle): string {
  return `${paint(style.color, NAME_COLORS[index % NAME_COLORS.length]!, name.padEnd(style.nameWidth))} │ `;
}

/** One output line of a service as one (or, for an error's stack, a few) readable lines. */
export function formatLogLine(line: string, style: LogStyle): string {
  let entry: Record<string, unknown>;
  try {
    const parsed: unknown = JSON.parse(line);
    if (typeof parsed !== 'object' || parsed === null || !('level' in parsed)) return line;
    entry = parsed as Record<string, unknown>;
  } catch {
    return line; // not JSON: a stack trace or a message printed before the logger existed
  }
  const level = LEVELS[Number(entry.level)] ?? { label: String(entry.level).padEnd(5), color: '0' };
  const time = typeof entry.time === 'number' ? clock(new Date(entry.time)) : '';
  const fields: string[] = [];
  let stack: string | undefined;
  for (const [key, value] of Object.entries(entry)) {
    if (HIDDEN.has(key) || value === undefined) continue;
    if (isError(value)) {
      fields.push(`${key}=${JSON.stringify(`${value.type ?? 'Error'}: ${value.message}`)}`);
      if (Number(entry.level) >= 50 && typeof value.stack === 'string') stack = value.stack;
      continue;
    }
    fields.push(`${key}=${compact(value)}`);
  }
  const msg = typeof entry.msg === 'string' ? entry.msg : '';
  const head = [
    paint(style.color, '90', time),
    paint(style.color, level.color, level.label),
    msg,
    paint(style.color, '90', fields.join(' ')),
  ]
    .filter(Boolean)
    .join(' ');
  if (!stack) return head;
  const indented = stack
    .split('\n')
    .slice(1)
    .map((l) => `    ${l.trim()}`);
  return [head, ...indented].join('\n');
}

function clock(d: Date): string {
  const two = (n: number) => String(n).padStart(2, '0');
  return `${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}.${String(d.getMilliseconds()).padStart(3, '0')}`;
}

function isError(v: unknown): v is { type?: string; message: string; stack?: unknown } {
  return typeof v === 'object' && v !== null && 'message' in v && ('stack' in v || 'type' in v);
}

function compact(value: unknown): string {
  const text =
    typeof value === 'string'
      ? /^[\w.:/@+-]+$/.test(value)
        ? value
        : JSON.stringify(value)
      : JSON.stringify(value);
  return text.length > MAX_VALUE ? `${text.slice(0, MAX_VALUE - 1)}…` : text;
}
