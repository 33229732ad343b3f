/**
 * Key files the servers keep in their data directory: read, or created (mode 0600, directory
 * 0700) on first run. A file that cannot be read, created or parsed is a CliError with the
 * kind's code, naming the file.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { CliError, type CliErrorCode } from './command.ts';
import { errorText } from './flags.ts';

export interface KeyFileKind<K> {
  /** For messages: "an egress key file". */
  readonly name: string;
  readonly code: CliErrorCode;
  create(): K;
  encode(key: K): string;
  parse(text: string): K;
}

export async function loadOrCreateKeyFile<K>(
  file: string,
  kind: KeyFileKind<K>,
): Promise<{ key: K; created: boolean }> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if (!hasCode(err, 'ENOENT')) {
      throw new CliError(`cannot read ${file}: ${errorText(err)}`, 1, kind.code);
    }
    const key = kind.create();
    try {
      await mkdir(dirname(file), { recursive: true, mode: 0o700 });
      await writeFile(file, kind.encode(key), { mode: 0o600, flag: 'wx' });
    } catch (writeErr) {
      // Another process made it first (two servers started at once): use theirs.
      if (hasCode(writeErr, 'EEXIST')) return loadOrCreateKeyFile(file, kind);
      throw new CliError(`cannot create ${file}: ${errorText(writeErr)}`, 1, kind.code);
    }
    return { key, created: true };
  }
  try {
    return { key: kind.parse(text), created: false };
  } catch (err) {
    throw new CliError(`${file} is not ${kind.name}: ${errorText(err)}`, 1, kind.code);
  }
}

function hasCode(err: unknown, code: string): boolean {
  return typeof err === 'object' && err !== null && 'code' in err && err.code === code;
}
