/**
 * The egress's side of tunnel admission (docs/protocol.md §1.8, docs/egress.md "Admission"):
 * checks the token in a handshake's first payload offline (the signing keys it trusts, its
 * own static key, the clock), then holds each token's quotas across every tunnel that
 * presents it: bytes in both directions, streams open at once, streams opened per minute.
 * Tokens are tracked until they have expired and no tunnel uses them; their number is bounded.
 */
import {
  decodeAdmissionToken,
  decodeHandshakeItems,
  type AdmissionRefusal,
} from '../protocol/admission.ts';
import { bytesToHex, constantTimeEqual } from '../protocol/bytes.ts';
import { AdmissionError } from '../protocol/errors.ts';
import { AdmissionKeyring } from '../server-kit/admission-keys.ts';

export interface AdmissionQuota {
  /** Stream payload bytes, up and down together, over the token's life. */
  readonly bytes: number;
  /** Streams open at once, over every tunnel presenting the token. */
  readonly streams: number;
  /** Streams opened per minute (a bucket of this size, refilled evenly). */
  readonly streamsPerMinute: number;
}

export const DEFAULT_QUOTA_CLASSES: Readonly<Record<string, AdmissionQuota>> = {
  standard: { bytes: 4 * 1024 ** 3, streams: 256, streamsPerMinute: 600 },
};

export interface AdmissionOptions {
  /** Raw Ed25519 public keys of the signing keys trusted: one, or two during a rotation. */
  readonly keys: readonly Uint8Array[];
  /** Quota classes by name; `standard` is what the signaling server issues by default. */
  readonly classes?: Readonly<Record<string, AdmissionQuota>>;
  /** Most tokens tracked at once (default 100,000). */
  readonly maxTokens?: number;
  /** Seconds a token is still taken after its expiry, for clocks that disagree (default 30). */
  readonly clockSkewSeconds?: number;
  readonly now?: () => number;
}

/** `'off'`: a private egress with no admission (anyone who can reach it may use it). */
export type AdmissionSetting = AdmissionOptions | 'off';

/** What a stream engine asks of an admitted tunnel's token. */
export interface StreamQuota {
  /** Counts payload bytes; false once the token's bytes are used up. */
  spend(bytes: number): boolean;
  /** Takes a stream; false when the token has as many open, or opened too many this minute. */
  openStream(): boolean;
  closeStream(): void;
}

/** One tunnel's hold on a token. */
export interface TokenPass extends StreamQuota {
  /** The tunnel is gone. */
  release(): void;
}

export type AdmissionVerdict =
  | { readonly admitted: true; readonly pass: TokenPass }
  | { readonly admitted: false; readonly reason: AdmissionRefusal; readonly message: string };

interface Ledger {
  readonly quota: AdmissionQuota;
  readonly expiresMs: number;
  bytes: number;
  streams: number;
  tunnels: number;
  /** Stream starts left in the bucket, and when it was last refilled. */
  bucket: number;
  refilledMs: number;
}

export class AdmissionGate {
  readonly #keyring: AdmissionKeyring;
  readonly #egress: Uint8Array;
  readonly #classes: Readonly<Record<string, AdmissionQuota>>;
  readonly #maxTokens: number;
  readonly #skewMs: number;
  readonly #now: () => number;
  readonly #ledgers = new Map<string, Ledger>();

  /** `egressPublicKey`: this egress's static X25519 key, which a token must name. */
  constructor(options: AdmissionOptions, egressPublicKey: Uint8Array) {
    if (options.keys.length < 1 || options.keys.length > 2) {
      throw new RangeError(`admission keys: expected one or two, got ${options.keys.length}`);
    }
    this.#keyring = new AdmissionKeyring(options.keys);
    this.#egress = egressPublicKey;
    this.#classes = options.classes ?? DEFAULT_QUOTA_CLASSES;
    this.#maxTokens = options.maxTokens ?? 100_000;
    this.#skewMs = (options.clockSkewSeconds ?? 30) * 1000;
    this.#now = options.now ?? Date.now;
  }

  /** Tokens tracked now. */
  get tokens(): number {
    return this.#ledgers.size;
  }

  /** Checks message 1's payload. */
  admit(payload: Uint8Array): AdmissionVerdict {
    const refuse = (reason: AdmissionRefusal, message: string): AdmissionVerdict => ({
      admitted: false,
      reason,
      message,
    });
    let token;
    try {
      const bytes = decodeHandshakeItems(payload).get('admission-token');
      if (bytes === undefined) return refuse('missing', 'no admission token in the handshake');
      token = decodeAdmissionToken(bytes);
    } catch (err) {
      if (err instanceof AdmissionError) return refuse('malformed', err.message);
      throw err;
    }
    if (!this.#keyring.knows(token)) {
      return refuse('unknown-key', 'the token is signed with a key this egress does not trust');
    }
    if (!this.#keyring.verifies(token)) return refuse('forged', 'the token signature is wrong');
    if (!constantTimeEqual(token.egress, this.#egress)) {
      return refuse('wrong-egress', 'the token was issued for another egress');
    }
    const now = this.#now();
    const expiresMs = token.expires * 1000;
    if (now > expiresMs + this.#skewMs) {
      return refuse('expired', `the token expired ${Math.round((now - expiresMs) / 1000)} s ago`);
    }
    const quota = Object.hasOwn(this.#classes, token.quotaClass)
      ? this.#classes[token.quotaClass]
      : undefined;
    if (quota === undefined) {
      return refuse('unknown-class', `no quota class "${token.quotaClass}" here`);
    }
    const id = bytesToHex(token.tokenId);
    let ledger = this.#ledgers.get(id);
    if (ledger === undefined) {
      if (this.#ledgers.size >= this.#maxTokens) this.#sweep(now);
      if (this.#ledgers.size >= this.#maxTokens) {
        return refuse('exhausted', `this egress tracks ${this.#maxTokens} tokens already`);
      }
      ledger = {
        quota,
        expiresMs: expiresMs + this.#skewMs,
        bytes: 0,
        streams: 0,
        tunnels: 0,
        bucket: quota.streamsPerMinute,
        refilledMs: now,
      };
      this.#ledgers.set(id, ledger);
    }
    if (ledger.bytes >= quota.bytes) {
      return refuse('exhausted', `the token's ${quota.bytes} bytes are used up`);
    }
    ledger.tunnels++;
    return { admitted: true, pass: this.#pass(id, ledger) };
  }

  #pass(id: string, ledger: Ledger): TokenPass {
    let released = false;
    let streams = 0;
    return {
      spend: (bytes) => {
        ledger.bytes += bytes;
        return ledger.bytes < ledger.quota.bytes;
      },
      openStream: () => {
        const now = this.#now();
        const perMs = ledger.quota.streamsPerMinute / 60_000;
        ledger.bucket = Math.min(
          ledger.quota.streamsPerMinute,
          ledger.bucket + (now - ledger.refilledMs) * perMs,
        );
        ledger.refilledMs = now;
        if (ledger.streams >= ledger.quota.streams || ledger.bucket < 1) return false;
        ledger.bucket -= 1;
        ledger.streams++;
        streams++;
        return true;
      },
      closeStream: () => {
        if (streams === 0) return;
        streams--;
        ledger.streams--;
      },
      release: () => {
        if (released) return;
        released = true;
        ledger.streams -= streams;
        streams = 0;
        ledger.tunnels--;
        if (ledger.tunnels === 0 && this.#now() > ledger.expiresMs) this.#ledgers.delete(id);
      },
    };
  }

  /** Forgets tokens that have expired and that no tunnel holds. */
  #sweep(now: number): void {
    for (const [id, ledger] of this.#ledgers) {
      if (ledger.tunnels === 0 && now > ledger.expiresMs) this.#ledgers.delete(id);
    }
  }
}
