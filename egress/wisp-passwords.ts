/**
 * The usernames and passwords that `/wisp/` accepts through the Wisp v2 password-authentication
 * extension. Checking costs the same whichever entry matches, or none: every entry is compared,
 * always, on SHA-256 digests of equal length with `timingSafeEqual`.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { EgressConfigError } from './errors.ts';

export interface WispCredential {
  /** 1..255 UTF-8 bytes (the extension's username length is a u8). */
  readonly username: string;
  /** 1..65,535 UTF-8 bytes. */
  readonly password: string;
}

const MAX_USERNAME_BYTES = 0xff;
const MAX_PASSWORD_BYTES = 0xffff;

interface Entry {
  readonly username: Buffer;
  readonly password: Buffer;
}

function digest(bytes: Uint8Array): Buffer {
  return createHash('sha256').update(bytes).digest();
}

function checkLength(name: string, index: number, text: unknown, max: number): Buffer {
  if (typeof text !== 'string') {
    throw new EgressConfigError(
      'ERR_EGRESS_CONFIG',
      `wispPasswords[${index}].${name}: expected a string, got ${typeof text}`,
    );
  }
  const bytes = Buffer.from(text, 'utf8');
  if (bytes.length < 1 || bytes.length > max) {
    throw new EgressConfigError(
      'ERR_EGRESS_CONFIG',
      `wispPasswords[${index}].${name}: expected 1..${max} UTF-8 bytes, got ${bytes.length}`,
    );
  }
  return bytes;
}

export class WispPasswords {
  readonly #entries: readonly Entry[];

  /** Throws `EgressConfigError` for an empty list, a bad length or a repeated username. */
  constructor(credentials: readonly WispCredential[]) {
    if (credentials.length === 0) {
      throw new EgressConfigError('ERR_EGRESS_CONFIG', 'wispPasswords: the list is empty');
    }
    const seen = new Set<string>();
    this.#entries = credentials.map((credential, i) => {
      const username = checkLength('username', i, credential.username, MAX_USERNAME_BYTES);
      const password = checkLength('password', i, credential.password, MAX_PASSWORD_BYTES);
      if (seen.has(credential.username)) {
        throw new EgressConfigError(
          'ERR_EGRESS_CONFIG',
          `wispPasswords[${i}]: username ${JSON.stringify(credential.username)} is repeated`,
        );
      }
      seen.add(credential.username);
      return { username: digest(username), password: digest(password) };
    });
  }

  /** True when `username` and `password` (UTF-8 bytes as sent) are one of the entries. */
  verify(username: Uint8Array, password: Uint8Array): boolean {
    const user = digest(username);
    const pass = digest(password);
    let matched = false;
    for (const entry of this.#entries) {
      // Both compares run for every entry, so neither the position nor the half that differs shows.
      const userOk = timingSafeEqual(user, entry.username);
      const passOk = timingSafeEqual(pass, entry.password);
      matched = (userOk && passOk) || matched;
    }
    return matched;
  }
}
