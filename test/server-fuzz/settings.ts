/**
 * The knobs of a fuzz run, from the environment:
 * - BU_FUZZ_INPUTS: inputs per server (20,000 by default; `npm run fuzz:servers` runs 200,000);
 * - BU_FUZZ_SEED: the run's seed (random by default; every failure prints the one it used);
 * - BU_FUZZ_REPLAY: only these input indices, e.g. `17`, `1500-1999` or `3,17,40`;
 * - BU_FUZZ_KEEP_GOING=1: after a failure, restart the server and go on, to collect them all.
 */
export interface FuzzSettings {
  readonly inputs: number;
  readonly seed: number;
  readonly replay: readonly number[] | undefined;
  readonly keepGoing: boolean;
}

export const DEFAULT_INPUTS = 20_000;

function integer(name: string, text: string): number {
  if (!/^\d+$/.test(text.trim()))
    throw new Error(`${name} must be a whole number, not ${JSON.stringify(text)}`);
  return Number(text.trim());
}

function indices(text: string): number[] {
  const out: number[] = [];
  for (const part of text.split(',')) {
    const [from = '', to] = part.split('-');
    const first = integer('BU_FUZZ_REPLAY', from);
    const last = to === undefined ? first : integer('BU_FUZZ_REPLAY', to);
    for (let i = first; i <= last; i++) out.push(i);
  }
  return out;
}

export function fuzzSettings(env: NodeJS.ProcessEnv): FuzzSettings {
  const inputs = env['BU_FUZZ_INPUTS'];
  const seed = env['BU_FUZZ_SEED'];
  const replay = env['BU_FUZZ_REPLAY'];
  return {
    inputs:
      inputs === undefined || inputs === '' ? DEFAULT_INPUTS : integer('BU_FUZZ_INPUTS', inputs),
    seed:
      seed === undefined || seed === ''
        ? Math.floor(Math.random() * 0x7fffffff)
        : integer('BU_FUZZ_SEED', seed),
    replay: replay === undefined || replay === '' ? undefined : indices(replay),
    keepGoing: env['BU_FUZZ_KEEP_GOING'] === '1',
  };
}
