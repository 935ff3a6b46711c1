import type { Stats } from '@hourglass/client';
import { useSyncExternalStore } from 'react';

type Bucket = Stats['throughput'][number];

/**
 * Throughput as stacked bars a minute each (succeeded below, failed above) and the failure rate as a line, in plain
 * SVG: sixty bars need no chart library. A table of the same figures follows for screen readers.
 */
export function ThroughputChart({ buckets }: { buckets: Bucket[] }) {
  // A phone gets a narrower drawing, so its labels are not shrunk to nothing.
  const narrow = useNarrow();
  const width = narrow ? 360 : 600;
  const height = narrow ? 220 : 180;
  const pad = { top: 10, right: 36, bottom: 22, left: 36 };
  const innerW = width - pad.left - pad.right;
  const innerH = height - pad.top - pad.bottom;
  const max = Math.max(1, ...buckets.map((b) => b.succeeded + b.failed));
  const step = innerW / Math.max(1, buckets.length);
  const y = (n: number) => pad.top + innerH - (n / max) * innerH;
  const rateY = (r: number) => pad.top + innerH - r * innerH;
  const rates = buckets.map((b) => (b.succeeded + b.failed > 0 ? b.failed / (b.succeeded + b.failed) : null));
  const line = rates
    .map((r, i) => (r === null ? null : `${pad.left + step * (i + 0.5)},${rateY(r)}`))
    .filter(Boolean)
    .join(' ');
  const total = buckets.reduce((n, b) => n + b.succeeded + b.failed, 0);
  const failed = buckets.reduce((n, b) => n + b.failed, 0);
  const label = (iso: string) =>
    new Date(iso).toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' });
  return (
    <figure className="chart">
      <svg viewBox={`0 0 ${width} ${height}`} role="img" aria-labelledby="chart-title">
        <title id="chart-title">
          Finished attempts per minute, last hour: {total} in all, {failed} failed
        </title>
        {[0, 0.5, 1].map((f) => (
          <g key={f}>
            {/* Grid lines at whole counts, so the labels are exact. */}
            <line
              className="grid"
              x1={pad.left}
              x2={width - pad.right}
              y1={y(Math.round(max * f))}
              y2={y(Math.round(max * f))}
            />
            <text className="axis" x={pad.left - 4} y={y(Math.round(max * f)) + 4} textAnchor="end">
              {Math.round(max * f)}
            </text>
            <text className="axis rate" x={width - pad.right + 4} y={rateY(f) + 4}>
              {Math.round(f * 100)}%
            </text>
          </g>
        ))}
        {buckets.map((b, i) => (
          <g key={b.at}>
            <rect
              className="bar-ok"
              x={pad.left + step * i + 1}
              width={Math.max(1, step - 2)}
              y={y(b.succeeded)}
              height={pad.top + innerH - y(b.succeeded)}
            />
            <rect
              className="bar-failed"
              x={pad.left + step * i + 1}
              width={Math.max(1, step - 2)}
              y={y(b.succeeded + b.failed)}
              height={y(b.succeeded) - y(b.succeeded + b.failed)}
            />
          </g>
        ))}
        {line && <polyline className="rate-line" points={line} fill="none" />}
        {rates.map((r, i) =>
          r === null ? null : (
            <circle
              key={buckets[i]!.at}
              className="rate-dot"
              cx={pad.left + step * (i + 0.5)}
              cy={rateY(r)}
              r={2.5}
            />
          ),
        )}
        {buckets.length > 0 && (
          <>
            <text className="axis" x={pad.left} y={height - 6}>
              {label(buckets[0]!.at)}
            </text>
            <text className="axis" x={width - pad.right} y={height - 6} textAnchor="end">
              {label(buckets.at(-1)!.at)}
            </text>
          </>
        )}
      </svg>
      <figcaption className="legend small">
        <span>
          <span className="key key-ok" /> succeeded
        </span>
        <span>
          <span className="key key-failed" /> failed or timed out
        </span>
        <span>
          <span className="key key-rate" /> failure rate (right axis)
        </span>
      </figcaption>
    </figure>
  );
}

const NARROW = '(max-width: 640px)';

function useNarrow(): boolean {
  return useSyncExternalStore(
    (changed) => {
      const query = window.matchMedia(NARROW);
      query.addEventListener('change', changed);
      return () => query.removeEventListener('change', changed);
    },
    () => window.matchMedia(NARROW).matches,
  );
}
