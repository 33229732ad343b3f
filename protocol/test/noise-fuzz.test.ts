/**
 * Fuzzes every Noise decoder: handshake readMessage (NK and XX, each message a
 * peer can send us) and CipherState.decryptWithAd. Inputs are random bytes and
 * mutations of valid messages; the only exception allowed out is NoiseError.
 *
 * X25519 costs about a millisecond, so the split is deliberate: most inputs go
 * to the paths that fail or finish before any DH (transport decryption, XX
 * message 1), and a few thousand to the paths that need one or two.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { NoiseError } from '../errors.ts';
import { CipherState } from '../noise/cipher-state.ts';
import type { HandshakeState } from '../noise/handshake-state.ts';
import type { PatternName } from '../noise/handshake-patterns.ts';
import { FUZZ_RUNS, scaledRuns } from './fuzz-helpers.ts';
import { handshakePair } from './noise-helpers.ts';

const MIN_TOTAL_INPUTS = FUZZ_RUNS;
let fed = 0;

/** Runs one decoder call; a NoiseError is an accepted outcome, anything else fails the property. */
function feed(decode: () => unknown): void {
  fed++;
  try {
    decode();
  } catch (err) {
    if (!(err instanceof NoiseError)) throw err;
  }
}

type Mutation =
  | { kind: 'flip'; at: number; bit: number }
  | { kind: 'set'; at: number; value: number }
  | { kind: 'truncate'; length: number }
  | { kind: 'extend'; bytes: Uint8Array }
  | { kind: 'insert'; at: number; bytes: Uint8Array }
  | { kind: 'delete'; at: number; count: number };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.nat({ max: 7 }) }),
  fc.record({ kind: fc.constant('set' as const), at: fc.nat(), value: fc.nat({ max: 255 }) }),
  fc.record({ kind: fc.constant('truncate' as const), length: fc.nat() }),
  fc.record({
    kind: fc.constant('extend' as const),
    bytes: fc.uint8Array({ minLength: 1, maxLength: 40 }),
  }),
  fc.record({
    kind: fc.constant('insert' as const),
    at: fc.nat(),
    bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }),
  }),
  fc.record({
    kind: fc.constant('delete' as const),
    at: fc.nat(),
    count: fc.integer({ min: 1, max: 8 }),
  }),
);
const mutations = fc.array(mutation, { minLength: 1, maxLength: 4 });
// Lengths drawn uniformly from 0..200: fast-check's default size bias would keep
// nearly every input shorter than the shortest valid message.
const randomBytes = fc
  .integer({ min: 0, max: 200 })
  .chain((length) => fc.uint8Array({ minLength: length, maxLength: length }));

function mutate(message: Uint8Array, edits: readonly Mutation[]): Uint8Array {
  let out = message.slice();
  for (const edit of edits) {
    const at = out.length === 0 ? 0 : ('at' in edit ? edit.at : 0) % out.length;
    switch (edit.kind) {
      case 'flip':
        if (out.length > 0) out[at] = (out[at] ?? 0) ^ (1 << edit.bit);
        break;
      case 'set':
        if (out.length > 0) out[at] = edit.value;
        break;
      case 'truncate':
        out = out.slice(0, edit.length % (out.length + 1));
        break;
      case 'extend':
        out = Uint8Array.from([...out, ...edit.bytes]);
        break;
      case 'insert':
        out = Uint8Array.from([...out.subarray(0, at), ...edit.bytes, ...out.subarray(at)]);
        break;
      case 'delete':
        out = Uint8Array.from([...out.subarray(0, at), ...out.subarray(at + edit.count)]);
        break;
    }
  }
  return out;
}

/** Index into the precomputed valid messages. */
const pick = fc.nat({ max: 3 });
const PAYLOADS = [0, 1, 17, 100].map((length) => new Uint8Array(length).fill(0x61));

/** Fixed keys throughout, so every fresh state is the same state and precomputed messages stay valid. */
function pair(pattern: PatternName): { initiator: HandshakeState; responder: HandshakeState } {
  return handshakePair(pattern, 'SHA256', {
    initiatorStatic: 0,
    responderStatic: 1,
    initiatorEphemeral: 2,
    responderEphemeral: 3,
  });
}

function at<T>(list: readonly T[], index: number): T {
  const item = list[index];
  if (item === undefined) throw new Error(`no item ${index}`);
  return item;
}

/** Valid message `index` of `pattern` carrying each of PAYLOADS (earlier messages empty). */
function validMessages(pattern: PatternName, index: number): Uint8Array[] {
  return PAYLOADS.map((payload) => {
    const { initiator, responder } = pair(pattern);
    for (let i = 0; i < index; i++) {
      const [sender, receiver] = i % 2 === 0 ? [initiator, responder] : [responder, initiator];
      receiver.readMessage(sender.writeMessage(new Uint8Array(0)));
    }
    return (index % 2 === 0 ? initiator : responder).writeMessage(payload);
  });
}

/** The valid transcript with empty payloads, which every fresh pair(pattern) reproduces. */
function transcript(pattern: PatternName): Uint8Array[] {
  const { initiator, responder } = pair(pattern);
  const messages: Uint8Array[] = [];
  for (let i = 0; !initiator.isComplete; i++) {
    const [sender, receiver] = i % 2 === 0 ? [initiator, responder] : [responder, initiator];
    const message = sender.writeMessage(new Uint8Array(0));
    receiver.readMessage(message);
    messages.push(message);
  }
  return messages;
}

const TRANSCRIPTS: Readonly<Record<'NK' | 'XX', Uint8Array[]>> = {
  NK: transcript('NK'),
  XX: transcript('XX'),
};

/**
 * A fresh state of `pattern` about to read message `index`. Only the reader is
 * driven (the peer's earlier messages are replayed from the transcript), which
 * halves the DH work per input.
 */
function readerAt(pattern: 'NK' | 'XX', index: number): HandshakeState {
  const { initiator, responder } = pair(pattern);
  const reader = index % 2 === 0 ? responder : initiator;
  for (let i = 0; i < index; i++) {
    const readerWrites = (i % 2 === 0) === (reader === initiator);
    if (readerWrites) reader.writeMessage(new Uint8Array(0));
    else reader.readMessage(at(TRANSCRIPTS[pattern], i));
  }
  return reader;
}

interface DecoderCase {
  name: string;
  pattern: 'NK' | 'XX';
  index: number;
  random: number;
  mutated: number;
}

// Run counts measured on 2 cores: XX message 1 needs no DH; the others need one or two.
// BU_FUZZ_RUNS scales them all (fuzz-helpers.ts).
const handshakeCases: DecoderCase[] = (
  [
    { name: 'XX message 1 (responder)', pattern: 'XX', index: 0, random: 20_000, mutated: 20_000 },
    { name: 'NK message 1 (responder)', pattern: 'NK', index: 0, random: 600, mutated: 800 },
    { name: 'NK message 2 (initiator)', pattern: 'NK', index: 1, random: 200, mutated: 300 },
    { name: 'XX message 2 (initiator)', pattern: 'XX', index: 1, random: 300, mutated: 500 },
    { name: 'XX message 3 (responder)', pattern: 'XX', index: 2, random: 100, mutated: 200 },
  ] satisfies DecoderCase[]
).map((c) => ({ ...c, random: scaledRuns(c.random), mutated: scaledRuns(c.mutated) }));
const CIPHER_RUNS = scaledRuns(30_000);

describe('Noise decoders under fuzzing', () => {
  describe.each(handshakeCases)('readMessage: $name', ({ pattern, index, random, mutated }) => {
    const valid = validMessages(pattern, index);

    it('accepts the unmutated messages (so mutations start from valid input)', () => {
      for (const [i, message] of valid.entries()) {
        expect(readerAt(pattern, index).readMessage(message)).toEqual(at(PAYLOADS, i));
      }
    });

    it(`survives ${random} random inputs`, () => {
      fc.assert(
        fc.property(randomBytes, (bytes) => {
          feed(() => readerAt(pattern, index).readMessage(bytes));
        }),
        { numRuns: random },
      );
    });

    it(`survives ${mutated} mutated messages`, () => {
      fc.assert(
        fc.property(pick, mutations, (which, edits) => {
          const message = mutate(at(valid, which), edits);
          feed(() => readerAt(pattern, index).readMessage(message));
        }),
        { numRuns: mutated },
      );
    });
  });

  describe('readMessage: oversized input', () => {
    it('refuses messages over 65535 bytes', () => {
      for (const length of [65_536, 65_537, 100_000]) {
        for (const pattern of ['XX', 'NK'] as const) {
          fed++;
          expect(() => readerAt(pattern, 0).readMessage(new Uint8Array(length))).toThrow(
            expect.objectContaining({ name: 'NoiseError', code: 'ERR_NOISE_MESSAGE_LENGTH' }),
          );
        }
      }
    });
  });

  describe('CipherState.decryptWithAd', () => {
    const key = new Uint8Array(32).fill(0x42);
    const ad = new Uint8Array([1, 2, 3]);
    const valid = PAYLOADS.map((payload) => new CipherState(key).encryptWithAd(ad, payload));

    it(`survives ${CIPHER_RUNS} random inputs`, () => {
      fc.assert(
        fc.property(randomBytes, (bytes) => {
          feed(() => new CipherState(key).decryptWithAd(ad, bytes));
        }),
        { numRuns: CIPHER_RUNS },
      );
    });

    it(`survives ${CIPHER_RUNS} mutated ciphertexts`, () => {
      fc.assert(
        fc.property(pick, mutations, (which, edits) => {
          const ciphertext = mutate(at(valid, which), edits);
          feed(() => new CipherState(key).decryptWithAd(ad, ciphertext));
        }),
        { numRuns: CIPHER_RUNS },
      );
    });
  });

  // Declared last, so it runs after every fuzz test above (vitest runs a file's tests in order).
  it(`fed at least ${MIN_TOTAL_INPUTS} inputs to the decoders`, () => {
    expect(fed).toBeGreaterThanOrEqual(MIN_TOTAL_INPUTS);
  });
});
