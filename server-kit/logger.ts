/**
 * The one log line of every `bu` command: a JSON object on one line,
 * `{"time":…,"level":…,"event":…, …fields}`, the three keys first and always ours (a field
 * named `time`, `level` or `event` cannot overwrite them). `bu serve` writes signaling's and
 * the egress's lines into one stream, so they must read alike. Callers pass fields, never whole
 * requests or messages, so tokens and payloads cannot slip in; destinations only at debug.
 */
import type { JsonValue } from '../protocol/json-value.ts';

export const LOG_LEVELS = ['debug', 'info', 'warn', 'error', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
/** A level a line is written at. */
export type LineLevel = Exclude<LogLevel, 'silent'>;

/** `undefined` fields are left out of the line. */
export type LogFields = Readonly<Record<string, JsonValue | undefined>>;

export interface Logger {
  debug(event: string, fields?: LogFields): void;
  info(event: string, fields?: LogFields): void;
  warn(event: string, fields?: LogFields): void;
  error(event: string, fields?: LogFields): void;
}

export function isLogLevel(level: string): level is LogLevel {
  return LOG_LEVELS.some((known) => known === level);
}

/** Whether a logger at `level` writes lines at `at`. */
export function logs(level: LogLevel, at: LineLevel): boolean {
  return LOG_LEVELS.indexOf(at) >= LOG_LEVELS.indexOf(level);
}

/** One log line, without the newline. `fields` is any JSON-serialisable object. */
export function formatLogLine(at: LineLevel, event: string, fields: object = {}): string {
  const line: Record<string, unknown> = { time: new Date().toISOString(), level: at, event };
  for (const [key, value] of Object.entries(fields)) {
    if (!Object.hasOwn(line, key)) line[key] = value;
  }
  return JSON.stringify(line);
}

export function createLogger(
  level: LogLevel = 'info',
  write: (line: string) => void = (line) => process.stderr.write(line),
): Logger {
  const emit =
    (at: LineLevel) =>
    (event: string, fields?: LogFields): void => {
      if (logs(level, at)) write(`${formatLogLine(at, event, fields)}\n`);
    };
  return { debug: emit('debug'), info: emit('info'), warn: emit('warn'), error: emit('error') };
}
