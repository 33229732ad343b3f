import { afterEach, describe, expect, it, vi } from 'vitest';
import { createLogger, formatLogLine } from '../logger.ts';

afterEach(() => {
  vi.useRealTimers();
});

describe('the log line', () => {
  it('is time, level and event first, then the fields; undefined fields are left out', () => {
    vi.useFakeTimers();
    vi.setSystemTime(new Date('2026-01-01T00:00:00.000Z'));
    expect(formatLogLine('info', 'listening', { url: 'http://x/', port: 1, gone: undefined })).toBe(
      '{"time":"2026-01-01T00:00:00.000Z","level":"info","event":"listening","url":"http://x/","port":1}',
    );
  });

  it('never lets a field replace time, level or event', () => {
    const line = JSON.parse(
      formatLogLine('warn', 'fault', { time: 'then', level: 'debug', event: 'other', ok: true }),
    ) as Record<string, unknown>;
    expect(line['level']).toBe('warn');
    expect(line['event']).toBe('fault');
    expect(line['time']).not.toBe('then');
    expect(Object.keys(line)).toEqual(['time', 'level', 'event', 'ok']);
  });

  it('is written only at or above the logger’s level, one line each', () => {
    const lines: string[] = [];
    const log = createLogger('warn', (line) => lines.push(line));
    log.debug('a');
    log.info('b');
    log.warn('c', { n: 1 });
    log.error('d');
    expect(lines.map((l) => (JSON.parse(l) as { event: string }).event)).toEqual(['c', 'd']);
    expect(lines.every((l) => l.endsWith('}\n') && l.indexOf('\n') === l.length - 1)).toBe(true);
    const silent: string[] = [];
    createLogger('silent', (line) => silent.push(line)).error('e');
    expect(silent).toEqual([]);
  });
});
