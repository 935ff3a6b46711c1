import { pino } from 'pino';

type LogFn = {
  (obj: object, msg?: string): void;
  (msg: string): void;
};

/** What the runner logs through: pino's interface, so a pino logger (or a compatible one) can be passed in. */
export interface Logger {
  child(bindings: Record<string, unknown>): Logger;
  debug: LogFn;
  info: LogFn;
  warn: LogFn;
  error: LogFn;
}

/** pino JSON on stdout at LOG_LEVEL (default info): what a runner logs when it is given no logger. */
export function defaultLogger(): Logger {
  return pino({ name: 'hourglass-runner', level: process.env.LOG_LEVEL ?? 'info' });
}
