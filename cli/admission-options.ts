/**
 * Admission flags (docs/egress.md, "Admission"). The signaling server (`bu signaling`,
 * `bu serve`) signs tokens with a key file it creates on first run; an egress (`bu egress`)
 * trusts one or two public keys, or is declared private with `--no-admission`.
 */
import type { AdmissionSetting } from '../egress/admission-gate.ts';
import { base64urlToBytes, bytesToBase64url } from '../protocol/bytes.ts';
import type { AdmissionIssuing } from '../signaling/admission-issuer.ts';
import {
  createAdmissionKey,
  encodeAdmissionKeyFile,
  isAdmissionPublicKey,
  parseAdmissionKeyFile,
} from '../server-kit/admission-keys.ts';
import { CliError } from './command.ts';
import type { Flag, FlagReader } from './flags.ts';
import { loadOrCreateKeyFile } from './key-file.ts';

export function admissionIssuerFlags(defaultFile: string): Flag[] {
  return [
    {
      name: 'admission-key-file',
      type: 'string',
      arg: 'FILE',
      env: 'BU_ADMISSION_KEY_FILE',
      help: `admission signing key (Ed25519), created (mode 0600) when missing (${defaultFile}); egresses trust its public key`,
    },
    {
      name: 'admission-lifetime',
      type: 'string',
      arg: 'SECONDS',
      env: 'BU_ADMISSION_LIFETIME',
      help: 'how long an admission token admits new tunnels (600)',
    },
    {
      name: 'admission-class',
      type: 'string',
      arg: 'NAME',
      env: 'BU_ADMISSION_CLASS',
      help: 'quota class written into admission tokens; egresses define its limits (standard)',
    },
  ];
}

/** The signing key (read or created) and the token settings. */
export async function admissionIssuing(
  flags: FlagReader,
  defaultFile: string,
): Promise<{ issuing: AdmissionIssuing; file: string; created: boolean; publicKey: string }> {
  const file = flags.text('admission-key-file') ?? defaultFile;
  const lifetimeSeconds = flags.integer('admission-lifetime', 10, 86_400);
  const quotaClass = flags.text('admission-class');
  const { key, created } = await loadOrCreateKeyFile(file, {
    name: 'an admission key file',
    code: 'ERR_ADMISSION_KEY',
    create: createAdmissionKey,
    encode: encodeAdmissionKeyFile,
    parse: parseAdmissionKeyFile,
  });
  return {
    issuing: {
      key,
      ...(lifetimeSeconds === undefined ? {} : { lifetimeSeconds }),
      ...(quotaClass === undefined ? {} : { quotaClass }),
    },
    file,
    created,
    publicKey: bytesToBase64url(key.publicKey),
  };
}

export const ADMISSION_EGRESS_FLAGS: readonly Flag[] = [
  {
    name: 'admission-key',
    type: 'string',
    multiple: true,
    arg: 'KEY',
    env: 'BU_ADMISSION_KEYS',
    separator: 'comma',
    help: "the signaling server's admission public key; twice during a key rotation (env: comma-separated)",
  },
  {
    name: 'no-admission',
    type: 'boolean',
    env: 'BU_NO_ADMISSION',
    help: 'a private egress: /tunnel/ carries anyone who reaches it, without a token',
  },
];

/** What `bu egress` checks on /tunnel/; one of the two flags is required. */
export function egressAdmission(flags: FlagReader): AdmissionSetting {
  const keys = flags.list('admission-key') ?? [];
  const off = flags.boolean('no-admission') ?? false;
  if (off && keys.length > 0) {
    throw new CliError('--admission-key and --no-admission exclude each other', 2);
  }
  if (off) return 'off';
  if (keys.length === 0) {
    throw new CliError(
      '/tunnel/ needs --admission-key KEY (the public key `bu signaling` prints as "admission key"), or --no-admission for a private egress',
      2,
    );
  }
  if (keys.length > 2) {
    throw new CliError('--admission-key: at most two (the old and the new during a rotation)', 2);
  }
  for (const key of keys) {
    if (!isAdmissionPublicKey(key)) {
      throw new CliError(
        `--admission-key: ${JSON.stringify(key)} is not 32 bytes in unpadded base64url`,
        2,
      );
    }
  }
  return { keys: keys.map(base64urlToBytes) };
}
