/**
 * The consumer's session layer alone, against protocol/'s real responder as the egress: the
 * handshake and REFUSED before it, sequence numbers and cumulative acks, and frames that are
 * tampered with, replayed or reordered — each refused without changing the session.
 */
import { describe, expect, it } from 'vitest';
import { MeshError, TunnelRefusedError } from '../errors.ts';
import { TunnelClientSession } from '../tunnel-client-session.ts';
import { bytesToHex, utf8Encode, viewOf } from '../../protocol/bytes.ts';
import { generateKeyPair } from '../../protocol/noise/crypto-suite.ts';
import { TunnelResponder } from '../../protocol/tunnel-handshake.ts';
import { encodeRefused } from '../../protocol/tunnel-refused.ts';
import type { TunnelSession } from '../../protocol/tunnel-session.ts';

const egressKey = generateKeyPair();

/** A consumer session and the egress's session of the same handshake. */
function established(): { consumer: TunnelClientSession; egress: TunnelSession } {
  const consumer = new TunnelClientSession(egressKey.publicKey);
  const responder = new TunnelResponder(egressKey);
  responder.readInit(consumer.writeInit());
  const { response, session } = responder.writeResponse();
  expect(consumer.readHandshake(response)).toBeUndefined();
  return { consumer, egress: session };
}

const seqOf = (frame: Uint8Array): number => viewOf(frame).getUint32(1, true);

function codeOf(action: () => unknown): unknown {
  try {
    action();
  } catch (err) {
    return (err as { code?: unknown }).code;
  }
  return undefined;
}

describe('TunnelClientSession', () => {
  it('completes the handshake with the egress and seals frames it can open', () => {
    const { consumer, egress } = established();
    expect(consumer.established).toBe(true);
    const packet = utf8Encode('one Wisp packet');
    const frame = consumer.seal(packet);
    expect(frame[0]).toBe(0x04);
    expect(bytesToHex(egress.open(frame).packet)).toBe(bytesToHex(packet));
    const back = egress.seal(utf8Encode('back'));
    expect(new TextDecoder().decode(consumer.open(back))).toBe('back');
  });

  it('numbers its frames and tracks what each side has acknowledged', () => {
    const { consumer, egress } = established();
    const frames = [0, 1, 2].map(() => consumer.seal(new Uint8Array(0)));
    expect(frames.map(seqOf)).toEqual([0, 1, 2]);
    expect(consumer.sentCount).toBe(3);
    expect(consumer.peerAck).toBe(0);

    // The egress has read two of them; its next frame says so.
    egress.open(frames[0] ?? new Uint8Array(0));
    egress.open(frames[1] ?? new Uint8Array(0));
    consumer.open(egress.seal(new Uint8Array(0)));
    expect(consumer.peerAck).toBe(2);
    expect(consumer.receivedCount).toBe(1);

    // And our next frame carries our ack of its one frame.
    const opened = egress.open(frames[2] ?? new Uint8Array(0));
    expect(opened.ack).toBe(0); // sealed before the egress's frame arrived
    expect(egress.open(consumer.seal(new Uint8Array(0))).ack).toBe(1);
  });

  it('refuses a tampered frame and stays as it was', () => {
    const { consumer, egress } = established();
    const frame = egress.seal(utf8Encode('payload'));
    for (const at of [1, 5, frame.length - 1]) {
      const tampered = frame.slice();
      tampered[at] = (tampered[at] ?? 0) ^ 0x01;
      // Flipping the seq byte makes it another frame number; the rest fail authentication.
      expect(codeOf(() => consumer.open(tampered))).toBe(
        at === 1 ? 'ERR_TUNNEL_OUT_OF_ORDER' : 'ERR_TUNNEL_TAMPERED',
      );
    }
    expect(consumer.receivedCount).toBe(0);
    expect(new TextDecoder().decode(consumer.open(frame))).toBe('payload');
    expect(consumer.receivedCount).toBe(1);
  });

  it('refuses a replayed frame and one that skips ahead', () => {
    const { consumer, egress } = established();
    const first = egress.seal(new Uint8Array([1]));
    const second = egress.seal(new Uint8Array([2]));
    const third = egress.seal(new Uint8Array([3]));
    consumer.open(first);
    expect(codeOf(() => consumer.open(first))).toBe('ERR_TUNNEL_REPLAY');
    expect(codeOf(() => consumer.open(third))).toBe('ERR_TUNNEL_OUT_OF_ORDER');
    expect([...consumer.open(second)]).toEqual([2]);
    expect([...consumer.open(third)]).toEqual([3]);
    expect(consumer.receivedCount).toBe(3);
  });

  it('returns a REFUSED before the response as a TunnelRefusedError, and stays unestablished', () => {
    const consumer = new TunnelClientSession(egressKey.publicKey);
    consumer.writeInit();
    const refusal = consumer.readHandshake(encodeRefused('busy'));
    expect(refusal).toBeInstanceOf(TunnelRefusedError);
    expect(refusal).toMatchObject({ code: 'ERR_TUNNEL_REFUSED', reason: 'busy' });
    expect(consumer.established).toBe(false);
  });

  it('throws on a response from another handshake, and seals and opens nothing before one', () => {
    const consumer = new TunnelClientSession(egressKey.publicKey);
    consumer.writeInit();
    // A well-formed response, but to someone else's init (a relay replaying an old one).
    const responder = new TunnelResponder(egressKey);
    responder.readInit(new TunnelClientSession(egressKey.publicKey).writeInit());
    const { response } = responder.writeResponse();
    expect(codeOf(() => consumer.readHandshake(response))).toBe('ERR_NOISE_DECRYPT');
    expect(consumer.established).toBe(false);
    expect(codeOf(() => consumer.seal(new Uint8Array(0)))).toBe('ERR_TUNNEL_HANDSHAKE');
    expect(() => consumer.open(new Uint8Array(25).fill(4))).toThrow(MeshError);
  });
});
