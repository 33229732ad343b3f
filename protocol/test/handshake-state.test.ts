import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { NoiseError } from '../errors.ts';
import {
  expectNoiseError,
  flipBit,
  handshakePair,
  poolKey,
  protocolName,
  runHandshake,
} from './noise-helpers.ts';
import type { HashName } from './noise-helpers.ts';
import type { CipherState } from '../noise/cipher-state.ts';
import { MAX_MESSAGE_LENGTH, keyPairFromSecret } from '../noise/crypto-suite.ts';
import type { PatternName } from '../noise/handshake-patterns.ts';
import { HandshakeState } from '../noise/handshake-state.ts';

const payload = fc.uint8Array({ maxLength: 200, size: 'max' });
const secretKey = fc.uint8Array({ minLength: 32, maxLength: 32 });
const hashName = fc.constantFrom<HashName>('SHA256', 'BLAKE2s');
const EMPTY = new Uint8Array(0);

/** Transport in both directions: the initiator sends with c1, the responder with c2. */
function exchange(
  initiator: [CipherState, CipherState],
  responder: [CipherState, CipherState],
  messages: readonly { fromInitiator: boolean; data: Uint8Array }[],
): void {
  for (const { fromInitiator, data } of messages) {
    const [sender, receiver] = fromInitiator
      ? [initiator[0], responder[0]]
      : [responder[1], initiator[1]];
    const sealed = sender.encryptWithAd(EMPTY, data);
    expect(sealed.length).toBe(data.length + 16);
    expect(receiver.decryptWithAd(EMPTY, sealed)).toEqual(data);
  }
}

describe.each<PatternName>(['NN', 'NK', 'XX'])('Noise %s round trips', (pattern) => {
  it('delivers random payloads in the handshake and in transport both ways', () => {
    fc.assert(
      fc.property(
        hashName,
        secretKey,
        secretKey,
        fc.array(payload, { minLength: 3, maxLength: 3 }),
        fc.array(fc.record({ fromInitiator: fc.boolean(), data: payload }), { maxLength: 8 }),
        fc.uint8Array({ maxLength: 40 }),
        (hash, initiatorSecret, responderSecret, payloads, transport, prologue) => {
          // Random statics, fresh ephemerals: the path real sessions take.
          const keys = {
            initiatorStatic: keyPairFromSecret(initiatorSecret),
            responderStatic: keyPairFromSecret(responderSecret),
          };
          const pair = handshakePair(pattern, hash, keys, prologue);
          const { messages, received } = runHandshake(pair.initiator, pair.responder, payloads);
          expect(received).toEqual(payloads.slice(0, messages.length));
          expect(pair.responder.isComplete).toBe(true);
          expect(pair.initiator.getHandshakeHash()).toEqual(pair.responder.getHandshakeHash());
          expect(pair.initiator.remoteStaticKey).toEqual(
            pattern === 'NN' ? undefined : pair.responderStatic.publicKey,
          );
          expect(pair.responder.remoteStaticKey).toEqual(
            pattern === 'XX' ? pair.initiatorStatic.publicKey : undefined,
          );
          exchange(pair.initiator.split(), pair.responder.split(), transport);
        },
      ),
      { numRuns: 40 },
    );
  });
});

describe('Noise NK message sizes', () => {
  it('msg1 = 32 + payload + 16 and msg2 = 32 + payload + 16', () => {
    const pair = handshakePair('NK', 'SHA256', { initiatorStatic: 0, responderStatic: 1 });
    const msg1 = pair.initiator.writeMessage(new Uint8Array(10));
    expect(msg1).toHaveLength(32 + 10 + 16);
    pair.responder.readMessage(msg1);
    const msg2 = pair.responder.writeMessage(new Uint8Array(7));
    expect(msg2).toHaveLength(32 + 7 + 16);
  });
});

describe('Noise handshake tampering', () => {
  // Only messages that are authenticated can detect tampering: the first
  // message of NN and XX is a bare ephemeral key plus a plaintext payload.
  const cases: { pattern: PatternName; index: number }[] = [
    { pattern: 'NN', index: 1 },
    { pattern: 'NK', index: 0 },
    { pattern: 'NK', index: 1 },
    { pattern: 'XX', index: 1 },
    { pattern: 'XX', index: 2 },
  ];

  it.each(cases)('$pattern message $index fails on any flipped bit', ({ pattern, index }) => {
    fc.assert(
      fc.property(hashName, payload, fc.nat(), (hash, data, bit) => {
        const pair = handshakePair(pattern, hash, {
          initiatorStatic: 0,
          responderStatic: 1,
          initiatorEphemeral: 2,
          responderEphemeral: 3,
        });
        for (let i = 0; i < index; i++) {
          const [sender, receiver] =
            i % 2 === 0 ? [pair.initiator, pair.responder] : [pair.responder, pair.initiator];
          receiver.readMessage(sender.writeMessage(EMPTY));
        }
        const [sender, receiver] =
          index % 2 === 0 ? [pair.initiator, pair.responder] : [pair.responder, pair.initiator];
        const message = sender.writeMessage(data);
        const forged = flipBit(message, bit % (message.length * 8));
        expectNoiseError(() => receiver.readMessage(forged), 'ERR_NOISE_DECRYPT');
        // Poisoned: even the genuine message is refused now.
        expectNoiseError(() => receiver.readMessage(message), 'ERR_NOISE_STATE');
      }),
      { numRuns: 25 },
    );
  });

  it('fails when the prologues differ', () => {
    const initiator = new HandshakeState({
      protocolName: protocolName('NN'),
      initiator: true,
      prologue: new Uint8Array([1]),
    });
    const responder = new HandshakeState({
      protocolName: protocolName('NN'),
      initiator: false,
      prologue: new Uint8Array([2]),
    });
    responder.readMessage(initiator.writeMessage(EMPTY));
    expectNoiseError(
      () => initiator.readMessage(responder.writeMessage(EMPTY)),
      'ERR_NOISE_DECRYPT',
    );
  });

  it('fails when the NK initiator pinned a different responder key', () => {
    const initiator = new HandshakeState({
      protocolName: protocolName('NK'),
      initiator: true,
      rs: poolKey(5).publicKey,
    });
    const responder = new HandshakeState({
      protocolName: protocolName('NK'),
      initiator: false,
      s: poolKey(6),
    });
    expectNoiseError(
      () => responder.readMessage(initiator.writeMessage(EMPTY)),
      'ERR_NOISE_DECRYPT',
    );
  });
});

describe('HandshakeState protocol names', () => {
  it.each([
    '',
    'Noise_NN_25519_ChaChaPoly_SHA512',
    'Noise_NN_448_ChaChaPoly_SHA256',
    'Noise_NN_25519_AESGCM_SHA256',
    'Noise_NNpsk0_25519_ChaChaPoly_SHA256',
    'Noise_XXfallback_25519_ChaChaPoly_SHA256',
    'Noise_IN_25519_ChaChaPoly_SHA256',
    'Noise_N_25519_ChaChaPoly_SHA256',
    'noise_NN_25519_ChaChaPoly_SHA256',
    'Noise_NN_25519_ChaChaPoly_SHA256 ',
    'Noise_NN_25519_ChaChaPoly_sha256',
    'Noise_constructor_25519_ChaChaPoly_SHA256',
    'Noise_NN_25519_ChaChaPoly_SHA256\n',
  ])('rejects %j', (name) => {
    expectNoiseError(
      () => new HandshakeState({ protocolName: name, initiator: true }),
      'ERR_NOISE_PROTOCOL_NAME',
    );
  });
});

describe('HandshakeState keys', () => {
  const s = poolKey(0);
  const rs = poolKey(1).publicKey;

  it.each<[string, () => HandshakeState]>([
    [
      'NK initiator without rs',
      () => new HandshakeState({ protocolName: protocolName('NK'), initiator: true }),
    ],
    [
      'NK responder without s',
      () => new HandshakeState({ protocolName: protocolName('NK'), initiator: false }),
    ],
    [
      'XX initiator without s',
      () => new HandshakeState({ protocolName: protocolName('XX'), initiator: true }),
    ],
    [
      'XX responder without s',
      () => new HandshakeState({ protocolName: protocolName('XX'), initiator: false }),
    ],
    [
      'IK initiator without s',
      () => new HandshakeState({ protocolName: protocolName('IK'), initiator: true, rs }),
    ],
    [
      'KK responder without rs',
      () => new HandshakeState({ protocolName: protocolName('KK'), initiator: false, s }),
    ],
    [
      'XX with rs (the peer sends it)',
      () => new HandshakeState({ protocolName: protocolName('XX'), initiator: true, s, rs }),
    ],
    [
      'NN with rs',
      () => new HandshakeState({ protocolName: protocolName('NN'), initiator: false, rs }),
    ],
    [
      'NN with re',
      () => new HandshakeState({ protocolName: protocolName('NN'), initiator: true, re: rs }),
    ],
    [
      'a 31-byte rs',
      () =>
        new HandshakeState({
          protocolName: protocolName('NK'),
          initiator: true,
          rs: new Uint8Array(31),
        }),
    ],
    [
      'a 33-byte secret key',
      () =>
        new HandshakeState({
          protocolName: protocolName('NK'),
          initiator: false,
          s: { secretKey: new Uint8Array(33), publicKey: s.publicKey },
        }),
    ],
    [
      'a 0-byte public key',
      () =>
        new HandshakeState({
          protocolName: protocolName('NK'),
          initiator: false,
          s: { secretKey: s.secretKey, publicKey: new Uint8Array(0) },
        }),
    ],
    [
      'a short fixed ephemeral',
      () =>
        new HandshakeState({
          protocolName: protocolName('NN'),
          initiator: true,
          e: { secretKey: new Uint8Array(16), publicKey: s.publicKey },
        }),
    ],
  ])('refuses %s', (_name, build) => {
    expectNoiseError(build, 'ERR_NOISE_KEY');
  });

  it('accepts an unused static key pair (NN, NK initiator)', () => {
    expect(
      () => new HandshakeState({ protocolName: protocolName('NN'), initiator: true, s }),
    ).not.toThrow();
    expect(
      () => new HandshakeState({ protocolName: protocolName('NK'), initiator: true, s, rs }),
    ).not.toThrow();
  });

  it.each(['NK', 'XK', 'IK'] as const)(
    '%s initiator with a low-order rs fails with ERR_NOISE_KEY',
    (pattern) => {
      const state = new HandshakeState({
        protocolName: protocolName(pattern),
        initiator: true,
        s,
        rs: new Uint8Array(32),
      });
      expectNoiseError(() => state.writeMessage(EMPTY), 'ERR_NOISE_KEY');
      expectNoiseError(() => state.writeMessage(EMPTY), 'ERR_NOISE_STATE');
    },
  );

  it('NK responder reading a low-order ephemeral fails with ERR_NOISE_KEY', () => {
    const responder = new HandshakeState({ protocolName: protocolName('NK'), initiator: false, s });
    const message = new Uint8Array(48);
    message[0] = 1;
    expectNoiseError(() => responder.readMessage(message), 'ERR_NOISE_KEY');
  });

  it('XX responder that read a low-order ephemeral fails at its own write with ERR_NOISE_KEY', () => {
    const responder = new HandshakeState({ protocolName: protocolName('XX'), initiator: false, s });
    responder.readMessage(new Uint8Array(32));
    expectNoiseError(() => responder.writeMessage(EMPTY), 'ERR_NOISE_KEY');
  });

  it('does not let the caller change keys after construction', () => {
    const peer = poolKey(5);
    const pinned = peer.publicKey.slice();
    const initiator = new HandshakeState({
      protocolName: protocolName('NK'),
      initiator: true,
      rs: pinned,
    });
    pinned.fill(0);
    const responder = new HandshakeState({
      protocolName: protocolName('NK'),
      initiator: false,
      s: peer,
    });
    peer.secretKey.fill(0);
    runHandshake(initiator, responder);
    expect(initiator.remoteStaticKey).toEqual(poolKey(5).publicKey);
  });
});

describe('HandshakeState state machine', () => {
  function nk(): { initiator: HandshakeState; responder: HandshakeState } {
    return handshakePair('NK', 'SHA256', {
      initiatorStatic: 0,
      responderStatic: 1,
      initiatorEphemeral: 2,
      responderEphemeral: 3,
    });
  }

  it('refuses to write out of turn', () => {
    expectNoiseError(() => nk().responder.writeMessage(EMPTY), 'ERR_NOISE_STATE');
    const { initiator, responder } = nk();
    responder.readMessage(initiator.writeMessage(EMPTY));
    expectNoiseError(() => initiator.writeMessage(EMPTY), 'ERR_NOISE_STATE');
  });

  it('refuses to read out of turn', () => {
    expectNoiseError(() => nk().initiator.readMessage(new Uint8Array(48)), 'ERR_NOISE_STATE');
  });

  it('refuses everything but split() and getHandshakeHash() once complete', () => {
    const { initiator, responder } = nk();
    expect(initiator.isComplete).toBe(false);
    expectNoiseError(() => initiator.split(), 'ERR_NOISE_STATE');
    expectNoiseError(() => initiator.getHandshakeHash(), 'ERR_NOISE_STATE');
    runHandshake(initiator, responder);
    expect(initiator.isComplete).toBe(true);
    expectNoiseError(() => initiator.writeMessage(EMPTY), 'ERR_NOISE_STATE');
    expectNoiseError(() => responder.readMessage(new Uint8Array(48)), 'ERR_NOISE_STATE');
    // A stray call after completion must not cost the session.
    const [c1] = initiator.split();
    const [r1] = responder.split();
    expect(r1.decryptWithAd(EMPTY, c1.encryptWithAd(EMPTY, new Uint8Array([1])))).toEqual(
      new Uint8Array([1]),
    );
    expectNoiseError(() => initiator.split(), 'ERR_NOISE_STATE');
    expect(initiator.isComplete).toBe(true);
    expect(initiator.getHandshakeHash()).toEqual(responder.getHandshakeHash());
  });

  it('is poisoned after a failed read', () => {
    const { initiator, responder } = nk();
    const message = initiator.writeMessage(new Uint8Array([1, 2, 3]));
    expectNoiseError(
      () => responder.readMessage(message.subarray(0, 47)),
      'ERR_NOISE_MESSAGE_LENGTH',
    );
    expectNoiseError(() => responder.readMessage(message), 'ERR_NOISE_STATE');
    expectNoiseError(() => responder.writeMessage(EMPTY), 'ERR_NOISE_STATE');
    expectNoiseError(() => responder.split(), 'ERR_NOISE_STATE');
    expectNoiseError(() => responder.getHandshakeHash(), 'ERR_NOISE_STATE');
    expect(responder.isComplete).toBe(false);
  });

  it('is poisoned after a forged final message', () => {
    const { initiator, responder } = nk();
    responder.readMessage(initiator.writeMessage(EMPTY));
    const message = responder.writeMessage(EMPTY);
    expectNoiseError(() => initiator.readMessage(flipBit(message, 300)), 'ERR_NOISE_DECRYPT');
    expect(initiator.isComplete).toBe(false);
    expectNoiseError(() => initiator.readMessage(message), 'ERR_NOISE_STATE');
  });

  it('refuses messages shorter than their tokens', () => {
    for (const length of [0, 31, 32, 47]) {
      const { responder } = nk();
      expectNoiseError(
        () => responder.readMessage(new Uint8Array(length)),
        'ERR_NOISE_MESSAGE_LENGTH',
      );
    }
    const xx = handshakePair('XX', 'SHA256', { initiatorStatic: 0, responderStatic: 1 });
    expectNoiseError(
      () => xx.responder.readMessage(new Uint8Array(31)),
      'ERR_NOISE_MESSAGE_LENGTH',
    );
  });

  it('refuses messages over 65535 bytes, read or written', () => {
    const { initiator, responder } = nk();
    expectNoiseError(
      () => responder.readMessage(new Uint8Array(MAX_MESSAGE_LENGTH + 1)),
      'ERR_NOISE_MESSAGE_LENGTH',
    );
    expectNoiseError(
      () => initiator.writeMessage(new Uint8Array(MAX_MESSAGE_LENGTH - 47)),
      'ERR_NOISE_MESSAGE_LENGTH',
    );
    const fits = nk();
    const message = fits.initiator.writeMessage(new Uint8Array(MAX_MESSAGE_LENGTH - 48));
    expect(message).toHaveLength(MAX_MESSAGE_LENGTH);
    expect(fits.responder.readMessage(message)).toHaveLength(MAX_MESSAGE_LENGTH - 48);
  });

  it('throws TypeError for a message that is not bytes', () => {
    const { responder } = nk();
    const notBytes: unknown = [1, 2, 3];
    // @ts-expect-error: deliberately wrong type, as a JavaScript caller could pass
    expect(() => responder.readMessage(notBytes)).toThrow(TypeError);
    expect(() => responder.readMessage(new Uint8Array(0))).toThrow(NoiseError);
  });

  it('uses fresh ephemerals per handshake', () => {
    const a = handshakePair('NN', 'SHA256', { initiatorStatic: 0, responderStatic: 1 });
    const b = handshakePair('NN', 'SHA256', { initiatorStatic: 0, responderStatic: 1 });
    expect(a.initiator.writeMessage(EMPTY)).not.toEqual(b.initiator.writeMessage(EMPTY));
  });
});
