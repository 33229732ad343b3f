/**
 * CPU of a group of processes that no single pid stands for: Chromium is a browser process,
 * renderers, a network service and more, and Playwright does not tell a persistent context's
 * pids. They are all descendants of this process, so they are found through /proc.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { cpuSeconds } from './proc.ts';

interface ProcInfo {
  readonly pid: number;
  readonly ppid: number;
  readonly comm: string;
}

function processes(): ProcInfo[] {
  const out: ProcInfo[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const open = stat.indexOf('(');
      const close = stat.lastIndexOf(')');
      const ppid = Number(stat.slice(close + 2).split(' ')[1]);
      out.push({ pid: Number(name), ppid, comm: stat.slice(open + 1, close) });
    } catch {
      // Gone between the listing and the read.
    }
  }
  return out;
}

/** Pids below `root` whose command name matches `comm`, at the moment of the call. */
export function descendants(root: number, comm: RegExp): number[] {
  const all = processes();
  const children = new Map<number, ProcInfo[]>();
  for (const p of all) children.set(p.ppid, [...(children.get(p.ppid) ?? []), p]);
  const found: number[] = [];
  const stack = [root];
  for (let pid = stack.pop(); pid !== undefined; pid = stack.pop()) {
    for (const child of children.get(pid) ?? []) {
      if (comm.test(child.comm)) found.push(child.pid);
      stack.push(child.pid);
    }
  }
  return found;
}

/**
 * CPU seconds used so far by each process of a group, by pid. Compare two snapshots with
 * `cpuBetween`: a process that started in between counts from zero, one that ended in
 * between is lost (the kernel forgets it), so take them while the group is stable.
 */
export function cpuSnapshot(pids: readonly number[]): Map<number, number> {
  const snapshot = new Map<number, number>();
  for (const pid of pids) {
    try {
      snapshot.set(pid, cpuSeconds(pid));
    } catch {
      // Exited.
    }
  }
  return snapshot;
}

export function cpuBetween(before: Map<number, number>, after: Map<number, number>): number {
  let total = 0;
  for (const [pid, seconds] of after) total += seconds - (before.get(pid) ?? 0);
  return total;
}

const CLOCK_TICKS = 100;

/** CPU seconds the whole machine has spent busy (all CPUs, anyone's work), from /proc/stat. */
export function machineBusySeconds(): number {
  const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0] ?? '';
  // cpu user nice system idle iowait irq softirq steal …: all but idle and iowait are work.
  const [user, nice, system, , , irq, softirq, steal] = line
    .trim()
    .split(/\s+/)
    .slice(1)
    .map(Number);
  const busy = [user, nice, system, irq, softirq, steal].reduce<number>((a, b) => a + (b ?? 0), 0);
  return busy / CLOCK_TICKS;
}

/** CPU seconds of this process's children that have exited and been reaped (curl). */
function reapedChildrenSeconds(): number {
  const stat = readFileSync('/proc/self/stat', 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[13]) + Number(fields[14])) / CLOCK_TICKS;
}

/** Chromium's processes under this one (Debian's binary and its helpers are all "chromium"). */
export function chromiumPids(): number[] {
  return descendants(process.pid, /^chrom/);
}

/**
 * CPU seconds per named group of processes between `start()` and `stop()`. Groups are lists
 * of pids looked up at `start()` (Chromium's set is only known then).
 */
export class CpuMeter {
  readonly #groups: Readonly<Record<string, () => readonly number[]>>;
  #pids = new Map<string, readonly number[]>();
  #before = new Map<string, Map<number, number>>();
  readonly seconds = new Map<string, number>();
  /** Wall time between start and stop, and the machine's busy CPU seconds in it. */
  wallSeconds = Number.NaN;
  machineSeconds = Number.NaN;
  /** CPU of this process's children that ended in the window (a curl run inside it). */
  reapedSeconds = Number.NaN;
  #startedAt = 0;
  #machineBefore = 0;
  #reapedBefore = 0;

  constructor(groups: Readonly<Record<string, () => readonly number[]>>) {
    this.#groups = groups;
  }

  start(): void {
    for (const [name, pids] of Object.entries(this.#groups)) {
      const list = pids();
      this.#pids.set(name, list);
      this.#before.set(name, cpuSnapshot(list));
    }
    this.#machineBefore = machineBusySeconds();
    this.#reapedBefore = reapedChildrenSeconds();
    this.#startedAt = performance.now();
  }

  stop(): void {
    this.wallSeconds = (performance.now() - this.#startedAt) / 1000;
    this.machineSeconds = machineBusySeconds() - this.#machineBefore;
    this.reapedSeconds = reapedChildrenSeconds() - this.#reapedBefore;
    for (const [name, list] of this.#pids) {
      this.seconds.set(
        name,
        cpuBetween(this.#before.get(name) ?? new Map<number, number>(), cpuSnapshot(list)),
      );
    }
  }

  /**
   * Cores the rest of the machine kept busy in the window: everything but the groups and
   * reaped children, i.e. other people's work (and the kernel's share of ours it does not
   * charge to a process).
   */
  otherCores(): number {
    let ours = this.reapedSeconds;
    for (const seconds of this.seconds.values()) ours += seconds;
    // Clock ticks round each reading; on a quiet machine the difference can dip below zero.
    return Math.max(0, (this.machineSeconds - ours) / this.wallSeconds);
  }

  /** Milliseconds of CPU per MiB moved, for one group (NaN if it was not measured). */
  msPerMiB(name: string, bytes: number): number {
    return ((this.seconds.get(name) ?? Number.NaN) * 1000) / (bytes / 2 ** 20);
  }
}
