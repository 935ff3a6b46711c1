import { HourglassError } from '@hourglass/client';
import { useEffect, useRef, useState } from 'react';
import { json } from '../format';

/** A status as a coloured label (colour is never the only cue: the word is always there). */
export function Status({ value }: { value: string }) {
  return <span className={`status status-${value.toLowerCase()}`}>{value}</span>;
}

export function JsonBlock({ value, label }: { value: unknown; label: string }) {
  if (value === undefined || value === null) return <p className="muted">{label}: none</p>;
  return (
    <figure className="json">
      <figcaption>{label}</figcaption>
      {/* biome-ignore lint/a11y/noNoninteractiveTabindex: a scrolling region must be reachable by keyboard to scroll it */}
      <pre tabIndex={0}>{json(value)}</pre>
    </figure>
  );
}

/** An error from the API as a sentence: the problem's detail and, for bad input, the fields. */
export function ProblemNote({ error }: { error: unknown }) {
  if (!error) return null;
  const text =
    error instanceof HourglassError
      ? `${error.detail ?? error.message}${error.code ? ` (${error.code})` : ''}`
      : error instanceof Error
        ? error.message
        : String(error);
  return (
    <p role="alert" className="error">
      {text}
    </p>
  );
}

/**
 * A button that asks first, in a modal <dialog> (focus moves into it, Escape cancels, focus returns to the button),
 * for the actions that cannot be taken back: cancel, pause, drain.
 */
export function ConfirmButton({
  label,
  question,
  confirmLabel,
  onConfirm,
  disabled,
  danger = true,
}: {
  label: string;
  question: string;
  confirmLabel?: string;
  onConfirm: () => void;
  disabled?: boolean;
  danger?: boolean;
}) {
  const dialog = useRef<HTMLDialogElement>(null);
  const [open, setOpen] = useState(false);
  useEffect(() => {
    if (open) dialog.current?.showModal();
    else dialog.current?.close();
  }, [open]);
  return (
    <>
      <button
        type="button"
        className={danger ? 'danger' : ''}
        disabled={disabled}
        onClick={() => setOpen(true)}
      >
        {label}
      </button>
      <dialog ref={dialog} onClose={() => setOpen(false)} aria-label={label}>
        <p>{question}</p>
        <div className="row end">
          <button type="button" onClick={() => setOpen(false)}>
            Keep it
          </button>
          <button
            type="button"
            className={danger ? 'danger' : 'primary'}
            onClick={() => {
              setOpen(false);
              onConfirm();
            }}
          >
            {confirmLabel ?? label}
          </button>
        </div>
      </dialog>
    </>
  );
}

/** Previous / next over a cursor-paged list: the cursors of the pages seen are kept to go back. */
export function Pager({
  cursors,
  nextCursor,
  onChange,
}: {
  cursors: (number | undefined)[];
  nextCursor: number | null | undefined;
  onChange: (cursors: (number | undefined)[]) => void;
}) {
  return (
    <nav className="row pager" aria-label="Pages">
      <button type="button" disabled={cursors.length <= 1} onClick={() => onChange(cursors.slice(0, -1))}>
        ← Newer
      </button>
      <span className="muted small">page {cursors.length}</span>
      <button
        type="button"
        disabled={nextCursor === null || nextCursor === undefined}
        onClick={() => onChange([...cursors, nextCursor ?? undefined])}
      >
        Older →
      </button>
    </nav>
  );
}

/** Re-renders every `ms`, for countdowns and "… ago". */
export function useNow(ms = 1_000): number {
  const [now, setNow] = useState(Date.now);
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), ms);
    return () => clearInterval(t);
  }, [ms]);
  return now;
}
