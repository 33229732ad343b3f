/** Every bench, in the order `bench/run.ts` runs them (cheapest and most important first). */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { BENCH_DIR, REPO_DIR } from './args.ts';
import { inNetns } from './netns.ts';

export interface BenchEntry {
  readonly name: string;
  readonly script: string;
  /** Uses WebRTC: runs inside scripts/netns-run (re-executed there when not already inside). */
  readonly netns?: boolean;
}

export const BENCHES: readonly BenchEntry[] = [
  { name: 'signaling-relay', script: 'signaling-relay.ts' },
  { name: 'idle-peers', script: 'idle-peers.ts' },
  { name: 'matchmaking', script: 'matchmaking.ts' },
  { name: 'egress', script: 'egress.ts' },
  { name: 'wisp-clients', script: 'wisp-clients.ts' },
  { name: 'bundle', script: 'bundle.ts' },
  { name: 'slow-reader', script: 'slow-reader.ts' },
  { name: 'chain', script: 'chain.ts', netns: true },
  { name: 'slow-reader-chain', script: 'slow-reader-chain.ts', netns: true },
];

/** Runs one bench in its own Node process; resolves with its exit code. */
export function runBench(bench: BenchEntry, args: readonly string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const node: [string, string[]] = [
      process.execPath,
      ['--import', join(BENCH_DIR, 'register-ts.mjs'), join(BENCH_DIR, bench.script), ...args],
    ];
    const [command, argv] = bench.netns === true ? inNetns(...node) : node;
    const child = spawn(command, argv, { cwd: REPO_DIR, stdio: ['ignore', 'inherit', 'inherit'] });
    child.once('error', reject);
    child.once('exit', (code) => resolve(code ?? 1));
  });
}
