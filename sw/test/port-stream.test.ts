import { randomBytes } from 'node:crypto';
import { MessageChannel } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { settled } from '../../test/wait-for.ts';
import { asStreamMessage, receiveStream, sendStream, STREAM_WINDOW } from '../port-stream.ts';

// Node's MessagePort has the browser's onmessage/postMessage/start/close surface.
function channel(): { a: MessagePort; b: MessagePort } {
  const { port1, port2 } = new MessageChannel();
  return { a: port1 as unknown as MessagePort, b: port2 as unknown as MessagePort };
}

function source(chunks: Uint8Array[]): ReadableStream<Uint8Array> {
  return new ReadableStream({
    pull(controller) {
      const next = chunks.shift();
      if (next) controller.enqueue(next);
      else controller.close();
    },
  });
}

async function collect(stream: ReadableStream<Uint8Array>): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  const reader = stream.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return Buffer.concat(parts);
    parts.push(value);
  }
}

describe('streams over a MessagePort', () => {
  it('carries a body byte for byte', async () => {
    const { a, b } = channel();
    const data = randomBytes(1_000_000);
    const sent = sendStream(a, source([data.subarray(0, 300_000), data.subarray(300_000)]));
    const received = await collect(receiveStream(b));
    await sent;
    expect(received.equals(data)).toBe(true);
  });

  it('never has more than the window in flight while the reader is slow', async () => {
    const { a, b } = channel();
    let produced = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        produced += 16 * 1024;
        controller.enqueue(new Uint8Array(16 * 1024));
        if (produced >= 4 * 1024 * 1024) controller.close();
      },
    });
    void sendStream(a, body);
    const reader = receiveStream(b).getReader();
    await reader.read();
    // The sender stopped at about one window (plus what its own source buffered).
    await settled(() => produced, 'the sender');
    expect(produced).toBeGreaterThanOrEqual(STREAM_WINDOW);
    expect(produced).toBeLessThanOrEqual(STREAM_WINDOW + 128 * 1024);
    await reader.cancel();
  });

  it('passes errors and cancellation across', async () => {
    const { a, b } = channel();
    const failing = new ReadableStream<Uint8Array>({
      pull(controller) {
        controller.error(new Error('origin went away'));
      },
    });
    void sendStream(a, failing);
    await expect(collect(receiveStream(b))).rejects.toThrow('origin went away');

    const pair = channel();
    let cancelled = false;
    const endless = new ReadableStream<Uint8Array>({
      pull(controller) {
        controller.enqueue(new Uint8Array(1024));
      },
      cancel() {
        cancelled = true;
      },
    });
    const done = sendStream(pair.a, endless);
    const reader = receiveStream(pair.b).getReader();
    await reader.read();
    await reader.cancel();
    await done;
    expect(cancelled).toBe(true);
  });

  it('validates messages', () => {
    expect(asStreamMessage({ t: 'credit', bytes: -1 })).toBeUndefined();
    expect(asStreamMessage({ t: 'chunk', data: 'x' })).toBeUndefined();
    expect(asStreamMessage({ t: 'head' })).toBeUndefined();
    expect(asStreamMessage(null)).toBeUndefined();
    expect(asStreamMessage({ t: 'end' })).toEqual({ t: 'end' });
  });
});
