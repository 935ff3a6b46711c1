import { type Command, InvalidArgumentError } from 'commander';
import { HourglassClient } from '../index.js';
import { parseDuration, parseSeconds } from './durations.js';

/** Exit codes, as the README states them. */
export const EXIT = {
  OK: 0,
  /** The server refused the request (a 4xx or 5xx), or could not be reached. */
  REFUSED: 1,
  /** Bad usage: an unknown command or flag, a malformed value. Nothing was sent. */
  USAGE: 2,
  /** `jobs wait`: the job ended FAILED or CANCELLED. */
  NOT_SUCCEEDED: 3,
  /** `jobs wait --timeout`: the job was not final yet. */
  STILL_RUNNING: 4,
  /** Ctrl-C. */
  INTERRUPTED: 130,
} as const;

/** `cmd.error` options for a usage mistake found after parsing (exit code 2, as for commander's own). */
export const usage = { exitCode: EXIT.USAGE, code: 'hourglass.usage' };

/** The options every command takes (defined once, on the program). */
export interface GlobalOptions {
  url: string;
  apiKey?: string;
  json?: boolean;
  requestTimeout?: number;
}

/** What the commands share: where to print, the client to call, and the signal Ctrl-C fires. */
export class Cli {
  exitCode: number = EXIT.OK;
  readonly interrupt = new AbortController();

  constructor(
    private readonly stdout: (text: string) => void,
    readonly stderr: (text: string) => void,
  ) {}

  client(cmd: Command): HourglassClient {
    const o = cmd.optsWithGlobals<GlobalOptions>();
    return new HourglassClient({ url: o.url, apiKey: o.apiKey || undefined, timeoutMs: o.requestTimeout });
  }

  /** `--json`: the document, alone on stdout; otherwise what `human` makes of it. */
  print<T>(cmd: Command, value: T, human: (value: T) => string): void {
    this.stdout(cmd.optsWithGlobals<GlobalOptions>().json ? JSON.stringify(value, null, 2) : human(value));
  }

  /** One item of a stream (`events`): `--json` prints it as one line of JSON (JSON Lines), else `human` of it. */
  printLine<T>(cmd: Command, value: T, human: (value: T) => string): void {
    this.stdout(cmd.optsWithGlobals<GlobalOptions>().json ? JSON.stringify(value) : human(value));
  }

  /** Notes for people (warnings, hints) go to stderr, so stdout stays the answer alone. */
  note(text: string): void {
    this.stderr(text);
  }

  /** The call options every request gets: Ctrl-C aborts it. */
  get call(): { signal: AbortSignal } {
    return { signal: this.interrupt.signal };
  }
}

// ---- argument parsers: a bad value is a usage error (exit 2) before anything is sent

export function positiveId(text: string): number {
  if (!/^[1-9][0-9]{0,15}$/.test(text) || !Number.isSafeInteger(Number(text))) {
    throw new InvalidArgumentError('must be a positive whole number');
  }
  return Number(text);
}

export function integer(text: string): number {
  if (!/^-?[0-9]{1,9}$/.test(text)) throw new InvalidArgumentError('must be a whole number');
  return Number(text);
}

export function json(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new InvalidArgumentError(`not valid JSON: ${(err as Error).message}`);
  }
}

export function duration(text: string): number {
  try {
    return parseDuration(text);
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
}

export function wholeSeconds(text: string): number {
  try {
    return parseSeconds(text);
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
}

export function count(text: string): number {
  const n = integer(text);
  if (n < 1) throw new InvalidArgumentError('must be at least 1');
  return n;
}
