/** Shared fixtures for the Noise tests: precomputed keys (X25519 is slow) and handshake drivers. */
import { expect } from 'vitest';
import { NoiseError } from '../errors.ts';
import type { NoiseErrorCode } from '../errors.ts';
import { generateKeyPair } from '../noise/crypto-suite.ts';
import type { KeyPair } from '../noise/crypto-suite.ts';
import { HandshakeState } from '../noise/handshake-state.ts';
import { HANDSHAKE_PATTERNS, requiredKeys } from '../noise/handshake-patterns.ts';
import type { PatternName } from '../noise/handshake-patterns.ts';

/** A pool of key pairs generated once per test file; tests pick from it by index. */
export const KEY_POOL: readonly KeyPair[] = Array.from({ length: 12 }, () => generateKeyPair());

export function poolKey(index: number): KeyPair {
  const pair = KEY_POOL[index % KEY_POOL.length];
  if (pair === undefined) throw new Error('empty key pool');
  // Copies, because a finished HandshakeState zeroes the secrets it was given copies of,
  // and tests must never share one key buffer between two states by accident.
  return { secretKey: pair.secretKey.slice(), publicKey: pair.publicKey.slice() };
}

export type HashName = 'SHA256' | 'BLAKE2s';

export function protocolName(pattern: PatternName, hash: HashName = 'SHA256'): string {
  return `Noise_${pattern}_25519_ChaChaPoly_${hash}`;
}

export interface PairKeys {
  /** Static key pairs, or indexes into KEY_POOL. */
  initiatorStatic: number | KeyPair;
  responderStatic: number | KeyPair;
  /** Indexes into KEY_POOL for the ephemeral keys. */
  /** When given, ephemerals come from the pool too (fast); otherwise they are generated. */
  initiatorEphemeral?: number;
  responderEphemeral?: number;
}

export interface HandshakePair {
  initiator: HandshakeState;
  responder: HandshakeState;
  initiatorStatic: KeyPair;
  responderStatic: KeyPair;
}

/** Both sides of a handshake with exactly the keys the pattern needs. */
export function handshakePair(
  pattern: PatternName,
  hash: HashName,
  keys: PairKeys,
  prologue = new Uint8Array(0),
): HandshakePair {
  const name = protocolName(pattern, hash);
  const initiatorStatic =
    typeof keys.initiatorStatic === 'number' ? poolKey(keys.initiatorStatic) : keys.initiatorStatic;
  const responderStatic =
    typeof keys.responderStatic === 'number' ? poolKey(keys.responderStatic) : keys.responderStatic;
  const initNeeds = requiredKeys(HANDSHAKE_PATTERNS[pattern], true);
  const respNeeds = requiredKeys(HANDSHAKE_PATTERNS[pattern], false);
  const initiator = new HandshakeState({
    protocolName: name,
    initiator: true,
    prologue,
    s: initNeeds.s ? initiatorStatic : undefined,
    e: keys.initiatorEphemeral === undefined ? undefined : poolKey(keys.initiatorEphemeral),
    rs: initNeeds.rs ? responderStatic.publicKey : undefined,
  });
  const responder = new HandshakeState({
    protocolName: name,
    initiator: false,
    prologue,
    s: respNeeds.s ? responderStatic : undefined,
    e: keys.responderEphemeral === undefined ? undefined : poolKey(keys.responderEphemeral),
    rs: respNeeds.rs ? initiatorStatic.publicKey : undefined,
  });
  return { initiator, responder, initiatorStatic, responderStatic };
}

/**
 * Runs the handshake to completion, sending `payloads[i]` in message i (empty
 * when missing). Returns the handshake messages and what the receiver read.
 */
export function runHandshake(
  initiator: HandshakeState,
  responder: HandshakeState,
  payloads: readonly Uint8Array[] = [],
): { messages: Uint8Array[]; received: Uint8Array[] } {
  const messages: Uint8Array[] = [];
  const received: Uint8Array[] = [];
  for (let i = 0; !initiator.isComplete; i++) {
    const [sender, receiver] = i % 2 === 0 ? [initiator, responder] : [responder, initiator];
    const message = sender.writeMessage(payloads[i] ?? new Uint8Array(0));
    messages.push(message);
    received.push(receiver.readMessage(message));
  }
  return { messages, received };
}

export function flipBit(bytes: Uint8Array, bit: number): Uint8Array {
  const copy = bytes.slice();
  const index = Math.floor(bit / 8) % copy.length;
  copy[index] = (copy[index] ?? 0) ^ (1 << (bit % 8));
  return copy;
}

/** Asserts that `fn` throws a NoiseError with `code`. */
export function expectNoiseError(fn: () => unknown, code: NoiseErrorCode): void {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(NoiseError);
  expect(caught).toMatchObject({ code });
}
