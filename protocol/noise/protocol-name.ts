/** Parses `Noise_<PATTERN>_25519_ChaChaPoly_<SHA256|BLAKE2s>`, the only names we accept. */
import { NoiseError } from '../errors.ts';
import { BLAKE2S, SHA256 } from './crypto-suite.ts';
import type { NoiseHash } from './crypto-suite.ts';
import { HANDSHAKE_PATTERNS, isPatternName } from './handshake-patterns.ts';
import type { HandshakePattern } from './handshake-patterns.ts';

export interface ParsedProtocolName {
  readonly pattern: HandshakePattern;
  readonly hash: NoiseHash;
}

// Pattern modifiers (psk0, fallback, …) contain lower-case letters or digits, so they
// fail here rather than being silently ignored.
const PROTOCOL_NAME = /^Noise_([A-Z]{2})_25519_ChaChaPoly_(SHA256|BLAKE2s)$/;

export function parseProtocolName(protocolName: string): ParsedProtocolName {
  if (typeof protocolName !== 'string') {
    throw new TypeError(`protocolName: expected a string, got ${typeof protocolName}`);
  }
  const match = PROTOCOL_NAME.exec(protocolName);
  const patternName = match?.[1];
  const hashName = match?.[2];
  if (patternName === undefined || hashName === undefined || !isPatternName(patternName)) {
    throw new NoiseError(
      'ERR_NOISE_PROTOCOL_NAME',
      `protocolName: unsupported ${JSON.stringify(protocolName.slice(0, 80))}; expected ` +
        'Noise_<NN|NK|NX|XK|XX|IK|KK>_25519_ChaChaPoly_<SHA256|BLAKE2s>',
    );
  }
  return {
    pattern: HANDSHAKE_PATTERNS[patternName],
    hash: hashName === 'SHA256' ? SHA256 : BLAKE2S,
  };
}
