import { pino } from 'pino';

export type { Logger } from 'pino';

/** pino JSON logs, or pretty ones for a person at a terminal (LOG_FORMAT=pretty, or a TTY by default). */
export function createLogger(name: string, level: string, format?: 'json' | 'pretty') {
  const pretty = format ? format === 'pretty' : process.stdout.isTTY === true;
  return pino({
    name,
    level,
    ...(pretty
      ? {
          transport: {
            target: 'pino-pretty',
            options: { translateTime: 'HH:MM:ss.l', ignore: 'pid,hostname' },
          },
        }
      : {}),
  });
}
