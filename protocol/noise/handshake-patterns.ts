/**
 * The handshake patterns we support (spec §7.4–7.5), written once as data so
 * the state machine has no per-pattern code. Deferred, PSK and fallback
 * patterns are left out on purpose: nothing in the project uses them.
 */

export type PatternName = 'NN' | 'NK' | 'NX' | 'XK' | 'XX' | 'IK' | 'KK';
export type PreMessageToken = 'e' | 's';
export type DhToken = 'ee' | 'es' | 'se' | 'ss';
export type MessageToken = 'e' | 's' | DhToken;

export interface HandshakePattern {
  readonly name: PatternName;
  readonly initiatorPreMessage: readonly PreMessageToken[];
  readonly responderPreMessage: readonly PreMessageToken[];
  /** Message i is written by the initiator when i is even. */
  readonly messages: readonly (readonly MessageToken[])[];
}

function pattern(
  name: PatternName,
  initiatorPreMessage: readonly PreMessageToken[],
  responderPreMessage: readonly PreMessageToken[],
  messages: readonly (readonly MessageToken[])[],
): HandshakePattern {
  return Object.freeze({
    name,
    initiatorPreMessage: Object.freeze([...initiatorPreMessage]),
    responderPreMessage: Object.freeze([...responderPreMessage]),
    messages: Object.freeze(messages.map((tokens) => Object.freeze([...tokens]))),
  });
}

export const HANDSHAKE_PATTERNS: Readonly<Record<PatternName, HandshakePattern>> = Object.freeze({
  NN: pattern('NN', [], [], [['e'], ['e', 'ee']]),
  NK: pattern(
    'NK',
    [],
    ['s'],
    [
      ['e', 'es'],
      ['e', 'ee'],
    ],
  ),
  NX: pattern('NX', [], [], [['e'], ['e', 'ee', 's', 'es']]),
  XK: pattern(
    'XK',
    [],
    ['s'],
    [
      ['e', 'es'],
      ['e', 'ee'],
      ['s', 'se'],
    ],
  ),
  XX: pattern('XX', [], [], [['e'], ['e', 'ee', 's', 'es'], ['s', 'se']]),
  IK: pattern(
    'IK',
    [],
    ['s'],
    [
      ['e', 'es', 's', 'ss'],
      ['e', 'ee', 'se'],
    ],
  ),
  KK: pattern(
    'KK',
    ['s'],
    ['s'],
    [
      ['e', 'es', 'ss'],
      ['e', 'ee', 'se'],
    ],
  ),
});

export function isPatternName(name: string): name is PatternName {
  return Object.hasOwn(HANDSHAKE_PATTERNS, name);
}

/** Which keys one side must hold before the handshake starts. */
export interface RequiredKeys {
  /** The local static key pair: sent during the handshake or known to the peer in advance. */
  readonly s: boolean;
  /** The local ephemeral key pair, only when it is a pre-message (never, for our patterns). */
  readonly e: boolean;
  /** The peer's static public key, known in advance. */
  readonly rs: boolean;
  /** The peer's ephemeral public key, known in advance (never, for our patterns). */
  readonly re: boolean;
}

export function requiredKeys(handshake: HandshakePattern, initiator: boolean): RequiredKeys {
  const localPre = initiator ? handshake.initiatorPreMessage : handshake.responderPreMessage;
  const remotePre = initiator ? handshake.responderPreMessage : handshake.initiatorPreMessage;
  const sendsStatic = handshake.messages.some(
    (tokens, index) => index % 2 === (initiator ? 0 : 1) && tokens.includes('s'),
  );
  return {
    s: localPre.includes('s') || sendsStatic,
    e: localPre.includes('e'),
    rs: remotePre.includes('s'),
    re: remotePre.includes('e'),
  };
}
