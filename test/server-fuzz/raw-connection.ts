/**
 * One raw TCP connection to a server under test, read step by step: an HTTP head, a response
 * with a Content-Length body, WebSocket frames. Every wait has a deadline and every error is
 * swallowed into the result: the fuzz inputs are hostile, so resets and refusals are normal.
 */
import { connect, type Socket } from 'node:net';
import { FrameReader, type ServerFrame } from './ws-frames.ts';

const HEAD_END = Buffer.from('\r\n\r\n');

export interface HttpHead {
  readonly status: number;
  readonly head: string;
  /** Header names in lower case; the last value wins. */
  readonly headers: ReadonlyMap<string, string>;
}

export interface HttpResponse extends HttpHead {
  readonly body: Buffer;
}

export class RawConnection {
  readonly #socket: Socket;
  #buffer: Buffer = Buffer.alloc(0);
  #closed = false;
  readonly #frames = new FrameReader();
  readonly #framesIn: ServerFrame[] = [];
  readonly #wakers = new Set<() => void>();

  private constructor(socket: Socket) {
    this.#socket = socket;
    socket.on('data', (chunk: Buffer) => {
      this.#buffer = this.#buffer.length === 0 ? chunk : Buffer.concat([this.#buffer, chunk]);
      this.#wake();
    });
    socket.on('close', () => {
      this.#closed = true;
      this.#wake();
    });
    // A reset is an ordinary answer to a hostile input.
    socket.on('error', () => undefined);
  }

  /** Connects to 127.0.0.1:`port`; undefined when the connection is refused or times out. */
  static open(port: number, timeoutMs: number): Promise<RawConnection | undefined> {
    return new Promise((resolve) => {
      const socket = connect({ host: '127.0.0.1', port });
      const timer = setTimeout(() => {
        socket.destroy();
        resolve(undefined);
      }, timeoutMs);
      socket.once('connect', () => {
        clearTimeout(timer);
        resolve(new RawConnection(socket));
      });
      socket.once('error', () => {
        clearTimeout(timer);
        socket.destroy();
        resolve(undefined);
      });
    });
  }

  get closed(): boolean {
    return this.#closed;
  }

  write(bytes: Uint8Array): void {
    if (!this.#closed && this.#socket.writable) this.#socket.write(bytes);
  }

  /** The next HTTP response head, or undefined when none came in time. */
  async readHead(timeoutMs: number): Promise<HttpHead | undefined> {
    const found = await this.#until(() => this.#buffer.indexOf(HEAD_END) >= 0, timeoutMs);
    if (!found) return undefined;
    const end = this.#buffer.indexOf(HEAD_END);
    const head = this.#buffer.subarray(0, end).toString('latin1');
    this.#buffer = this.#buffer.subarray(end + HEAD_END.length);
    return parseHead(head);
  }

  /** A whole response whose body has a Content-Length (what our servers send for JSON). */
  async readResponse(timeoutMs: number): Promise<HttpResponse | undefined> {
    const deadline = Date.now() + timeoutMs;
    const head = await this.readHead(timeoutMs);
    if (head === undefined) return undefined;
    const length = Number(head.headers.get('content-length') ?? 0);
    if (!Number.isSafeInteger(length) || length < 0) return undefined;
    const found = await this.#until(
      () => this.#buffer.length >= length,
      Math.max(0, deadline - Date.now()),
    );
    if (!found) return undefined;
    const body = this.#buffer.subarray(0, length);
    this.#buffer = this.#buffer.subarray(length);
    return { ...head, body };
  }

  /** The next WebSocket frame the server sent, or undefined when none came in time. */
  async nextFrame(timeoutMs: number): Promise<ServerFrame | undefined> {
    const found = await this.#until(() => {
      if (this.#buffer.length > 0) {
        this.#framesIn.push(...this.#frames.push(this.#buffer));
        this.#buffer = Buffer.alloc(0);
      }
      return this.#framesIn.length > 0;
    }, timeoutMs);
    return found ? this.#framesIn.shift() : undefined;
  }

  /**
   * Ends our side (`fin`) or resets the connection, then waits for the server to close it.
   * True when it did within `timeoutMs`; the socket is destroyed either way.
   */
  async finish(how: 'fin' | 'reset', timeoutMs: number): Promise<boolean> {
    if (how === 'reset') {
      this.#socket.resetAndDestroy();
      return true;
    }
    this.#socket.end();
    const closed = await this.#until(() => this.#closed, timeoutMs);
    this.#socket.destroy();
    return closed;
  }

  destroy(): void {
    this.#socket.destroy();
  }

  #wake(): void {
    for (const wake of [...this.#wakers]) wake();
  }

  /** Waits until `ready()` is true (then true) or the socket closed or time ran out (false). */
  #until(ready: () => boolean, timeoutMs: number): Promise<boolean> {
    if (ready()) return Promise.resolve(true);
    if (this.#closed) return Promise.resolve(false);
    return new Promise((resolve) => {
      const done = (value: boolean): void => {
        clearTimeout(timer);
        this.#wakers.delete(check);
        resolve(value);
      };
      const check = (): void => {
        if (ready()) done(true);
        else if (this.#closed) done(false);
      };
      const timer = setTimeout(() => done(false), timeoutMs);
      this.#wakers.add(check);
    });
  }
}

function parseHead(head: string): HttpHead {
  const [statusLine = '', ...lines] = head.split('\r\n');
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine)?.[1] ?? 0);
  const headers = new Map<string, string>();
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon > 0)
      headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  return { status, head, headers };
}
