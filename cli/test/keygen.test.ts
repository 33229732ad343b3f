import { execFile } from 'node:child_process';
import { mkdtemp, readFile, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { base64urlToBytes } from '../../protocol/bytes.ts';
import { parseEgressKeyFile } from '../../protocol/egress-key.ts';

const run = promisify(execFile);
const BU = new URL('../../dist/cli/bu.js', import.meta.url).pathname;

async function bu(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [BU, ...args]);
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('bu (built CLI)', () => {
  it('lists its commands and its version', async () => {
    const help = await bu('--help');
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/keygen\s+create an egress key/);
    const pkg = JSON.parse(
      await readFile(new URL('../../package.json', import.meta.url), 'utf8'),
    ) as {
      version: string;
    };
    expect((await bu('--version')).stdout.trim()).toBe(pkg.version);
    const unknown = await bu('frobnicate');
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('unknown command "frobnicate"');
  });

  it('keygen writes a 0600 key file whose public key matches, and refuses to overwrite', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'bu-keygen-'));
    const out = join(dir, 'egress.key');
    const first = await bu('keygen', '--out', out);
    expect(first.code).toBe(0);
    expect((await stat(out)).mode & 0o777).toBe(0o600);
    const key = parseEgressKeyFile(await readFile(out, 'utf8'));
    const printed = /public key: ([A-Za-z0-9_-]{43})/.exec(first.stderr)?.[1];
    expect(printed).toBeDefined();
    expect(base64urlToBytes(printed ?? '')).toEqual(key.publicKey);

    const again = await bu('keygen', '--out', out);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('exists; use --force');
    expect(parseEgressKeyFile(await readFile(out, 'utf8'))).toEqual(key);

    await writeFile(out, 'old', { mode: 0o644 });
    expect((await bu('keygen', '--out', out, '--force')).code).toBe(0);
    expect((await stat(out)).mode & 0o777).toBe(0o600);
    expect(parseEgressKeyFile(await readFile(out, 'utf8')).publicKey).not.toEqual(key.publicKey);
  });

  it('keygen prints the key file without --out, and rejects unknown options', async () => {
    const printed = await bu('keygen');
    expect(parseEgressKeyFile(printed.stdout).publicKey).toHaveLength(32);
    const bad = await bu('keygen', '--bogus');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/bu keygen: .*bogus/);
  });
});
