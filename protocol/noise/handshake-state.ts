/**
 * Noise HandshakeState (spec §5.3): runs one handshake pattern as initiator or
 * responder. Pure computation: the caller moves the returned messages.
 */
import { concatBytes } from '../bytes.ts';
import { NoiseError } from '../errors.ts';
import type { CipherState } from './cipher-state.ts';
import { DHLEN, MAX_MESSAGE_LENGTH, TAGLEN, dh, generateKeyPair } from './crypto-suite.ts';
import type { KeyPair } from './crypto-suite.ts';
import { requiredKeys } from './handshake-patterns.ts';
import type { DhToken, HandshakePattern, MessageToken } from './handshake-patterns.ts';
import { parseProtocolName } from './protocol-name.ts';
import { SymmetricState } from './symmetric-state.ts';
import { assertBytes, assertKey } from './validate.ts';

export interface HandshakeOptions {
  /** `Noise_<NN|NK|NX|XK|XX|IK|KK>_25519_ChaChaPoly_<SHA256|BLAKE2s>`. */
  protocolName: string;
  initiator: boolean;
  /** Bytes both sides must agree on; a mismatch makes the first encrypted payload fail. */
  prologue?: Uint8Array | undefined;
  /** The local static key pair; `publicKey` must belong to `secretKey` (see keyPairFromSecret). */
  s?: KeyPair | undefined;
  /**
   * A fixed local ephemeral key pair. Only for reproducing test vectors: reusing
   * an ephemeral key destroys the handshake's forward secrecy.
   */
  e?: KeyPair | undefined;
  /** The peer's static public key, for patterns where it is known in advance (NK, XK, IK, KK). */
  rs?: Uint8Array | undefined;
  /** The peer's ephemeral public key; no supported pattern uses it. */
  re?: Uint8Array | undefined;
}

type Phase = 'handshake' | 'complete' | 'split' | 'failed';

function copyKeyPair(name: string, pair: KeyPair): KeyPair {
  if (typeof pair !== 'object' || pair === null) {
    throw new TypeError(`${name}: expected a key pair { secretKey, publicKey }`);
  }
  assertKey(`${name}.secretKey`, pair.secretKey, DHLEN);
  assertKey(`${name}.publicKey`, pair.publicKey, DHLEN);
  return { secretKey: pair.secretKey.slice(), publicKey: pair.publicKey.slice() };
}

function copyPublicKey(name: string, key: Uint8Array): Uint8Array {
  assertKey(name, key, DHLEN);
  return key.slice();
}

export class HandshakeState {
  readonly #initiator: boolean;
  readonly #pattern: HandshakePattern;
  readonly #symmetric: SymmetricState;
  readonly #s: KeyPair | undefined;
  #e: KeyPair | undefined;
  #fixedEphemeral: KeyPair | undefined;
  #rs: Uint8Array | undefined;
  #re: Uint8Array | undefined;
  #messageIndex = 0;
  #phase: Phase = 'handshake';

  constructor(options: HandshakeOptions) {
    if (typeof options !== 'object' || options === null) {
      throw new TypeError('options: expected an object');
    }
    const { pattern, hash } = parseProtocolName(options.protocolName);
    if (typeof options.initiator !== 'boolean') {
      throw new TypeError(`initiator: expected a boolean, got ${typeof options.initiator}`);
    }
    this.#initiator = options.initiator;
    this.#pattern = pattern;
    const role = this.#initiator ? 'initiator' : 'responder';
    const needs = requiredKeys(pattern, this.#initiator);

    this.#s = options.s === undefined ? undefined : copyKeyPair('s', options.s);
    this.#fixedEphemeral = options.e === undefined ? undefined : copyKeyPair('e', options.e);
    this.#rs = options.rs === undefined ? undefined : copyPublicKey('rs', options.rs);
    this.#re = options.re === undefined ? undefined : copyPublicKey('re', options.re);

    if (needs.s && this.#s === undefined) {
      throw new NoiseError('ERR_NOISE_KEY', `${pattern.name} ${role} needs a static key pair (s)`);
    }
    if (needs.e && this.#fixedEphemeral === undefined) {
      throw new NoiseError('ERR_NOISE_KEY', `${pattern.name} ${role} needs an ephemeral key (e)`);
    }
    // A remote key the pattern delivers in-band must not also come from the caller:
    // the spec requires it to be empty, and we would otherwise report a key the
    // peer never proved it holds.
    for (const [name, needed, value] of [
      ['rs', needs.rs, this.#rs],
      ['re', needs.re, this.#re],
    ] as const) {
      if (needed && value === undefined) {
        throw new NoiseError(
          'ERR_NOISE_KEY',
          `${pattern.name} ${role} needs the peer's key (${name})`,
        );
      }
      if (!needed && value !== undefined) {
        throw new NoiseError(
          'ERR_NOISE_KEY',
          `${pattern.name} ${role} must not be given ${name}: it is not a pre-message key`,
        );
      }
    }

    this.#symmetric = new SymmetricState(options.protocolName, hash);
    const prologue = options.prologue ?? new Uint8Array(0);
    assertBytes('prologue', prologue);
    this.#symmetric.mixHash(prologue);

    if (needs.e) this.#e = this.#fixedEphemeral;
    const initiatorKeys = this.#initiator ? this.#localPublic() : this.#remotePublic();
    const responderKeys = this.#initiator ? this.#remotePublic() : this.#localPublic();
    for (const token of pattern.initiatorPreMessage) this.#mixPreMessage(initiatorKeys(token));
    for (const token of pattern.responderPreMessage) this.#mixPreMessage(responderKeys(token));
  }

  /** True once every handshake message has been written or read. */
  get isComplete(): boolean {
    return this.#phase === 'complete' || this.#phase === 'split';
  }

  /** The peer's static public key once known (in advance or received), else `undefined`. */
  get remoteStaticKey(): Uint8Array | undefined {
    return this.#rs?.slice();
  }

  /**
   * Builds the next handshake message around `payload`. Any error leaves this
   * handshake unusable: start a new one.
   */
  writeMessage(payload: Uint8Array): Uint8Array {
    return this.#guard('writeMessage', () => {
      assertBytes('payload', payload);
      const tokens = this.#nextTokens('write');
      const length = this.#overhead(tokens) + payload.length;
      if (length > MAX_MESSAGE_LENGTH) {
        throw new NoiseError(
          'ERR_NOISE_MESSAGE_LENGTH',
          `payload: the message would be ${length} bytes, over ${MAX_MESSAGE_LENGTH}`,
        );
      }
      const parts: Uint8Array[] = [];
      for (const token of tokens) {
        if (token === 'e') {
          const e = this.#fixedEphemeral ?? generateKeyPair();
          this.#fixedEphemeral = undefined;
          this.#e = e;
          parts.push(e.publicKey.slice());
          this.#symmetric.mixHash(e.publicKey);
        } else if (token === 's') {
          parts.push(this.#symmetric.encryptAndHash(this.#localStatic().publicKey));
        } else {
          this.#mixDh(token);
        }
      }
      parts.push(this.#symmetric.encryptAndHash(payload));
      this.#advance();
      return concatBytes(...parts);
    });
  }

  /**
   * Consumes the peer's next handshake message and returns its payload. Any
   * error (short, long, forged or malformed message) leaves this handshake
   * unusable: start a new one.
   */
  readMessage(message: Uint8Array): Uint8Array {
    return this.#guard('readMessage', () => {
      assertBytes('message', message);
      const tokens = this.#nextTokens('read');
      if (message.length > MAX_MESSAGE_LENGTH) {
        throw new NoiseError(
          'ERR_NOISE_MESSAGE_LENGTH',
          `message: expected at most ${MAX_MESSAGE_LENGTH} bytes, got ${message.length}`,
        );
      }
      const minimum = this.#overhead(tokens);
      if (message.length < minimum) {
        throw new NoiseError(
          'ERR_NOISE_MESSAGE_LENGTH',
          `message: expected at least ${minimum} bytes, got ${message.length}`,
        );
      }
      let offset = 0;
      const take = (length: number): Uint8Array => {
        const chunk = message.subarray(offset, offset + length);
        offset += length;
        return chunk;
      };
      for (const token of tokens) {
        if (token === 'e') {
          const re = take(DHLEN).slice();
          this.#re = re;
          this.#symmetric.mixHash(re);
        } else if (token === 's') {
          const length = this.#symmetric.hasKey() ? DHLEN + TAGLEN : DHLEN;
          this.#rs = this.#symmetric.decryptAndHash(take(length));
        } else {
          this.#mixDh(token);
        }
      }
      const payload = this.#symmetric.decryptAndHash(message.subarray(offset));
      this.#advance();
      return payload;
    });
  }

  /**
   * The transport cipher states, `[initiator→responder, responder→initiator]`.
   * Callable once: two copies of the same cipher state would reuse nonces.
   */
  split(): [CipherState, CipherState] {
    if (this.#phase !== 'complete') {
      throw this.#stateError('split');
    }
    this.#phase = 'split';
    return this.#symmetric.split();
  }

  /** The final handshake hash `h`, for channel binding. */
  getHandshakeHash(): Uint8Array {
    if (!this.isComplete) throw this.#stateError('getHandshakeHash');
    return this.#symmetric.getHandshakeHash();
  }

  #guard<T>(operation: string, step: () => T): T {
    // Outside the handshake phase nothing is attempted, so nothing is poisoned:
    // a stray call after completion must not take away the split() still to come.
    if (this.#phase !== 'handshake') throw this.#stateError(operation);
    try {
      return step();
    } catch (err) {
      // A half-applied message leaves h, ck and the keys out of step with the
      // peer; continuing from there is never correct, so no later call may.
      this.#phase = 'failed';
      this.#wipe();
      throw err;
    }
  }

  #nextTokens(direction: 'write' | 'read'): readonly MessageToken[] {
    const initiatorTurn = this.#messageIndex % 2 === 0;
    const ourTurn = initiatorTurn === this.#initiator;
    if (ourTurn !== (direction === 'write')) {
      throw new NoiseError(
        'ERR_NOISE_STATE',
        `${direction}Message: it is the ${ourTurn ? 'local' : "peer's"} turn to write ` +
          `message ${this.#messageIndex + 1} of ${this.#pattern.name}`,
      );
    }
    const tokens = this.#pattern.messages[this.#messageIndex];
    if (tokens === undefined) throw this.#stateError(`${direction}Message`);
    return tokens;
  }

  /** Bytes a message with these tokens adds around its payload, given the current key state. */
  #overhead(tokens: readonly MessageToken[]): number {
    let keyed = this.#symmetric.hasKey();
    let length = 0;
    for (const token of tokens) {
      if (token === 'e') length += DHLEN;
      else if (token === 's') length += keyed ? DHLEN + TAGLEN : DHLEN;
      else keyed = true;
    }
    return length + (keyed ? TAGLEN : 0);
  }

  #mixDh(token: DhToken): void {
    let local: KeyPair | undefined;
    let remote: Uint8Array | undefined;
    switch (token) {
      case 'ee':
        [local, remote] = [this.#e, this.#re];
        break;
      case 'es':
        [local, remote] = this.#initiator ? [this.#e, this.#rs] : [this.#s, this.#re];
        break;
      case 'se':
        [local, remote] = this.#initiator ? [this.#s, this.#re] : [this.#e, this.#rs];
        break;
      case 'ss':
        [local, remote] = [this.#s, this.#rs];
        break;
    }
    if (local === undefined || remote === undefined) {
      // Unreachable with the built-in patterns; kept so a bad pattern table fails loudly.
      throw new NoiseError('ERR_NOISE_STATE', `${token}: a key it needs is not known yet`);
    }
    this.#symmetric.mixKey(dh(local.secretKey, remote));
  }

  #mixPreMessage(key: Uint8Array | undefined): void {
    if (key === undefined) throw new NoiseError('ERR_NOISE_KEY', 'a pre-message key is missing');
    this.#symmetric.mixHash(key);
  }

  #localPublic(): (token: 'e' | 's') => Uint8Array | undefined {
    return (token) => (token === 's' ? this.#s?.publicKey : this.#e?.publicKey);
  }

  #remotePublic(): (token: 'e' | 's') => Uint8Array | undefined {
    return (token) => (token === 's' ? this.#rs : this.#re);
  }

  #localStatic(): KeyPair {
    if (this.#s === undefined) throw new NoiseError('ERR_NOISE_KEY', 'no static key pair (s)');
    return this.#s;
  }

  #advance(): void {
    this.#messageIndex += 1;
    if (this.#messageIndex === this.#pattern.messages.length) {
      this.#phase = 'complete';
      this.#wipe();
    }
  }

  /** Our private copies of the secrets are no longer needed; don't leave them lying in memory. */
  #wipe(): void {
    this.#e?.secretKey.fill(0);
    this.#fixedEphemeral?.secretKey.fill(0);
    this.#s?.secretKey.fill(0);
    this.#e = undefined;
    this.#fixedEphemeral = undefined;
  }

  #stateError(operation: string): NoiseError {
    const reason: Record<Phase, string> = {
      handshake: 'the handshake is not complete',
      complete: 'the handshake is complete; use the cipher states from split()',
      split: 'the handshake is complete and split() was already called',
      failed: 'an earlier error ended this handshake; start a new one',
    };
    return new NoiseError('ERR_NOISE_STATE', `${operation}: ${reason[this.#phase]}`);
  }
}
