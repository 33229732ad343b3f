/**
 * A minimal Wisp client for tests, over any packet transport (a WebSocket for /wisp/ and the
 * wisp-js server, sealed frames for /tunnel/). It honours the server's CONTINUE windows and,
 * in the tunnel, grants downlink credit itself.
 */
import { decodeWispPacket, encodeWispPacket } from '../../protocol/wisp-codec.ts';
import type { WispPacket, WispStreamType } from '../../protocol/wisp-types.ts';

export interface ClientOptions {
  /** Largest encoded packet to send. */
  readonly maxPacketBytes: number;
  /** Tunnel: downlink window to grant per stream (and on stream 0 at start); none for Wisp. */
  readonly downlinkWindow?: number;
  /** Grant downlink credit automatically as data is read (default true). */
  readonly autoGrant?: boolean;
}

export class TestStream {
  readonly id: number;
  readonly chunks: Uint8Array[] = [];
  received = 0;
  credit = 0;
  readonly closed: Promise<number>;
  #resolveClosed!: (reason: number) => void;
  #creditWaiters: Array<() => void> = [];
  #consumedSinceGrant = 0;
  /** DATA packets received on this stream: tunnel grants are limits on this count. */
  #packets = 0;
  #watchers: Array<() => void> = [];
  readonly #client: TestWispClient;
  isClosed = false;

  constructor(client: TestWispClient, id: number, credit: number) {
    this.#client = client;
    this.id = id;
    this.credit = credit;
    this.closed = new Promise((resolve) => (this.#resolveClosed = resolve));
  }

  /** Sends `bytes` as DATA packets, waiting for uplink credit as needed. */
  async send(bytes: Uint8Array, maxPayload = this.#client.maxPayload): Promise<void> {
    for (let offset = 0; offset < bytes.length || bytes.length === 0; offset += maxPayload) {
      while (this.credit <= 0 && !this.isClosed) {
        await new Promise<void>((resolve) => this.#creditWaiters.push(resolve));
      }
      if (this.isClosed) return;
      this.credit--;
      this.#client.sendPacket({
        type: 'data',
        streamId: this.id,
        payload: bytes.subarray(offset, offset + maxPayload),
      });
      if (bytes.length === 0) return;
    }
  }

  close(reason = 0x02): void {
    this.#client.sendPacket({ type: 'close', streamId: this.id, reason });
    this.onClose(reason);
  }

  /** Everything received until the server closed the stream, and the reason. */
  async readAll(): Promise<{ bytes: Uint8Array; reason: number }> {
    const reason = await this.closed;
    return { bytes: Buffer.concat(this.chunks), reason };
  }

  /** Resolves once `count` bytes arrived or the stream closed; returns the bytes. */
  receivedBytes(count: number): Promise<Uint8Array> {
    return new Promise((resolve) => {
      const check = (): void => {
        if (this.received >= count || this.isClosed) resolve(Buffer.concat(this.chunks));
        else this.#watchers.push(check);
      };
      check();
    });
  }

  /** Lets the egress send `credit` more DATA packets than we have received (tunnel). */
  grant(credit: number): void {
    // Tunnel downlink grants are cumulative limits (docs/protocol.md §1.5).
    const limit = (this.#packets + credit) >>> 0;
    this.#client.sendPacket({ type: 'continue', streamId: this.id, bufferRemaining: limit });
  }

  onData(payload: Uint8Array): void {
    this.#packets++;
    this.chunks.push(payload.slice());
    this.received += payload.length;
    for (const watch of this.#watchers.splice(0)) watch();
    const window = this.#client.downlinkWindow;
    if (window !== undefined && this.#client.autoGrant) {
      this.#consumedSinceGrant++;
      if (this.#consumedSinceGrant >= window / 2) {
        this.#consumedSinceGrant = 0;
        this.grant(window);
      }
    }
  }

  onContinue(credit: number): void {
    this.credit = credit;
    for (const wake of this.#creditWaiters.splice(0)) wake();
  }

  onClose(reason: number): void {
    if (this.isClosed) return;
    this.isClosed = true;
    for (const wake of this.#creditWaiters.splice(0)) wake();
    for (const watch of this.#watchers.splice(0)) watch();
    this.#resolveClosed(reason);
  }
}

export class TestWispClient {
  readonly maxPayload: number;
  readonly downlinkWindow: number | undefined;
  readonly autoGrant: boolean;
  readonly streams = new Map<number, TestStream>();
  readonly ready: Promise<void>;
  #resolveReady!: () => void;
  #initialCredit = 0;
  #nextId = 1;
  readonly #sendBytes: (bytes: Uint8Array) => void;
  readonly #maxPacketBytes: number;

  constructor(sendBytes: (bytes: Uint8Array) => void, options: ClientOptions) {
    this.#sendBytes = sendBytes;
    this.#maxPacketBytes = options.maxPacketBytes;
    this.maxPayload = options.maxPacketBytes - 5;
    this.downlinkWindow = options.downlinkWindow;
    this.autoGrant = options.autoGrant ?? true;
    this.ready = new Promise((resolve) => (this.#resolveReady = resolve));
    if (this.downlinkWindow !== undefined) {
      this.sendPacket({ type: 'continue', streamId: 0, bufferRemaining: this.downlinkWindow });
    }
  }

  sendPacket(packet: WispPacket): void {
    this.#sendBytes(encodeWispPacket(packet, { maxBytes: this.#maxPacketBytes }));
  }

  open(hostname: string, port: number, streamType: WispStreamType = 'tcp'): TestStream {
    const id = this.#nextId++;
    const stream = new TestStream(this, id, this.#initialCredit);
    this.streams.set(id, stream);
    this.sendPacket({ type: 'connect', streamId: id, streamType, hostname, port });
    return stream;
  }

  receive(bytes: Uint8Array): void {
    const packet = decodeWispPacket(bytes, { maxBytes: 1 << 20 });
    if (packet.streamId === 0) {
      if (packet.type === 'continue') {
        this.#initialCredit = packet.bufferRemaining;
        this.#resolveReady();
      }
      return;
    }
    const stream = this.streams.get(packet.streamId);
    if (stream === undefined) return;
    if (packet.type === 'data') stream.onData(packet.payload);
    else if (packet.type === 'continue') stream.onContinue(packet.bufferRemaining);
    else if (packet.type === 'close') stream.onClose(packet.reason);
  }

  /** The connection is gone: every open stream ends with `reason`. */
  closeAll(reason = 0x03): void {
    for (const stream of this.streams.values()) stream.onClose(reason);
  }
}
