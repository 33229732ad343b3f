/**
 * What every bench writes: `bench/results/<bench>.json`, one file per bench, read back by
 * bench/run.ts (the table and RESULTS.md) and by bench/test/smoke.test.ts (shape checks).
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem, availableParallelism, loadavg } from 'node:os';
import { join } from 'node:path';
import { format, resolveConfig } from 'prettier';
import type { Summary } from './stats.ts';

export interface Machine {
  readonly cpus: number;
  readonly cpuModel: string;
  readonly memoryBytes: number;
  readonly node: string;
  readonly loadAverage: readonly number[];
}

/** One measured quantity for one subject (our server, `peer`, wisp-js…). */
export interface Measurement {
  readonly metric: string;
  readonly subject: string;
  readonly unit: string;
  readonly summary: Summary;
}

/** A target from the issue, checked against the medians. */
export interface Verdict {
  readonly target: string;
  /** The measured figure the target is about, e.g. "1.83× peer". */
  readonly measured: string;
  readonly met: boolean;
}

export interface BenchResult {
  readonly bench: string;
  readonly title: string;
  readonly smoke: boolean;
  readonly date: string;
  readonly machine: Machine;
  readonly runs: number;
  /** Load, flags and anything else a reader needs to reproduce or judge the figures. */
  readonly setup: readonly string[];
  readonly measurements: readonly Measurement[];
  readonly verdicts: readonly Verdict[];
}

export function machine(): Machine {
  let cpuModel = cpus()[0]?.model ?? 'unknown';
  try {
    const match = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'));
    if (match?.[1] !== undefined) cpuModel = match[1];
  } catch {
    // not Linux: os.cpus() is good enough
  }
  return {
    cpus: availableParallelism(),
    cpuModel,
    memoryBytes: totalmem(),
    node: process.version,
    loadAverage: loadavg().map((load) => Math.round(load * 100) / 100),
  };
}

/** Writes `text` to `file` as Prettier would (the results are checked in; `npm run lint` checks them). */
export async function writeFormatted(file: string, text: string): Promise<void> {
  const options = (await resolveConfig(file)) ?? {};
  writeFileSync(file, await format(text, { ...options, filepath: file }));
}

export async function writeResult(dir: string, result: BenchResult): Promise<string> {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${result.bench}.json`);
  await writeFormatted(file, JSON.stringify(result, null, 2));
  return file;
}

/** The median of one measurement, or NaN when the bench did not record it. */
export function medianOf(
  result: { measurements: readonly Measurement[] },
  metric: string,
  subject: string,
): number {
  const found = result.measurements.find((m) => m.metric === metric && m.subject === subject);
  return found?.summary.median ?? Number.NaN;
}
