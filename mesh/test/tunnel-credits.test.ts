/**
 * Downlink credits under reordering in time: the test plays a well-behaved egress (the
 * protocol's responder and sessions, no I/O) over an in-memory pair whose consumer → egress
 * direction it can hold back, so a CONTINUE reaches the egress only after it has spent the
 * rest of its old credit. That is the race a slow reader on a real network hits: the packets
 * sent under the old credit are still on their way when the new credit is granted.
 */
import { describe, expect, it } from 'vitest';
import { TunnelClient } from '../tunnel-client.ts';
import { generateKeyPair } from '../../protocol/noise/crypto-suite.ts';
import { TunnelResponder } from '../../protocol/tunnel-handshake.ts';
import type { TunnelSession } from '../../protocol/tunnel-session.ts';
import { decodeWispPacket, encodeWispPacket } from '../../protocol/wisp-codec.ts';
import { WISP_CLOSE_REASONS, type WispPacket } from '../../protocol/wisp-types.ts';

const key = generateKeyPair();
const WINDOW = 8;
const QUIET = { idleMs: 60_000, timeoutMs: 60_000 };

/**
 * A client wired to `egress`, delivering the egress's messages synchronously; the handshake
 * response, which comes while the client is still being built, is delivered right after.
 */
function connect(toEgress: (message: Uint8Array, egress: RuleAbidingEgress) => void): {
  client: TunnelClient;
  egress: RuleAbidingEgress;
} {
  const built: { client?: TunnelClient } = {};
  const early: Uint8Array[] = [];
  const egress = new RuleAbidingEgress((message) => {
    if (built.client) built.client.receive(message);
    else early.push(message);
  });
  const client = new TunnelClient(
    { send: (message) => toEgress(message, egress), close: () => undefined },
    { egressPublicKey: key.publicKey, downlinkWindow: WINDOW, keepalive: QUIET },
  );
  built.client = client;
  for (const message of early) client.receive(message);
  return { client, egress };
}

/**
 * An egress that follows the rules: a consumer's CONTINUE on a stream is a cumulative limit,
 * so its credit is that limit minus what it has sent.
 */
class RuleAbidingEgress {
  readonly received: WispPacket[] = [];
  credit = 0;
  initialCredit = 0;
  sent = 0;
  #session: TunnelSession | undefined;
  readonly #toConsumer: (message: Uint8Array) => void;

  constructor(toConsumer: (message: Uint8Array) => void) {
    this.#toConsumer = toConsumer;
  }

  receive(message: Uint8Array): void {
    if (this.#session === undefined) {
      const responder = new TunnelResponder(key);
      responder.readInit(message);
      const { response, session } = responder.writeResponse();
      this.#session = session;
      this.#toConsumer(response);
      return;
    }
    const { packet } = this.#session.open(message);
    if (packet.length === 0) return;
    const decoded = decodeWispPacket(packet);
    this.received.push(decoded);
    if (decoded.type === 'continue') {
      if (decoded.streamId === 0) this.initialCredit = decoded.bufferRemaining;
      else this.credit = decoded.bufferRemaining - this.sent;
    }
    if (decoded.type === 'connect') {
      this.credit = this.initialCredit;
      this.#send({ type: 'continue', streamId: decoded.streamId, bufferRemaining: 64 });
    }
  }

  /** Sends one DATA packet on `streamId` if the credit allows; false when it does not. */
  data(streamId: number): boolean {
    if (this.credit <= 0) return false;
    this.credit--;
    this.sent++;
    this.#send({ type: 'data', streamId, payload: new Uint8Array(100) });
    return true;
  }

  #send(packet: WispPacket): void {
    if (this.#session === undefined) throw new Error('no session');
    this.#toConsumer(this.#session.seal(encodeWispPacket(packet)));
  }
}

describe('TunnelClient downlink credits', () => {
  it('accepts packets the egress sent under the old credit after a new grant (no false "invalid" close)', async () => {
    let hold = false;
    const held: Uint8Array[] = [];
    const { client, egress } = connect((message, to) => {
      if (hold) held.push(message);
      else to.receive(message);
    });
    await client.ready;
    const stream = client.openStream('127.0.0.1', 80);
    expect(egress.credit).toBe(WINDOW);
    const reader = stream.readable.getReader();

    // The egress spends half its window; the reader takes it, so the client grants more.
    for (let i = 0; i < WINDOW / 2; i++) expect(egress.data(stream.id)).toBe(true);
    hold = true;
    for (let i = 0; i < WINDOW / 2; i++) await reader.read();
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(held.length).toBeGreaterThan(0);

    // Before that grant arrives, the egress spends the rest of its old credit...
    while (egress.data(stream.id));
    // ...then the grant arrives and the egress spends all of it.
    hold = false;
    for (const message of held.splice(0)) egress.receive(message);
    const granted = egress.credit;
    expect(granted).toBeGreaterThan(0);
    while (egress.data(stream.id));

    // Every packet is a legitimate one: the stream must still be open and deliver them all.
    const expected = WINDOW / 2 + granted;
    for (let i = 0; i < expected; i++) {
      const { done, value } = await reader.read();
      expect(done).toBe(false);
      expect(value?.length).toBe(100);
    }
    expect(egress.received.some((p) => p.type === 'close')).toBe(false);
    client.close();
  });

  it('still closes a stream whose egress ignores the window', async () => {
    const { client, egress } = connect((message, to) => to.receive(message));
    await client.ready;
    const stream = client.openStream('127.0.0.1', 80);
    const reader = stream.readable.getReader();
    // Nobody reads, so no grant: anything past the window is a violation.
    for (let i = 0; i <= WINDOW; i++) {
      egress.credit = 1;
      egress.data(stream.id);
    }
    expect(egress.received.at(-1)).toMatchObject({
      type: 'close',
      streamId: stream.id,
      reason: WISP_CLOSE_REASONS.invalid,
    });
    await expect(reader.read()).rejects.toThrow(/closed by this side/);
    client.close();
  });
});
