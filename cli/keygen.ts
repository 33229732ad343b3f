import { chmod, writeFile } from 'node:fs/promises';
import { bytesToBase64url } from '../protocol/bytes.ts';
import { createEgressKey, encodeEgressKeyFile } from '../protocol/egress-key.ts';
import { CliError, parseOptions, type Command } from './command.ts';

export const keygen: Command = {
  summary: 'create an egress key (X25519) for the tunnel handshake',
  help: `Usage: bu keygen [--out FILE] [--force]

Creates an egress key pair for the Noise NK tunnel handshake.

  --out FILE   write the key file to FILE (mode 0600); without it the key
               file is printed on standard output
  --force      overwrite FILE if it exists

The public key (base64url) is printed on standard error; it goes into the
signaling server's egress list as ID=URL#PUBLICKEY.`,

  async run(args) {
    const { values } = parseOptions(args, {
      out: { type: 'string' },
      force: { type: 'boolean', default: false },
    });
    const key = createEgressKey();
    const file = encodeEgressKeyFile(key);
    if (values.out === undefined) {
      process.stdout.write(file);
    } else {
      try {
        await writeFile(values.out, file, { mode: 0o600, flag: values.force ? 'w' : 'wx' });
        // `mode` only applies when the file is created; a replaced file keeps its old mode.
        await chmod(values.out, 0o600);
      } catch (err) {
        if (err instanceof Error && 'code' in err && err.code === 'EEXIST') {
          throw new CliError(`${values.out} exists; use --force to replace it`);
        }
        throw new CliError(
          `cannot write ${values.out}: ${err instanceof Error ? err.message : String(err)}`,
        );
      }
      console.error(`wrote ${values.out}`);
    }
    console.error(`public key: ${bytesToBase64url(key.publicKey)}`);
    return 0;
  },
};
