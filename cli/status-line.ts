/**
 * A live status line on stderr: rewritten in place when stderr is a terminal, otherwise one
 * JSON object per line every few seconds (for logs and for tests that read them).
 */
import { formatLogLine } from '../server-kit/logger.ts';

export interface StatusLineOptions {
  /** Where to write; process.stderr by default. */
  readonly stream?: NodeJS.WriteStream;
  /** How often a JSON line is written when the stream is not a terminal. */
  readonly intervalMs?: number;
  /** Never write the status itself; `log` still writes (a quieter log level). */
  readonly quiet?: boolean;
}

export class StatusLine<T extends object> {
  readonly #stream: NodeJS.WriteStream;
  readonly #render: (status: T) => string;
  readonly #timer: ReturnType<typeof setInterval> | undefined;
  readonly #quiet: boolean;
  #status: T;
  #last = '';

  constructor(initial: T, render: (status: T) => string, options: StatusLineOptions = {}) {
    this.#stream = options.stream ?? process.stderr;
    this.#render = render;
    this.#status = initial;
    this.#quiet = options.quiet ?? false;
    if (this.#quiet) return;
    const tty = this.#stream.isTTY;
    this.#timer = setInterval(
      () => (tty ? this.#draw() : this.#json()),
      tty ? 250 : (options.intervalMs ?? 2_000),
    );
    this.#timer.unref();
    if (!tty) this.#json();
  }

  update(status: Partial<T>): void {
    this.#status = { ...this.#status, ...status };
  }

  get status(): T {
    return this.#status;
  }

  /** Writes a message on its own line without breaking the status line. */
  log(message: string): void {
    if (this.#stream.isTTY && !this.#quiet) {
      this.#stream.write(`\r\x1b[2K${message}\n`);
      this.#last = '';
      this.#draw();
    } else {
      this.#stream.write(`${message}\n`);
    }
  }

  /** Writes the last status and stops. */
  close(): void {
    clearInterval(this.#timer);
    if (this.#quiet) return;
    if (this.#stream.isTTY) {
      this.#draw();
      this.#stream.write('\n');
    } else {
      this.#json();
    }
  }

  #draw(): void {
    const line = this.#render(this.#status);
    if (line === this.#last) return;
    this.#last = line;
    const width = this.#stream.columns > 0 ? this.#stream.columns - 1 : line.length;
    this.#stream.write(`\r\x1b[2K${line.slice(0, width)}`);
  }

  #json(): void {
    this.#stream.write(`${formatLogLine('info', 'status', this.#status)}\n`);
  }
}

/** `1.5 MB`, `320 B`: decimal units, as network speeds are usually shown. */
export function formatBytes(bytes: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return `${unit === 0 ? String(Math.round(value)) : value.toFixed(1)} ${units[unit] ?? 'B'}`;
}
