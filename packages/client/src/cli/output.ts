/** Text for people: aligned tables and `name  value` blocks. (`--json` prints the API's own documents instead.) */

const MAX_CELL = 60;

/** A table with a header row; columns as wide as their widest cell (cells cut at 60 characters). */
export function table(headers: string[], rows: unknown[][]): string {
  if (rows.length === 0) return '(none)';
  const text = rows.map((r) => r.map((c) => clip(cell(c))));
  const widths = headers.map((h, i) => Math.max(h.length, ...text.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(headers), ...text.map(line)].join('\n');
}

/** `name  value` lines, names aligned; rows whose value is undefined are left out. */
export function fields(rows: [string, unknown][]): string {
  const shown = rows.filter(([, v]) => v !== undefined);
  const width = Math.max(...shown.map(([k]) => k.length));
  return shown.map(([k, v]) => `${k.padEnd(width)}  ${cell(v)}`.trimEnd()).join('\n');
}

/** One value as a cell: `-` for nothing, timestamps to the second, JSON for objects. */
export function cell(value: unknown): string {
  if (value === null || value === undefined || value === '') return '-';
  if (typeof value === 'string') return /^\d{4}-\d\d-\d\dT[\d:.]+Z$/.test(value) ? when(value) : value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return JSON.stringify(value);
}

/** `2026-11-29T10:09:15.123Z` → `2026-11-29 10:09:15Z`. */
function when(iso: string): string {
  return iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z');
}

function clip(text: string): string {
  const oneLine = text.replace(/\s*\n\s*/g, ' ');
  return oneLine.length > MAX_CELL ? `${oneLine.slice(0, MAX_CELL - 1)}…` : oneLine;
}
