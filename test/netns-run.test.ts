import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const NETNS_RUN = new URL('../scripts/netns-run', import.meta.url).pathname;

describe('scripts/netns-run', () => {
  it('gives the command a veth pair with a default route and nothing else', async () => {
    const { stdout } = await run(NETNS_RUN, [
      'sh',
      '-c',
      'ip -o link show | cut -d: -f2 | tr -d " "; echo ---; ip -o -4 addr show | tr -s " " | cut -d" " -f2,4; echo ---; ip route show default; echo ---; echo "$BU_NETNS"',
    ]);
    const [links, addrs, route, flag] = stdout.split('---\n').map((s) => s.trim());
    expect(
      links
        ?.split('\n')
        .map((l) => l.replace(/@.*/, ''))
        .sort(),
    ).toEqual(['bu0', 'bu1', 'lo']);
    expect(addrs).toContain('bu0 10.77.0.1/24');
    expect(addrs).toContain('bu1 10.77.0.2/24');
    expect(route).toMatch(/^default via 10\.77\.0\.2 dev bu0/);
    expect(flag).toBe('1');
  });

  it('passes the exit code through and explains its usage', async () => {
    await expect(run(NETNS_RUN, ['sh', '-c', 'exit 7'])).rejects.toMatchObject({ code: 7 });
    await expect(run(NETNS_RUN, [])).rejects.toMatchObject({ code: 2 });
  });
});
