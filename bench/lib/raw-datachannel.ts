/**
 * The chain bench's baseline: bytes over one bare WebRTC data channel between the same two
 * stacks the chain uses, with no signaling server, no crypto beyond WebRTC's own DTLS and no
 * relays. The offer and answer are handed over in this process (Node ⇄ Node) or through
 * Playwright (Chromium ⇄ Node); no STUN servers, so only host candidates on the namespace's
 * addresses. The sender plays the volunteer (downloads flow volunteer → consumer in the
 * chain) and the receiver, always node-datachannel in this process, plays `bu proxy`.
 */
import { RTCPeerConnection as NodePeerConnection } from 'node-datachannel/polyfill';
import type { JSHandle, Page } from 'playwright-core';
import {
  applyRemote,
  describeAfterGathering,
  pumpChannel,
  untilOpen,
  type PumpOptions,
} from './datachannel-pump.ts';

/** Told when the measured window opens and closes (CPU readings). */
export interface Meter {
  start(): void;
  stop(): void;
}

export interface RawTransfer {
  /** Bytes the receiver got. */
  readonly bytes: number;
  /** From the first send to the receiver holding the last byte. */
  readonly seconds: number;
}

/** Same backpressure as the volunteer's relay (mesh/relay.ts): pause above 1 MiB, resume at ½. */
export function pumpOptions(total: number): PumpOptions {
  return { total, messageSize: 16 * 1024, highWater: 1024 * 1024, lowWater: 512 * 1024 };
}

/** Counts what arrives; resolves with the time (performance.now) the last byte came. */
function receiveAll(
  channel: RTCDataChannel,
  total: number,
): Promise<{ bytes: number; at: number }> {
  channel.binaryType = 'arraybuffer';
  let bytes = 0;
  return new Promise((resolve, reject) => {
    channel.addEventListener('message', (event: MessageEvent<unknown>) => {
      const data = event.data;
      bytes += data instanceof ArrayBuffer ? data.byteLength : 0;
      if (bytes >= total) resolve({ bytes, at: performance.now() });
    });
    channel.addEventListener('close', () =>
      reject(new Error(`channel closed after ${bytes} of ${total} bytes`)),
    );
  });
}

function incomingChannel(pc: NodePeerConnection): Promise<RTCDataChannel> {
  return new Promise((resolve) => (pc.ondatachannel = (event) => resolve(event.channel)));
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: no result in ${ms / 1000} s`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

/** The receiving end in this process: answers `offer`, hands back the answer and the channel. */
async function answerInNode(offer: RTCSessionDescriptionInit): Promise<{
  pc: NodePeerConnection;
  answer: RTCSessionDescriptionInit;
  channel: Promise<RTCDataChannel>;
}> {
  const pc = new NodePeerConnection({ iceServers: [] });
  const channel = incomingChannel(pc);
  await applyRemote(pc, offer);
  return { pc, answer: await describeAfterGathering(pc, 'answer'), channel };
}

/** node-datachannel ⇄ node-datachannel, both in this process. */
export async function rawNodeToNode(
  total: number,
  timeoutMs: number,
  meter?: Meter,
): Promise<RawTransfer> {
  const sender = new NodePeerConnection({ iceServers: [] });
  let receiver: NodePeerConnection | undefined;
  try {
    const out = sender.createDataChannel('raw');
    const offer = await describeAfterGathering(sender, 'offer');
    const answered = await answerInNode(offer);
    receiver = answered.pc;
    await applyRemote(sender, answered.answer);
    const incoming = await withTimeout(answered.channel, 20_000, 'node ⇄ node channel');
    await withTimeout(untilOpen(out), 20_000, 'node ⇄ node open');
    const received = receiveAll(incoming, total);
    meter?.start();
    const started = performance.now();
    const [sent, last] = await withTimeout(
      Promise.all([pumpChannel(out, pumpOptions(total)), received]),
      timeoutMs,
      'node ⇄ node transfer',
    );
    meter?.stop();
    if (sent !== total) throw new Error(`sent ${sent} of ${total}`);
    return { bytes: last.bytes, seconds: (last.at - started) / 1000 };
  } finally {
    sender.close();
    receiver?.close();
  }
}

/** Chromium (in `page`) sends, node-datachannel in this process receives. */
export async function rawChromiumToNode(
  page: Page,
  total: number,
  timeoutMs: number,
  meter?: Meter,
): Promise<RawTransfer> {
  const sender: JSHandle<RTCPeerConnection> = await page.evaluateHandle(
    () => new RTCPeerConnection({ iceServers: [] }),
  );
  let receiver: NodePeerConnection | undefined;
  try {
    const out = await sender.evaluateHandle((pc) => pc.createDataChannel('raw'));
    const offer = await sender.evaluate(describeAfterGathering, 'offer' as const);
    const answered = await answerInNode(offer);
    receiver = answered.pc;
    await sender.evaluate(applyRemote, answered.answer);
    const incoming = await withTimeout(answered.channel, 20_000, 'chromium ⇄ node channel');
    await withTimeout(out.evaluate(untilOpen), 20_000, 'chromium ⇄ node open');
    const received = receiveAll(incoming, total);
    meter?.start();
    const started = performance.now();
    const [sent, last] = await withTimeout(
      Promise.all([out.evaluate(pumpChannel, pumpOptions(total)), received]),
      timeoutMs,
      'chromium ⇄ node transfer',
    );
    meter?.stop();
    if (sent !== total) throw new Error(`sent ${sent} of ${total}`);
    return { bytes: last.bytes, seconds: (last.at - started) / 1000 };
  } finally {
    await sender.evaluate((pc) => pc.close()).catch(() => undefined);
    await sender.dispose();
    receiver?.close();
  }
}
