/**
 * The two ends of a raw data-channel transfer, written once for both WebRTC stacks: Node
 * calls these functions on node-datachannel's polyfill objects, and Chromium runs the very
 * same functions on its own objects through Playwright's `JSHandle.evaluate`, which sends the
 * function's source to the page. That is why every function here is self-contained: no
 * imports, no module constants, no helpers outside its own body.
 */

/**
 * What the offer/answer helpers need of a peer connection: both Chromium's and
 * node-datachannel's fit (the polyfill's own class is not assignable to the DOM type).
 */
export interface PeerLike {
  readonly iceGatheringState: RTCIceGatheringState;
  readonly localDescription: RTCSessionDescription | null;
  createOffer(): Promise<RTCSessionDescriptionInit>;
  createAnswer(): Promise<RTCSessionDescriptionInit>;
  setLocalDescription(description: RTCSessionDescriptionInit): Promise<void>;
  setRemoteDescription(description: RTCSessionDescriptionInit): Promise<void>;
  addEventListener(type: 'icegatheringstatechange', listener: () => void): void;
  removeEventListener(type: 'icegatheringstatechange', listener: () => void): void;
}

export interface PumpOptions {
  /** Bytes to send in all. */
  readonly total: number;
  /** Bytes per message. */
  readonly messageSize: number;
  /** Stop sending while more than this is buffered in the channel... */
  readonly highWater: number;
  /** ...and resume when the buffer falls to this (`bufferedAmountLowThreshold`). */
  readonly lowWater: number;
}

/**
 * Sends `total` bytes in `messageSize` messages with backpressure, as fast as the channel
 * takes them. Resolves with the bytes handed to the channel.
 */
export async function pumpChannel(channel: RTCDataChannel, options: PumpOptions): Promise<number> {
  const message = new Uint8Array(options.messageSize);
  // Not zeros, so nothing along the way could get away with compressing them.
  for (let i = 0; i < message.length; i += 1) message[i] = (i * 131 + 7) & 0xff;
  channel.bufferedAmountLowThreshold = options.lowWater;
  let sent = 0;
  while (sent < options.total) {
    if (channel.readyState !== 'open') throw new Error(`channel ${channel.readyState}`);
    if (channel.bufferedAmount > options.highWater) {
      await new Promise<void>((resolve) =>
        channel.addEventListener('bufferedamountlow', () => resolve(), { once: true }),
      );
      continue;
    }
    const size = Math.min(options.messageSize, options.total - sent);
    channel.send(size === message.length ? message : message.subarray(0, size));
    sent += size;
  }
  return sent;
}

/** Creates the offer or answer and waits until every candidate is in it (no trickling). */
export async function describeAfterGathering(
  pc: PeerLike,
  kind: 'offer' | 'answer',
): Promise<RTCSessionDescriptionInit> {
  const description = kind === 'offer' ? await pc.createOffer() : await pc.createAnswer();
  await pc.setLocalDescription(description);
  if (pc.iceGatheringState !== 'complete') {
    await new Promise<void>((resolve) => {
      const check = (): void => {
        if (pc.iceGatheringState !== 'complete') return;
        pc.removeEventListener('icegatheringstatechange', check);
        resolve();
      };
      pc.addEventListener('icegatheringstatechange', check);
      check();
    });
  }
  const local = pc.localDescription;
  if (local === null) throw new Error('no local description after gathering');
  return { type: local.type, sdp: local.sdp };
}

export async function applyRemote(
  pc: PeerLike,
  description: RTCSessionDescriptionInit,
): Promise<void> {
  await pc.setRemoteDescription(description);
}

export function untilOpen(channel: RTCDataChannel): Promise<void> {
  if (channel.readyState === 'open') return Promise.resolve();
  return new Promise((resolve, reject) => {
    channel.addEventListener('open', () => resolve(), { once: true });
    channel.addEventListener('close', () => reject(new Error('channel closed before open')), {
      once: true,
    });
  });
}
