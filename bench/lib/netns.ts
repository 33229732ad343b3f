/**
 * WebRTC needs a non-loopback interface, and benches must not send anything off this machine,
 * so benches that use WebRTC run inside scripts/netns-run's network namespace (loopback plus a
 * veth pair 10.77.0.1 ⇄ 10.77.0.2, no link outside).
 */
import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import { REPO_DIR } from './args.ts';

export const NETNS_RUN = join(REPO_DIR, 'scripts/netns-run');

/**
 * True inside the namespace: the runner sets BU_NETNS=1, and its veth end must really be
 * here (an inherited or hand-set variable alone would not give WebRTC its interface).
 */
export function insideNetns(): boolean {
  if (process.env['BU_NETNS'] !== '1') return false;
  return (networkInterfaces()['bu0'] ?? []).some((address) => address.address === '10.77.0.1');
}

/** `command args` as is inside the namespace, else wrapped in scripts/netns-run. */
export function inNetns(command: string, args: readonly string[]): [string, string[]] {
  return insideNetns() ? [command, [...args]] : [NETNS_RUN, [command, ...args]];
}
