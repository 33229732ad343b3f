/**
 * Structured logs: one JSON object per line on stderr, with `time`, `level` and `msg`. Callers
 * pass fields, never whole requests or messages, so tokens and payloads cannot slip in.
 */

export const LOG_LEVELS = ['debug', 'info', 'warn', 'error', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export type LogFields = Readonly<Record<string, string | number | boolean | null>>;

export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
}

export function isLogLevel(level: string): level is LogLevel {
  return LOG_LEVELS.some((known) => known === level);
}

export function createLogger(
  level: LogLevel = 'info',
  write: (line: string) => void = (line) => process.stderr.write(line),
): Logger {
  const threshold = LOG_LEVELS.indexOf(level);
  const emit =
    (at: Exclude<LogLevel, 'silent'>) =>
    (msg: string, fields: LogFields = {}): void => {
      if (LOG_LEVELS.indexOf(at) < threshold) return;
      // Fields first so that they can never overwrite time, level or msg.
      write(`${JSON.stringify({ ...fields, time: new Date().toISOString(), level: at, msg })}\n`);
    };
  return { debug: emit('debug'), info: emit('info'), warn: emit('warn'), error: emit('error') };
}
