/**
 * The stream multiplexer alone: no session, no transport, just the Wisp packets it hands to an
 * in-memory sink and the ones the test plays back as the egress. Covers both credit
 * directions, close reasons each way, the stream limit, and what a failed tunnel does.
 */
import { describe, expect, it } from 'vitest';
import { MeshError, StreamClosedError } from '../errors.ts';
import { StreamMux, type StreamMuxOptions } from '../stream-mux.ts';
import { WISP_CLOSE_REASONS, type WispPacket } from '../../protocol/wisp-types.ts';

const WINDOW = 8;

function mux(options: Partial<StreamMuxOptions> = {}): { mux: StreamMux; sent: WispPacket[] } {
  const sent: WispPacket[] = [];
  const streams = new StreamMux((packet) => sent.push(packet), {
    maxPacketBytes: 1024,
    downlinkWindow: WINDOW,
    ...options,
  });
  return { mux: streams, sent };
}

/** Lets pending promise callbacks (credit waiters, writes) run. */
const settle = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 0));

const data = (streamId: number, length = 10): WispPacket => ({
  type: 'data',
  streamId,
  payload: new Uint8Array(length).fill(streamId),
});

const ofType = <T extends WispPacket['type']>(
  sent: WispPacket[],
  type: T,
): Array<Extract<WispPacket, { type: T }>> =>
  sent.filter((packet): packet is Extract<WispPacket, { type: T }> => packet.type === type);

describe('StreamMux', () => {
  it('announces the downlink window on stream 0 and opens streams with CONNECT', () => {
    const { mux: streams, sent } = mux();
    streams.announceWindow();
    const a = streams.open('tcp', 'example.com', 443);
    const b = streams.open('fetch', '127.0.0.1', 8080);
    expect(sent).toEqual([
      { type: 'continue', streamId: 0, bufferRemaining: WINDOW },
      { type: 'connect', streamId: 1, streamType: 'tcp', port: 443, hostname: 'example.com' },
      { type: 'connect', streamId: 2, streamType: 'fetch', port: 8080, hostname: '127.0.0.1' },
    ]);
    expect([a.id, b.id]).toEqual([1, 2]);
    expect(streams.streamCount).toBe(2);
  });

  it('sends no DATA before the egress grants uplink credit, then only as much as granted', async () => {
    const { mux: streams, sent } = mux();
    const stream = streams.open('tcp', 'example.com', 80);
    const writer = stream.writable.getWriter();
    const writes = [1, 2, 3].map((n) => writer.write(new Uint8Array([n])));
    await settle();
    expect(ofType(sent, 'data')).toHaveLength(0);

    // Stream 0 sets the credit of every stream, open or not.
    streams.dispatch({ type: 'continue', streamId: 0, bufferRemaining: 2 });
    await settle();
    expect(ofType(sent, 'data').map((p) => [...p.payload])).toEqual([[1], [2]]);

    streams.dispatch({ type: 'continue', streamId: stream.id, bufferRemaining: 5 });
    await Promise.all(writes);
    expect(ofType(sent, 'data').map((p) => [...p.payload])).toEqual([[1], [2], [3]]);
  });

  it('cuts a large write into DATA packets that fit maxPacketBytes', async () => {
    const { mux: streams, sent } = mux({ maxPacketBytes: 105 });
    streams.dispatch({ type: 'continue', streamId: 0, bufferRemaining: 100 });
    const stream = streams.open('tcp', 'example.com', 80);
    await stream.writable.getWriter().write(new Uint8Array(250).map((_, i) => i));
    const payloads = ofType(sent, 'data').map((p) => p.payload);
    expect(payloads.map((p) => p.length)).toEqual([100, 100, 50]);
    expect(payloads[2]?.[0]).toBe(200);
  });

  it('grants downlink credit as cumulative limits as the reader frees room', async () => {
    const { mux: streams, sent } = mux();
    const stream = streams.open('tcp', 'example.com', 80);
    const reader = stream.readable.getReader();
    for (let i = 0; i < WINDOW; i++) streams.dispatch(data(stream.id));
    expect(ofType(sent, 'continue')).toHaveLength(0);
    for (let i = 0; i < WINDOW / 2; i++) await reader.read();
    await settle();
    // Each read frees one place; every grant is "received + room", a limit, not a count.
    const grants = ofType(sent, 'continue').filter((p) => p.streamId === stream.id);
    expect(grants.map((p) => p.bufferRemaining)).toEqual([9, 10, 11, 12]);
    // The egress may send up to the limit, 12 in all, and not one more.
    for (let i = 0; i < WINDOW / 2; i++) streams.dispatch(data(stream.id));
    expect(ofType(sent, 'close')).toHaveLength(0);
    streams.dispatch(data(stream.id));
    expect(ofType(sent, 'close')).toHaveLength(1);
  });

  it('grants nothing while more than half the window is outstanding, however much room there is', async () => {
    const { mux: streams, sent } = mux();
    const stream = streams.open('tcp', 'example.com', 80);
    const reader = stream.readable.getReader();
    for (let i = 0; i < 3; i++) streams.dispatch(data(stream.id));
    for (let i = 0; i < 3; i++) await reader.read();
    await settle();
    // 5 of 8 outstanding and the queue empty: still no grant.
    expect(ofType(sent, 'continue')).toHaveLength(0);
    // The fourth packet brings it to half: the grant is received (4) + room (7).
    streams.dispatch(data(stream.id));
    expect(ofType(sent, 'continue')).toEqual([
      { type: 'continue', streamId: stream.id, bufferRemaining: 11 },
    ]);
  });

  it('closes a stream with 0x41 when the egress sends past its limit', async () => {
    const { mux: streams, sent } = mux();
    const stream = streams.open('tcp', 'example.com', 80);
    const reader = stream.readable.getReader();
    for (let i = 0; i <= WINDOW; i++) streams.dispatch(data(stream.id));
    expect(ofType(sent, 'close')).toEqual([
      { type: 'close', streamId: stream.id, reason: WISP_CLOSE_REASONS.invalid },
    ]);
    expect(streams.streamCount).toBe(0);
    for (let i = 0; i < WINDOW; i++) await reader.read().catch(() => undefined);
    const err: unknown = await reader.read().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StreamClosedError);
    expect(err).toMatchObject({ reasonName: 'invalid', code: 'ERR_STREAM_CLOSED' });
  });

  it("ends a stream on the egress's voluntary CLOSE and errors it on any other reason", async () => {
    const { mux: streams } = mux();
    streams.dispatch({ type: 'continue', streamId: 0, bufferRemaining: 0 });
    const done = streams.open('tcp', 'a.example', 80);
    const refused = streams.open('tcp', 'b.example', 80);
    const blockedWrite = refused.writable.getWriter().write(new Uint8Array(1));
    streams.dispatch({ type: 'close', streamId: done.id, reason: WISP_CLOSE_REASONS.voluntary });
    streams.dispatch({ type: 'close', streamId: refused.id, reason: WISP_CLOSE_REASONS.blocked });
    expect(await done.readable.getReader().read()).toEqual({ done: true, value: undefined });
    const readErr: unknown = await refused.readable
      .getReader()
      .read()
      .catch((e: unknown) => e);
    expect(readErr).toBeInstanceOf(StreamClosedError);
    expect(readErr).toMatchObject({ reason: WISP_CLOSE_REASONS.blocked, reasonName: 'blocked' });
    expect((readErr as Error).message).toContain('the egress closed stream');
    // The write that waited for credit wakes with the same error.
    await expect(blockedWrite).rejects.toBe(readErr);
    expect(streams.streamCount).toBe(0);
  });

  it('sends a voluntary CLOSE when the reader cancels or the writer aborts, once', async () => {
    const { mux: streams, sent } = mux();
    const a = streams.open('tcp', 'a.example', 80);
    const b = streams.open('tcp', 'b.example', 80);
    await a.readable.cancel();
    await b.writable.abort();
    await b.readable.cancel();
    expect(ofType(sent, 'close')).toEqual([
      { type: 'close', streamId: a.id, reason: WISP_CLOSE_REASONS.voluntary },
      { type: 'close', streamId: b.id, reason: WISP_CLOSE_REASONS.voluntary },
    ]);
    // A packet for a closed stream is ignored, not an error.
    streams.dispatch(data(a.id));
    expect(streams.streamCount).toBe(0);
  });

  it('refuses a stream past maxStreams with ERR_STREAM_LIMIT, and takes one again after a close', async () => {
    const { mux: streams, sent } = mux({ maxStreams: 2 });
    const first = streams.open('tcp', 'a.example', 80);
    streams.open('tcp', 'b.example', 80);
    const connects = ofType(sent, 'connect').length;
    expect(() => streams.open('tcp', 'c.example', 80)).toThrow(
      expect.objectContaining({ name: 'MeshError', code: 'ERR_STREAM_LIMIT' }) as Error,
    );
    expect(ofType(sent, 'connect')).toHaveLength(connects);
    await first.readable.cancel();
    expect(streams.open('tcp', 'c.example', 80).id).toBe(3);
  });

  it('fails every stream with the tunnel, sends nothing after, and refuses new streams', async () => {
    const { mux: streams, sent } = mux();
    const stream = streams.open('tcp', 'example.com', 80);
    const write = stream.writable.getWriter().write(new Uint8Array(1)); // no credit yet
    const read = stream.readable.getReader().read();
    const cause = new MeshError('ERR_TUNNEL_TIMEOUT', 'the tunnel went silent');
    const before = sent.length;
    streams.fail(cause);
    const readErr: unknown = await read.catch((e: unknown) => e);
    expect(readErr).toBeInstanceOf(StreamClosedError);
    expect(readErr).toMatchObject({ reasonName: 'unspecified' });
    expect((readErr as Error).message).toContain('the tunnel went silent');
    await expect(write).rejects.toBe(readErr);
    expect(streams.streamCount).toBe(0);
    expect(() => streams.open('tcp', 'example.com', 80)).toThrow(cause);
    expect(sent).toHaveLength(before);
  });

  it('ends a request body with one empty DATA, and refuses it on a closed stream', async () => {
    const { mux: streams, sent } = mux();
    streams.dispatch({ type: 'continue', streamId: 0, bufferRemaining: 4 });
    const stream = streams.open('fetch', 'example.com', 80);
    await streams.sendEmptyData(stream.id);
    expect(ofType(sent, 'data').map((p) => p.payload.length)).toEqual([0]);
    await stream.readable.cancel();
    await expect(streams.sendEmptyData(stream.id)).rejects.toMatchObject({
      code: 'ERR_STREAM_CLOSED',
    });
  });

  it('throws ERR_TUNNEL_CLOSED for a packet the egress must not send', () => {
    const { mux: streams } = mux();
    expect(() =>
      streams.dispatch({
        type: 'connect',
        streamId: 1,
        streamType: 'tcp',
        port: 80,
        hostname: 'example.com',
      }),
    ).toThrow(expect.objectContaining({ code: 'ERR_TUNNEL_CLOSED' }) as Error);
  });

  it('lets a failing sink throw to the caller', () => {
    const refused = new Error('DataChannel is closed');
    const streams = new StreamMux(
      () => {
        throw refused;
      },
      { maxPacketBytes: 1024 },
    );
    expect(() => streams.open('tcp', 'example.com', 80)).toThrow(refused);
    // A stream whose CONNECT never went out holds no slot.
    expect(streams.streamCount).toBe(0);
  });

  it('frees the slot of a stream whose CONNECT could not be sent', () => {
    let refuse = true;
    const sent: unknown[] = [];
    const streams = new StreamMux(
      (packet) => {
        if (refuse) throw new Error('not ready');
        sent.push(packet);
      },
      { maxPacketBytes: 1024, maxStreams: 1 },
    );
    expect(() => streams.open('tcp', 'example.com', 80)).toThrow('not ready');
    refuse = false;
    const stream = streams.open('tcp', 'example.com', 80);
    expect(streams.streamCount).toBe(1);
    expect(sent).toMatchObject([{ type: 'connect', streamId: stream.id }]);
  });

  it('checks its window and packet size', () => {
    for (const downlinkWindow of [1, 0x10000, 2.5]) {
      expect(() => mux({ downlinkWindow })).toThrow(RangeError);
    }
    expect(() => mux({ maxPacketBytes: 5 })).toThrow(RangeError);
  });
});
