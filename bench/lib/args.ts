/** The flags every bench takes: `--smoke`, `--runs N`, `--out DIR`. */
import { fileURLToPath } from 'node:url';

export interface BenchArgs {
  /** A few seconds in all: CI's check that the bench still works, not a measurement. */
  readonly smoke: boolean;
  readonly runs: number;
  readonly out: string;
}

export const BENCH_DIR = fileURLToPath(new URL('..', import.meta.url));
export const REPO_DIR = fileURLToPath(new URL('../..', import.meta.url));
export const DEFAULT_OUT = fileURLToPath(new URL('../results', import.meta.url));

export function parseBenchArgs(argv: readonly string[], defaultRuns = 5): BenchArgs {
  const smoke = argv.includes('--smoke');
  let runs = smoke ? 1 : defaultRuns;
  let out = DEFAULT_OUT;
  for (let i = 0; i < argv.length; i += 1) {
    const next = argv[i + 1];
    if (argv[i] === '--runs' && next !== undefined) {
      runs = Number.parseInt(next, 10);
      if (!Number.isInteger(runs) || runs < 1) throw new RangeError(`--runs: ${next}`);
    }
    if (argv[i] === '--out' && next !== undefined) out = next;
  }
  return { smoke, runs, out };
}

/** Runs a bench's main when its file is the script node was started with. */
export function runIfMain(moduleUrl: string, main: (args: BenchArgs) => Promise<void>): void {
  if (process.argv[1] !== fileURLToPath(moduleUrl)) return;
  main(parseBenchArgs(process.argv.slice(2))).then(
    () => process.exit(0),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}
