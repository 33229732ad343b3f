/**
 * Child processes under measurement: start one, wait for the line that says it is ready, read
 * its CPU time and memory from /proc (so the same yardstick applies to every server, whatever
 * it is written in), stop it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

/** Linux clock ticks per second (`getconf CLK_TCK`); 100 on every mainstream kernel. */
const CLOCK_TICKS = 100;

export interface Child {
  readonly pid: number;
  /** The first stdout line that matched the ready pattern, and its capture groups. */
  readonly ready: RegExpExecArray;
  /** Everything on stderr so far (for error messages). */
  stderr(): string;
  stop(): Promise<void>;
}

export interface SpawnOptions {
  readonly ready: RegExp;
  readonly env?: NodeJS.ProcessEnv;
  readonly timeoutMs?: number;
}

export function startChild(
  command: string,
  args: readonly string[],
  options: SpawnOptions,
): Promise<Child> {
  const child = spawn(command, args, {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...options.env },
  });
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-8192);
  });
  return new Promise((resolve, reject) => {
    let stdout = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${command} ${args.join(' ')}: not ready in time\n${stderr}`));
    }, options.timeoutMs ?? 20_000);
    const onExit = (code: number | null): void => {
      clearTimeout(timer);
      reject(new Error(`${command} ${args.join(' ')} exited (${code})\n${stderr}`));
    };
    child.once('exit', onExit);
    child.stdout.setEncoding('utf8');
    const onData = (chunk: string): void => {
      stdout += chunk;
      const match = options.ready.exec(stdout);
      if (match === null) return;
      clearTimeout(timer);
      child.off('exit', onExit);
      child.stdout.off('data', onData);
      child.stdout.resume();
      const pid = child.pid;
      if (pid === undefined) throw new Error('child has no pid');
      resolve({ pid, ready: match, stderr: () => stderr, stop: () => stopChild(child) });
    };
    child.stdout.on('data', onData);
  });
}

/** SIGTERM, then SIGKILL after 5 s; resolves when the process has exited. */
export function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/** User + system CPU seconds the process has used. */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name (field 2) may hold spaces; count fields after its closing parenthesis.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  return (utime + stime) / CLOCK_TICKS;
}

export interface Memory {
  /** Resident set now, bytes. */
  readonly rss: number;
  /** Peak resident set since start (VmHWM), bytes. */
  readonly peak: number;
}

export function memory(pid: number): Memory {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (field: string): number => {
    const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status);
    if (match?.[1] === undefined) throw new Error(`no ${field} in /proc/${pid}/status`);
    return Number(match[1]) * 1024;
  };
  return { rss: kib('VmRSS'), peak: kib('VmHWM') };
}

export const MiB = 2 ** 20;

/** How far a process's memory grew under a load, in MiB. */
export interface MemoryGrowth {
  /** Peak resident set now (VmHWM) minus the resident set before the load. */
  readonly growthMiB: number;
  readonly peakRssMiB: number;
}

/** The growth of `pid` over `baseRss`, its resident set (bytes) before the load. */
export function memoryGrowth(pid: number, baseRss: number): MemoryGrowth {
  const { peak } = memory(pid);
  return { growthMiB: (peak - baseRss) / MiB, peakRssMiB: peak / MiB };
}

/** A port free on 127.0.0.1 right now, for servers that cannot be told to pick one. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
