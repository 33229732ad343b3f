/**
 * Streams over a MessagePort between the service worker and the hub, both ways, with
 * flow control: the receiver grants credit in bytes as its reader consumes, and the
 * sender never has more than the granted bytes in flight. (Transferable streams would
 * do this too, but not in every browser a censored user may have.)
 *
 * Messages on a port: `{t:'chunk', data: ArrayBuffer}`, `{t:'end'}`,
 * `{t:'error', message}` from the sender; `{t:'credit', bytes}`, `{t:'cancel'}` from the
 * receiver. Anything else is handed to the caller's `other` handler.
 */

export const STREAM_WINDOW = 256 * 1024;

export type StreamMessage =
  | { readonly t: 'chunk'; readonly data: ArrayBuffer }
  | { readonly t: 'end' }
  | { readonly t: 'error'; readonly message: string }
  | { readonly t: 'credit'; readonly bytes: number }
  | { readonly t: 'cancel' };

function field(value: object, key: string): unknown {
  return key in value ? (Object.getOwnPropertyDescriptor(value, key)?.value as unknown) : undefined;
}

/** Checks a message from the other side; undefined when it is not a stream message. */
export function asStreamMessage(value: unknown): StreamMessage | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const t = field(value, 't');
  switch (t) {
    case 'chunk': {
      const data = field(value, 'data');
      return data instanceof ArrayBuffer ? { t, data } : undefined;
    }
    case 'end':
    case 'cancel':
      return { t };
    case 'error': {
      const message = field(value, 'message');
      return { t, message: typeof message === 'string' ? message : 'failed' };
    }
    case 'credit': {
      const bytes = field(value, 'bytes');
      return typeof bytes === 'number' && Number.isInteger(bytes) && bytes > 0 && bytes <= 1 << 30
        ? { t, bytes }
        : undefined;
    }
    default:
      return undefined;
  }
}

function copy(chunk: Uint8Array): ArrayBuffer {
  const buffer = new ArrayBuffer(chunk.byteLength);
  new Uint8Array(buffer).set(chunk);
  return buffer;
}

/**
 * Sends `body` over `port`, waiting for credit. Resolves when the body is sent or the
 * receiver cancelled. The port's `onmessage` belongs to this function while it runs;
 * `other` gets the messages that are not about the stream.
 */
export async function sendStream(
  port: MessagePort,
  body: ReadableStream<Uint8Array> | null,
  other: (message: unknown) => void = () => undefined,
): Promise<void> {
  let credit = 0;
  let cancelled = false;
  let wake: (() => void) | undefined;
  port.onmessage = (event: MessageEvent<unknown>) => {
    const message = asStreamMessage(event.data);
    if (message?.t === 'credit') credit += message.bytes;
    else if (message?.t === 'cancel') cancelled = true;
    else if (message === undefined) other(event.data);
    wake?.();
  };
  port.start();
  if (body === null) {
    port.postMessage({ t: 'end' });
    return;
  }
  const reader = body.getReader();
  try {
    for (;;) {
      while (credit <= 0 && !cancelled) await new Promise<void>((resolve) => (wake = resolve));
      if (cancelled) {
        await reader.cancel();
        return;
      }
      const { done, value } = await reader.read();
      if (done) break;
      // Large chunks go in pieces so one never overruns the window by much.
      for (let offset = 0; offset < value.byteLength; offset += 64 * 1024) {
        const piece = value.subarray(offset, offset + 64 * 1024);
        const data = copy(piece);
        port.postMessage({ t: 'chunk', data }, [data]);
        credit -= piece.byteLength;
      }
    }
    port.postMessage({ t: 'end' });
  } catch (err) {
    port.postMessage({ t: 'error', message: err instanceof Error ? err.message : String(err) });
    void reader.cancel().catch(() => undefined);
  }
}

/**
 * The receiving side: a ReadableStream of what arrives on `port`, granting credit as the
 * reader takes chunks. Messages that are not stream messages go to `other` (the response
 * head comes that way, before the body).
 */
export function receiveStream(
  port: MessagePort,
  other: (message: unknown) => void = () => undefined,
): ReadableStream<Uint8Array> {
  let controller: ReadableStreamDefaultController<Uint8Array> | undefined;
  const queued: StreamMessage[] = [];
  let finished = false;
  /** Bytes queued for the reader; credited back once the reader asks for more. */
  let unacked = 0;
  const deliver = () => {
    while (controller && queued.length > 0) {
      const message = queued.shift();
      if (message?.t === 'chunk') {
        controller.enqueue(new Uint8Array(message.data));
        unacked += message.data.byteLength;
      } else if (message?.t === 'end') {
        finished = true;
        controller.close();
        port.close();
      } else if (message?.t === 'error') {
        finished = true;
        controller.error(new Error(message.message));
        port.close();
      }
    }
  };
  port.onmessage = (event: MessageEvent<unknown>) => {
    const message = asStreamMessage(event.data);
    if (message === undefined) {
      other(event.data);
      return;
    }
    if (finished) return;
    queued.push(message);
    deliver();
  };
  port.start();
  port.postMessage({ t: 'credit', bytes: STREAM_WINDOW });
  return new ReadableStream<Uint8Array>(
    {
      start(c) {
        controller = c;
        deliver();
      },
      pull() {
        if (unacked > 0 && !finished) port.postMessage({ t: 'credit', bytes: unacked });
        unacked = 0;
      },
      cancel() {
        finished = true;
        port.postMessage({ t: 'cancel' });
        port.close();
      },
    },
    { highWaterMark: 0 },
  );
}
