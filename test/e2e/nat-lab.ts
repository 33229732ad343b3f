/**
 * The NAT lab: network namespaces joined by a "public" bridge, with Linux routers doing real
 * NAT (nftables) in front of hosts, inside the test's own isolated namespace.
 *
 *   lab bridge 203.0.113.1/24 (this namespace: signaling, egress, TURN, origin)
 *     ├─ router "open": 203.0.113.11, a 1:1 mapping (DNAT + SNAT) to host 10.11.0.2
 *     ├─ router "sym1": 203.0.113.12, masquerade fully-random (a symmetric NAT) for 10.12.0.2
 *     └─ router "sym2": 203.0.113.13, the same for 10.13.0.2
 *
 * Each namespace is held by a `sleep` started with `unshare --net`; commands run in it through
 * `nsenter -t PID -n`. Stopping the lab kills the holders, and the namespaces go with them.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';

export const LAB_HOST = '203.0.113.1';

export type NatKind = 'one-to-one' | 'symmetric';

export interface LabHost {
  readonly name: string;
  /** The host's own address behind its router. */
  readonly address: string;
  /** Its router's public address. */
  readonly publicAddress: string;
  /** Runs a command in the host's namespace: prefix for spawn. */
  readonly wrap: readonly string[];
}

export interface Lab {
  readonly hosts: ReadonlyMap<string, LabHost>;
  host(name: string): LabHost;
  stop(): void;
}

function run(command: string, args: readonly string[]): void {
  const result = spawnSync(command, args, { encoding: 'utf8' });
  if (result.status !== 0) {
    throw new Error(`${command} ${args.join(' ')}: ${result.stderr || result.error?.message}`);
  }
}

function holder(): ChildProcess {
  const child = spawn('unshare', ['--net', 'sleep', '3600'], { stdio: 'ignore' });
  if (child.pid === undefined) throw new Error('cannot start a namespace holder');
  return child;
}

/** Waits until `pid` has left our namespace (unshare has run). */
function inOwnNamespace(pid: number): void {
  for (let i = 0; i < 200; i++) {
    const mine = spawnSync('readlink', ['/proc/self/ns/net'], { encoding: 'utf8' }).stdout;
    const theirs = spawnSync('readlink', [`/proc/${pid}/ns/net`], { encoding: 'utf8' }).stdout;
    if (theirs !== '' && theirs !== mine) return;
    spawnSync('sleep', ['0.02']);
  }
  throw new Error(`process ${pid} never got a namespace of its own`);
}

/**
 * Builds the lab: `sites` maps a host name to its NAT. Needs root in this namespace (the e2e
 * suite runs in scripts/netns-run) and nft (scripts/ensure-netlab).
 */
export function startLab(sites: Readonly<Record<string, NatKind>>): Lab {
  const tag = randomBytes(2).toString('hex');
  const bridge = `lab${tag}`;
  const holders: ChildProcess[] = [];
  const hosts = new Map<string, LabHost>();
  const stop = (): void => {
    for (const child of holders) child.kill('SIGKILL');
    spawnSync('ip', ['link', 'del', bridge]);
  };
  try {
    run('ip', ['link', 'add', bridge, 'type', 'bridge']);
    run('ip', ['addr', 'add', `${LAB_HOST}/24`, 'dev', bridge]);
    run('ip', ['link', 'set', bridge, 'up']);
    Object.entries(sites).forEach(([name, kind], index) => {
      const n = 11 + index;
      const router = holder();
      const host = holder();
      holders.push(router, host);
      const routerPid = String(router.pid);
      const hostPid = String(host.pid);
      inOwnNamespace(router.pid ?? 0);
      inOwnNamespace(host.pid ?? 0);
      const inRouter = (...args: string[]): void =>
        run('nsenter', ['-t', routerPid, '-n', '--', ...args]);
      const inHost = (...args: string[]): void =>
        run('nsenter', ['-t', hostPid, '-n', '--', ...args]);
      const publicAddress = `203.0.113.${n}`;
      const address = `10.${n}.0.2`;
      // The router's WAN on the bridge, its LAN to the host.
      run('ip', [
        'link',
        'add',
        `w${tag}${n}`,
        'type',
        'veth',
        'peer',
        'name',
        'wan',
        'netns',
        routerPid,
      ]);
      run('ip', ['link', 'set', `w${tag}${n}`, 'master', bridge, 'up']);
      run('ip', [
        'link',
        'add',
        `l${tag}${n}`,
        'type',
        'veth',
        'peer',
        'name',
        'eth0',
        'netns',
        hostPid,
      ]);
      run('ip', ['link', 'set', `l${tag}${n}`, 'netns', routerPid]);
      inRouter('ip', 'link', 'set', 'lo', 'up');
      inRouter('ip', 'addr', 'add', `${publicAddress}/24`, 'dev', 'wan');
      inRouter('ip', 'link', 'set', 'wan', 'up');
      inRouter('ip', 'link', 'set', `l${tag}${n}`, 'name', 'lan');
      inRouter('ip', 'addr', 'add', `10.${n}.0.1/24`, 'dev', 'lan');
      inRouter('ip', 'link', 'set', 'lan', 'up');
      inRouter('sysctl', '-q', '-w', 'net.ipv4.ip_forward=1');
      inHost('ip', 'link', 'set', 'lo', 'up');
      inHost('ip', 'addr', 'add', `${address}/24`, 'dev', 'eth0');
      inHost('ip', 'link', 'set', 'eth0', 'up');
      inHost('ip', 'route', 'add', 'default', 'via', `10.${n}.0.1`);
      const rules =
        kind === 'one-to-one'
          ? `table ip nat {
  chain pre { type nat hook prerouting priority -100; iifname "wan" ip daddr ${publicAddress} dnat to ${address}; }
  chain post { type nat hook postrouting priority 100; oifname "wan" ip saddr ${address} snat to ${publicAddress}; }
}`
          : `table ip nat {
  chain post { type nat hook postrouting priority 100; oifname "wan" masquerade fully-random; }
}`;
      const nft = spawnSync('nsenter', ['-t', routerPid, '-n', '--', 'nft', '-f', '-'], {
        input: rules,
        encoding: 'utf8',
      });
      if (nft.status !== 0) throw new Error(`nft: ${nft.stderr}`);
      hosts.set(name, {
        name,
        address,
        publicAddress,
        wrap: ['nsenter', '-t', hostPid, '-n', '--'],
      });
    });
  } catch (err) {
    stop();
    throw err;
  }
  return {
    hosts,
    host(name) {
      const found = hosts.get(name);
      if (found === undefined) throw new Error(`no lab host ${name}`);
      return found;
    },
    stop,
  };
}
