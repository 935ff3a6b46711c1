import type { CreateJobInput, JobType } from '@hourglass/client';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useId, useMemo, useState } from 'react';
import { useLocation } from 'wouter';
import { useSession } from '../auth';
import { ProblemNote } from '../components/ui';
import { useJobTypes } from '../queries';

/** A JSON Schema, as much of it as the form reads. */
interface Schema {
  type?: string | string[];
  properties?: Record<string, Schema>;
  required?: string[];
  enum?: unknown[];
  default?: unknown;
  description?: string;
  minimum?: number;
  maximum?: number;
  format?: string;
}

type FieldKind = 'text' | 'integer' | 'number' | 'boolean' | 'enum' | 'json';

function kindOf(s: Schema): FieldKind {
  if (Array.isArray(s.enum) && s.enum.every((v) => typeof v === 'string')) return 'enum';
  const t = Array.isArray(s.type) ? s.type.find((x) => x !== 'null') : s.type;
  if (t === 'string') return 'text';
  if (t === 'integer') return 'integer';
  if (t === 'number') return 'number';
  if (t === 'boolean') return 'boolean';
  return 'json';
}

/** A form is built when the schema is an object with properties; anything else is edited as JSON. */
function formSchema(t: JobType | undefined): Schema | null {
  const s = t?.payloadSchema as Schema | null | undefined;
  if (s?.type !== 'object' || !s.properties || Object.keys(s.properties).length === 0) return null;
  return s;
}

type Timing = 'now' | 'delay' | 'cron' | 'interval';

/**
 * Create a job. The payload form is built from the type's JSON Schema (GET /job-types: what its runners declared,
 * or the built-in types' own); a field of a nested type takes JSON; a type without a schema takes the whole payload
 * as JSON. The orchestrator checks the payload again and names any field it refuses.
 */
export function CreateJob() {
  const { client } = useSession();
  const queryClient = useQueryClient();
  const [, navigate] = useLocation();
  const types = useJobTypes();
  const initialType = new URLSearchParams(window.location.search).get('type') ?? 'echo';
  const [type, setType] = useState(initialType);
  const [fields, setFields] = useState<Record<string, string | boolean>>({});
  const [payloadJson, setPayloadJson] = useState('{}');
  const [asJson, setAsJson] = useState(false);
  const [timing, setTiming] = useState<Timing>('now');
  const [when, setWhen] = useState('');
  const [maxAttempts, setMaxAttempts] = useState('');
  const [priority, setPriority] = useState('0');
  const [localError, setLocalError] = useState<string | null>(null);
  const ids = useId();

  const jobType = types.data?.find((t) => t.name === type);
  const schema = useMemo(() => formSchema(jobType), [jobType]);
  const useForm = schema !== null && !asJson;

  const create = useMutation({
    mutationFn: (job: CreateJobInput) => client.createJob(job),
    onSuccess: (job) => {
      void queryClient.invalidateQueries({ queryKey: ['jobs'] });
      void queryClient.invalidateQueries({ queryKey: ['stats'] });
      navigate(`/jobs/${job.id}`);
    },
  });

  const payloadFromForm = (s: Schema): unknown => {
    const out: Record<string, unknown> = {};
    for (const [name, prop] of Object.entries(s.properties ?? {})) {
      const raw = fields[name];
      const kind = kindOf(prop);
      if (kind === 'boolean') {
        if (raw !== undefined) out[name] = raw === true;
        continue;
      }
      if (raw === undefined || raw === '') continue;
      const text = String(raw);
      if (kind === 'integer' || kind === 'number') out[name] = Number(text);
      else if (kind === 'json') out[name] = JSON.parse(text);
      else out[name] = text;
    }
    return out;
  };

  const submit = (e: FormEvent) => {
    e.preventDefault();
    setLocalError(null);
    let payload: unknown;
    try {
      payload = useForm ? payloadFromForm(schema) : JSON.parse(payloadJson);
    } catch (err) {
      setLocalError(`The payload is not valid JSON: ${(err as Error).message}`);
      return;
    }
    const job: CreateJobInput = { type, payload };
    if (maxAttempts) job.maxAttempts = Number(maxAttempts);
    if (priority && priority !== '0') job.priority = Number(priority);
    if (timing === 'delay') job.delayMs = Math.round(Number(when) * 1000);
    if (timing === 'cron') job.scheduleExpression = when;
    if (timing === 'interval') job.intervalSeconds = Number(when);
    create.mutate(job);
  };

  return (
    <>
      <h1>Create a job</h1>
      <form className="card stack" onSubmit={submit} aria-describedby={`${ids}-help`}>
        <p id={`${ids}-help`} className="muted small">
          The payload form follows the type's JSON Schema where one is known; otherwise write the payload as
          JSON.
        </p>
        <label>
          Type
          <input
            list={`${ids}-types`}
            value={type}
            required
            pattern="[a-z][a-z0-9_.\-]{0,99}"
            onChange={(e) => {
              setType(e.target.value);
              setFields({});
            }}
          />
          <datalist id={`${ids}-types`}>
            {(types.data ?? []).map((t) => (
              <option key={t.name} value={t.name} />
            ))}
          </datalist>
        </label>
        {schema && (
          <label className="inline">
            <input type="checkbox" checked={asJson} onChange={(e) => setAsJson(e.target.checked)} /> Edit the
            payload as JSON
          </label>
        )}
        {useForm ? (
          <fieldset>
            <legend>Payload</legend>
            {Object.entries(schema.properties ?? {}).map(([name, prop]) => (
              <SchemaField
                key={`${type}.${name}`}
                name={name}
                schema={prop}
                required={schema.required?.includes(name) ?? false}
                value={fields[name]}
                onChange={(v) => setFields((f) => ({ ...f, [name]: v }))}
              />
            ))}
          </fieldset>
        ) : (
          <label>
            Payload (JSON)
            <textarea
              className="mono"
              rows={8}
              value={payloadJson}
              onChange={(e) => setPayloadJson(e.target.value)}
              spellCheck={false}
            />
          </label>
        )}
        <fieldset>
          <legend>When</legend>
          <div className="row wrap">
            {(
              [
                ['now', 'Now'],
                ['delay', 'After a delay'],
                ['cron', 'On a cron schedule'],
                ['interval', 'Every N seconds'],
              ] as const
            ).map(([value, label]) => (
              <label key={value} className="inline">
                <input
                  type="radio"
                  name="timing"
                  value={value}
                  checked={timing === value}
                  onChange={() => setTiming(value)}
                />{' '}
                {label}
              </label>
            ))}
          </div>
          {timing !== 'now' && (
            <label>
              {timing === 'delay'
                ? 'Delay (seconds)'
                : timing === 'cron'
                  ? 'Cron expression (UTC)'
                  : 'Interval (seconds)'}
              <input
                value={when}
                required
                inputMode={timing === 'cron' ? 'text' : 'decimal'}
                placeholder={timing === 'cron' ? '*/5 * * * *' : '60'}
                onChange={(e) => setWhen(e.target.value)}
              />
            </label>
          )}
        </fieldset>
        <div className="row wrap">
          <label>
            Attempts (blank: the type's default)
            <input
              type="number"
              min={1}
              max={100}
              value={maxAttempts}
              onChange={(e) => setMaxAttempts(e.target.value)}
            />
          </label>
          <label>
            Priority (higher runs first)
            <input
              type="number"
              min={-1000}
              max={1000}
              value={priority}
              onChange={(e) => setPriority(e.target.value)}
            />
          </label>
        </div>
        {localError && (
          <p role="alert" className="error">
            {localError}
          </p>
        )}
        <ProblemNote error={create.error} />
        <div className="row end">
          <button type="submit" className="primary" disabled={create.isPending}>
            {create.isPending ? 'Creating…' : 'Create job'}
          </button>
        </div>
      </form>
    </>
  );
}

function SchemaField({
  name,
  schema,
  required,
  value,
  onChange,
}: {
  name: string;
  schema: Schema;
  required: boolean;
  value: string | boolean | undefined;
  onChange: (v: string | boolean) => void;
}) {
  const kind = kindOf(schema);
  const id = useId();
  const hint = [
    schema.description,
    schema.default !== undefined ? `default ${JSON.stringify(schema.default)}` : null,
    schema.minimum !== undefined || schema.maximum !== undefined
      ? `${schema.minimum ?? '…'} to ${schema.maximum ?? '…'}`
      : null,
    kind === 'json' ? 'JSON' : null,
  ]
    .filter(Boolean)
    .join(' · ');
  const describedBy = hint ? `${id}-hint` : undefined;
  const label = `${name}${required ? ' (required)' : ''}`;
  if (kind === 'boolean') {
    return (
      <label className="inline">
        <input type="checkbox" checked={value === true} onChange={(e) => onChange(e.target.checked)} />{' '}
        {label}
        {hint && <span className="muted small"> — {hint}</span>}
      </label>
    );
  }
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      {kind === 'enum' ? (
        <select
          id={id}
          value={String(value ?? '')}
          required={required}
          onChange={(e) => onChange(e.target.value)}
        >
          <option value="">{required ? 'choose…' : '(default)'}</option>
          {(schema.enum as string[]).map((v) => (
            <option key={v}>{v}</option>
          ))}
        </select>
      ) : kind === 'json' ? (
        <textarea
          id={id}
          className="mono"
          rows={3}
          required={required}
          value={String(value ?? '')}
          onChange={(e) => onChange(e.target.value)}
          aria-describedby={describedBy}
        />
      ) : (
        <input
          id={id}
          type={kind === 'text' ? (schema.format === 'uri' ? 'url' : 'text') : 'number'}
          step={kind === 'integer' ? 1 : 'any'}
          min={schema.minimum}
          max={schema.maximum}
          required={required}
          value={String(value ?? '')}
          placeholder={schema.default !== undefined ? String(schema.default) : undefined}
          onChange={(e) => onChange(e.target.value)}
          aria-describedby={describedBy}
        />
      )}
      {hint && (
        <span id={`${id}-hint`} className="muted small">
          {hint}
        </span>
      )}
    </div>
  );
}
