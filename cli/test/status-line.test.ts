import { PassThrough } from 'node:stream';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { formatBytes, StatusLine } from '../status-line.ts';

/** A stream that looks like stderr, a terminal or not, and keeps what is written. */
function fakeStream(tty: boolean): { stream: NodeJS.WriteStream; written: () => string } {
  const pass = new PassThrough();
  let text = '';
  pass.on('data', (chunk: Buffer) => (text += chunk.toString()));
  Object.assign(pass, { isTTY: tty, columns: 40 });
  return { stream: pass as unknown as NodeJS.WriteStream, written: () => text };
}

afterEach(() => vi.useRealTimers());

describe('StatusLine', () => {
  it('writes JSON lines when the stream is not a terminal', async () => {
    vi.useFakeTimers();
    vi.setSystemTime(new Date('2026-01-01T00:00:00.000Z'));
    const { stream, written } = fakeStream(false);
    const line = new StatusLine({ state: 'off', n: 0 }, (s) => `${s.state} ${s.n}`, {
      stream,
      intervalMs: 1000,
    });
    line.update({ state: 'on', n: 2 });
    vi.advanceTimersByTime(1000);
    line.log('{"event":"error"}');
    line.close();
    await Promise.resolve();
    expect(
      written()
        .trimEnd()
        .split('\n')
        .map((l) => JSON.parse(l) as unknown),
    ).toEqual([
      { time: '2026-01-01T00:00:00.000Z', level: 'info', event: 'status', state: 'off', n: 0 },
      { time: '2026-01-01T00:00:01.000Z', level: 'info', event: 'status', state: 'on', n: 2 },
      { event: 'error' },
      { time: '2026-01-01T00:00:01.000Z', level: 'info', event: 'status', state: 'on', n: 2 },
    ]);
  });

  it('rewrites one line in place on a terminal, cut to its width', async () => {
    vi.useFakeTimers();
    const { stream, written } = fakeStream(true);
    const line = new StatusLine({ text: 'a' }, (s) => s.text, { stream });
    vi.advanceTimersByTime(250);
    line.update({ text: 'x'.repeat(100) });
    vi.advanceTimersByTime(250);
    line.close();
    await Promise.resolve();
    expect(written()).toBe(`\r\x1b[2Ka\r\x1b[2K${'x'.repeat(39)}\n`);
  });
});

describe('StatusLine, quiet', () => {
  it.each([false, true])(
    'never writes the status, but still writes log lines (terminal: %s)',
    async (tty) => {
      vi.useFakeTimers();
      const { stream, written } = fakeStream(tty);
      const line = new StatusLine({ n: 0 }, (s) => `n ${s.n}`, { stream, quiet: true });
      line.update({ n: 1 });
      vi.advanceTimersByTime(5_000);
      line.log('{"event":"error"}');
      line.close();
      await Promise.resolve();
      expect(written()).toBe('{"event":"error"}\n');
    },
  );
});

describe('formatBytes', () => {
  it.each([
    [0, '0 B'],
    [999, '999 B'],
    [1000, '1.0 kB'],
    [1_500_000, '1.5 MB'],
    [64 * 1024 * 1024, '67.1 MB'],
  ])('%i → %s', (bytes, text) => expect(formatBytes(bytes)).toBe(text));
});
