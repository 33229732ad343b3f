/** `--wisp-password-file` for `bu egress` and `bu serve`, and the credential table behind it. */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EGRESS_FLAGS, egressPolicy, parseWispPasswordFile } from '../../cli/egress-options.ts';
import { parseFlags } from '../../cli/flags.ts';
import { decodeWispPasswordClientPayload } from '../../protocol/wisp-codec.ts';
import { resolveEgressConfig } from '../config.ts';
import { WispPasswords } from '../wisp-passwords.ts';
import { generateKeyPair } from '../../protocol/noise/crypto-suite.ts';

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'bu-wisp-passwords-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const utf8 = (text: string): Uint8Array => Buffer.from(text);

describe('--wisp-password-file', () => {
  it('reads USER:PASSWORD lines, skipping comments and blank lines, keeping colons', async () => {
    const file = join(dir, 'ok');
    await writeFile(file, '# operators\r\nalice:pa:ss\r\n\n  \nbob:x\n');
    const policy = egressPolicy(parseFlags(['--wisp-password-file', file], EGRESS_FLAGS));
    expect(policy.wispPasswords).toEqual([
      { username: 'alice', password: 'pa:ss' },
      { username: 'bob', password: 'x' },
    ]);
  });

  it('leaves /wisp/ open without the flag', () => {
    expect(egressPolicy(parseFlags([], EGRESS_FLAGS)).wispPasswords).toBeUndefined();
  });

  it.each([
    ['a line without a colon', 'alice\n', 'line 1 is not USER:PASSWORD'],
    ['an empty username', 'bob:x\n:secret\n', 'line 2 is not USER:PASSWORD'],
    ['an empty password', 'alice:\n', 'line 1 is not USER:PASSWORD'],
    ['no entries at all', '# nothing\n\n', 'holds no USER:PASSWORD line'],
    ['a repeated username', 'a:1\na:2\n', 'is repeated'],
    ['a username over 255 bytes', `${'u'.repeat(256)}:x\n`, 'expected 1..255 UTF-8 bytes'],
  ])('refuses %s as a usage error that names the line, not the password', (_n, text, message) => {
    let error: unknown;
    try {
      parseWispPasswordFile(text, 'pw.txt');
    } catch (err) {
      error = err;
    }
    expect(error).toMatchObject({ code: 'ERR_CLI_USAGE', exitCode: 2 });
    expect(String(error)).toContain(message);
    expect(String(error)).not.toContain('secret');
  });

  it('refuses a file it cannot read', () => {
    const flags = parseFlags(['--wisp-password-file', join(dir, 'missing')], EGRESS_FLAGS);
    expect(() => egressPolicy(flags)).toThrow(/--wisp-password-file: cannot read/);
  });
});

describe('the credential table', () => {
  const table = new WispPasswords([
    { username: 'alice', password: 'one' },
    { username: 'bob', password: 'two' },
  ]);

  it('accepts exactly the configured pairs', () => {
    expect(table.verify(utf8('alice'), utf8('one'))).toBe(true);
    expect(table.verify(utf8('bob'), utf8('two'))).toBe(true);
    expect(table.verify(utf8('alice'), utf8('two'))).toBe(false);
    expect(table.verify(utf8('alice'), utf8('one '))).toBe(false);
    expect(table.verify(utf8('carol'), utf8('one'))).toBe(false);
  });

  it('is built by the egress config only when there are credentials', () => {
    const key = generateKeyPair();
    expect(
      resolveEgressConfig({ key, admission: 'off', log: 'silent' }).wispPasswords,
    ).toBeUndefined();
    expect(
      resolveEgressConfig({ key, admission: 'off', log: 'silent', wispPasswords: [] })
        .wispPasswords,
    ).toBe(undefined);
    expect(() =>
      resolveEgressConfig({
        key,
        admission: 'off',
        log: 'silent',
        wispPasswords: [{ username: '', password: 'x' }],
      }),
    ).toThrow(/wispPasswords\[0\]\.username/);
  });
});

describe('the client password record', () => {
  it('reads the draft 6 layout', () => {
    const payload = Buffer.concat([Uint8Array.of(3), utf8('bob'), utf8('secret')]);
    expect(decodeWispPasswordClientPayload(payload)).toEqual([
      { username: utf8('bob'), password: utf8('secret') },
    ]);
  });

  it('also reads the draft 5 layout (u16 password length) that wisp-js sends', () => {
    const payload = Buffer.concat([Uint8Array.of(3, 6, 0), utf8('bob'), utf8('secret')]);
    const readings = decodeWispPasswordClientPayload(payload);
    expect(readings).toHaveLength(2);
    expect(readings[1]).toEqual({ username: utf8('bob'), password: utf8('secret') });
  });

  it('refuses a record without a username', () => {
    expect(() => decodeWispPasswordClientPayload(Uint8Array.of(0, 1, 2))).toThrow(
      expect.objectContaining({ code: 'ERR_WISP_INFO' }),
    );
    expect(() => decodeWispPasswordClientPayload(Uint8Array.of(9, 1))).toThrow(
      expect.objectContaining({ code: 'ERR_WISP_INFO' }),
    );
  });
});
