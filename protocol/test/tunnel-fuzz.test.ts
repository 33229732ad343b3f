import { describe, expect, it } from 'vitest';
import { bytesToHex, hexToBytes } from '../bytes.ts';
import { isProtocolError, NoiseError } from '../errors.ts';
import { keyPairFromSecret } from '../noise/crypto-suite.ts';
import { TunnelInitiator, TunnelResponder } from '../tunnel-handshake.ts';
import { decodeHello, encodeHello } from '../tunnel-hello.ts';
import { tunnelMessageKind } from '../tunnel-message.ts';
import { decodeRefused, encodeRefused, TUNNEL_REFUSAL_REASON_NAMES } from '../tunnel-refused.ts';
import type { TunnelSession } from '../tunnel-session.ts';
import { fuzz, FUZZ_RUNS, mutate, pick, randomBytes, randomInt } from './fuzz-helpers.ts';

const RUNS = FUZZ_RUNS;
const egressKey = keyPairFromSecret(new Uint8Array(32).fill(9));

function pair(): { consumer: TunnelSession; egress: TunnelSession } {
  const initiator = new TunnelInitiator(egressKey.publicKey);
  const responder = new TunnelResponder(egressKey);
  responder.readInit(initiator.writeInit());
  const { response, session: egress } = responder.writeResponse();
  return { consumer: initiator.readResponse(response).session, egress };
}

describe('tunnel decoders under fuzzing', () => {
  it('HELLO: 100,000 random and mutated inputs, only typed errors', () => {
    const valid = [encodeHello('eu-1'), encodeHello('x'.repeat(64)), encodeHello('a.b_c-D9')];
    const result = fuzz({
      seed: 0x4e110,
      runs: RUNS,
      input: (rand, run) =>
        run % 2 === 0
          ? randomBytes(rand, 80)
          : mutate(rand, valid[randomInt(rand, valid.length)] ?? new Uint8Array(0)),
      decode: (input) => {
        tunnelMessageKind(input);
        return decodeHello(input);
      },
      allowed: isProtocolError,
    });
    expect(result.rejected).toBeGreaterThan(0);
    expect(result.accepted).toBeGreaterThan(0);
  });

  it('REFUSED: 100,000 random and mutated inputs, only typed errors', () => {
    const valid = TUNNEL_REFUSAL_REASON_NAMES.map((reason) => encodeRefused(reason));
    const result = fuzz({
      seed: 0x7ef05ed,
      runs: RUNS,
      input: (rand, run) => {
        if (run % 2 === 1) return mutate(rand, pick(rand, valid));
        // Random bytes, most of them with the REFUSED kind so the decoder gets past it.
        const junk = randomBytes(rand, 8);
        if (junk.length > 0 && run % 4 === 0) junk[0] = 0x05;
        return junk;
      },
      decode: (input) => {
        tunnelMessageKind(input);
        const decoded = decodeRefused(input);
        // Whatever decodes is exactly one of the encodings.
        if (!valid.some((v) => bytesToHex(v) === bytesToHex(input))) {
          throw new Error(`decoded a REFUSED that no reason encodes to: ${bytesToHex(input)}`);
        }
        return decoded;
      },
      allowed: isProtocolError,
    });
    expect(result.rejected).toBeGreaterThan(0);
    expect(result.accepted).toBeGreaterThan(0);
  });

  it('frames: 100,000 random and mutated inputs, only typed errors, session intact', () => {
    const { consumer, egress } = pair();
    const samples = [0, 1, 5, 300].map((n) => consumer.seal(new Uint8Array(n).fill(n & 0xff)));
    const result = fuzz({
      seed: 0xf4a3e,
      runs: RUNS,
      input: (rand, run) => {
        if (run % 3 === 0) return randomBytes(rand, 64);
        const sample = samples[randomInt(rand, samples.length)] ?? new Uint8Array(0);
        // Mutations of frames that claim the expected sequence number reach the AEAD check.
        return mutate(rand, sample);
      },
      decode: (input) => {
        const frame = egress.open(input);
        // Only a mutation that changed nothing may open: anything else is a forgery.
        if (bytesToHex(input) !== bytesToHex(samples[frame.seq] ?? new Uint8Array(0))) {
          throw new Error(`forged frame ${frame.seq} was accepted`);
        }
        return frame;
      },
      allowed: isProtocolError,
    });
    expect(result.accepted).toBeLessThanOrEqual(samples.length);
    // The session survives all of it: the next genuine frames still open in order.
    const start = egress.receivedCount;
    for (let i = start; i < samples.length; i++) {
      expect(egress.open(samples[i] ?? new Uint8Array(0)).seq).toBe(i);
    }
  });

  it('handshake init and response: 100,000 inputs, only typed errors', () => {
    const initiator = new TunnelInitiator(egressKey.publicKey);
    const init = initiator.writeInit(hexToBytes('0102'));
    const responder = new TunnelResponder(egressKey);
    responder.readInit(init);
    const { response } = responder.writeResponse();
    // X25519 costs ~2 ms here, and a Noise failure poisons the initiator that
    // must then be replaced (two more scalar multiplications). So most inputs
    // are inits that a cheap check refuses (kind, version, length); about one
    // in fifty is a mutated init that reaches the DH, and one in sixty-four
    // goes to the consumer's side.
    let waiting = new TunnelInitiator(egressKey.publicKey);
    waiting.writeInit();
    const result = fuzz({
      seed: 0x5a11,
      runs: RUNS,
      input: (rand, run) => {
        if (run % 64 === 0) {
          if (run % 128 === 0) return mutate(rand, response);
          const junk = randomBytes(rand, 80);
          if (junk.length > 0) junk[0] = 0x03;
          return junk;
        }
        if (run % 50 === 1) return mutate(rand, init);
        const junk = randomBytes(rand, 32);
        if (junk.length > 0 && run % 2 === 1) junk[0] = 0x02;
        return junk;
      },
      decode: (input) => {
        if (input[0] !== 0x03) return new TunnelResponder(egressKey).readInit(input);
        const renew = (): void => {
          waiting = new TunnelInitiator(egressKey.publicKey);
          waiting.writeInit();
        };
        try {
          const opened = waiting.readResponse(input);
          renew();
          return opened;
        } catch (err) {
          if (err instanceof NoiseError) renew();
          throw err;
        }
      },
      allowed: isProtocolError,
    });
    expect(result.rejected).toBeGreaterThan(RUNS * 0.9);
  });
});
