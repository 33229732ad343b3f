/**
 * A fuzz campaign against one server process: inputs in batches over many concurrent
 * connections, a health check after each batch, and on a failure a report with the seed, the
 * batch, the server's stderr, and the input that does it alone on a fresh process (found by
 * halving the batch).
 */
import { checkHealth } from './health.ts';
import { describeInput } from './describe-input.ts';
import type { FuzzInput, GeneratedInput } from './inputs.ts';
import type { ServerProcess } from './processes.ts';
import { sendInput, type Outcome } from './send-input.ts';

const BATCH_SIZE = 1000;
const CONCURRENCY = 128;
const SHOWN_INPUTS = 5;
const STDERR_SHOWN = 3000;
/** Time the search for the input that does it may take. */
const NARROWING_MS = 120_000;

export interface CampaignOptions {
  /** `bu signaling`, for the report and the replay command. */
  readonly name: string;
  readonly seed: number;
  /** The input indices to send, in order (0..n-1, or the ones to replay). */
  readonly indices: readonly number[];
  readonly keepGoing: boolean;
  readonly start: () => Promise<ServerProcess>;
  readonly generate: (index: number) => GeneratedInput;
}

export interface Tally {
  sent: number;
  byKind: Record<FuzzInput['kind'], number>;
  connected: number;
  upgraded: number;
  opened: number;
  lingered: number;
  /** Drafts replaced because they could have made an egress reach another machine. */
  unsafeDrafts: number;
  /** The first few inputs after whose FIN the server kept the connection open. */
  lingering: string[];
}

export interface CampaignResult {
  readonly tally: Tally;
  /** One report per failed health check. */
  readonly failures: string[];
}

function newTally(): Tally {
  return {
    sent: 0,
    byKind: { raw: 0, upgrade: 0, peerjs: 0, tunnel: 0 },
    connected: 0,
    upgraded: 0,
    opened: 0,
    lingered: 0,
    unsafeDrafts: 0,
    lingering: [],
  };
}

function count(tally: Tally, index: number, generated: GeneratedInput, outcome: Outcome): void {
  tally.sent += 1;
  tally.byKind[generated.input.kind] += 1;
  tally.unsafeDrafts += generated.unsafeDrafts;
  if (outcome.connected) tally.connected += 1;
  if (outcome.upgraded) tally.upgraded += 1;
  if (outcome.opened) tally.opened += 1;
  if (outcome.lingered) {
    tally.lingered += 1;
    if (tally.lingering.length < 5)
      tally.lingering.push(`#${index} ${describeInput(generated.input)}`);
  }
}

/** Inputs in a row that the server left open, after which the batch stops (see sendAll). */
const UNANSWERED_LIMIT = 32;

/**
 * Sends `indices` over CONCURRENCY connections at a time. When UNANSWERED_LIMIT inputs in a
 * row were left open by the server, it has most likely stopped answering: the rest of the
 * batch would only wait out timeouts, so it is not sent (the health check says what is wrong).
 * Returns the inputs the server left open, in sending order: the first are the suspects.
 */
async function sendAll(
  server: ServerProcess,
  indices: readonly number[],
  generate: (index: number) => GeneratedInput,
  tally: Tally | undefined,
): Promise<number[]> {
  let next = 0;
  let unanswered = 0;
  const leftOpen: (number | undefined)[] = [];
  const worker = async (): Promise<void> => {
    while (next < indices.length && unanswered < UNANSWERED_LIMIT) {
      const position = next++;
      const index = indices[position];
      if (index === undefined) return;
      const generated = generate(index);
      const outcome = await sendInput(server, generated.input);
      unanswered = outcome.lingered ? unanswered + 1 : 0;
      if (outcome.lingered) leftOpen[position] = index;
      if (tally !== undefined) count(tally, index, generated, outcome);
    }
  };
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, indices.length) }, worker));
  return leftOpen.filter((index): index is number => index !== undefined);
}

interface Trial {
  readonly problem: string | undefined;
  readonly stderr: string;
}

/** Sends `indices` to a fresh process and checks it afterwards. */
async function trial(options: CampaignOptions, indices: readonly number[]): Promise<Trial> {
  const server = await options.start();
  try {
    await sendAll(server, indices, options.generate, undefined);
    const { problem } = await checkHealth(server);
    return { problem, stderr: server.stderrTail() };
  } finally {
    await server.stop();
  }
}

/**
 * The smallest part of `indices` found by halving that still breaks a fresh process, with
 * what that process said; the whole list when no half does it alone. A server that hangs
 * makes every trial slow, so halving stops at `deadline` with what it has.
 */
async function narrowDown(
  options: CampaignOptions,
  indices: readonly number[],
  known: Trial,
  deadline: number,
): Promise<{ indices: readonly number[]; trial: Trial }> {
  if (indices.length <= 1 || Date.now() > deadline) return { indices, trial: known };
  const middle = Math.ceil(indices.length / 2);
  for (const half of [indices.slice(0, middle), indices.slice(middle)]) {
    const result = await trial(options, half);
    if (result.problem !== undefined) return narrowDown(options, half, result, deadline);
  }
  return { indices, trial: known };
}

function tail(text: string): string {
  const shown = text.length > STDERR_SHOWN ? `…${text.slice(-STDERR_SHOWN)}` : text;
  return shown.trimEnd().replace(/^/gm, '    ');
}

function range(indices: readonly number[]): string {
  const first = indices[0];
  const last = indices.at(-1);
  return first === last ? `${first}` : `${first}-${last}`;
}

/** Suspects tried one by one before halving (each costs a fresh process). */
const SUSPECTS_TRIED = 8;

async function report(
  options: CampaignOptions,
  batch: readonly number[],
  suspects: readonly number[],
  problem: string,
  stderr: string,
): Promise<string> {
  const lines = [
    `${options.name} failed its health check after inputs ${range(batch)} (seed ${options.seed}): ${problem}`,
    `  stderr (tail):`,
    tail(stderr),
  ];
  const deadline = Date.now() + NARROWING_MS;
  // A server that stopped answering left the input that did it open, and the ones sent after
  // it: try the first few alone (quick when they are innocent) before halving the batch.
  let candidates: readonly number[] = batch;
  let first: Trial | undefined;
  for (const suspect of suspects.slice(0, SUSPECTS_TRIED)) {
    const alone = await trial(options, [suspect]);
    if (alone.problem === undefined) continue;
    [candidates, first] = [[suspect], alone];
    break;
  }
  first ??= await trial(options, batch);
  if (first.problem === undefined) {
    lines.push(
      `  The batch alone does not break a fresh process: inputs of earlier batches take part.`,
    );
  } else {
    const found = await narrowDown(options, candidates, first, deadline);
    const label =
      found.indices.length === 1
        ? `input #${found.indices[0]} alone breaks a fresh process`
        : `inputs ${range(found.indices)} together break a fresh process (halving stopped there)`;
    lines.push(`  ${label}: ${found.trial.problem}`);
    for (const index of found.indices.slice(0, SHOWN_INPUTS)) {
      lines.push(`    #${index} ${describeInput(options.generate(index).input)}`);
    }
    lines.push(`  its stderr (tail):`, tail(found.trial.stderr));
    lines.push(
      `  replay: BU_FUZZ_SEED=${options.seed} BU_FUZZ_REPLAY=${range(found.indices)} npx vitest run test/server-fuzz.test.ts -t '${options.name}'`,
    );
  }
  lines.push(`  first inputs of the batch:`);
  for (const index of batch.slice(0, SHOWN_INPUTS)) {
    lines.push(`    #${index} ${describeInput(options.generate(index).input)}`);
  }
  return lines.join('\n');
}

export async function runCampaign(options: CampaignOptions): Promise<CampaignResult> {
  const tally = newTally();
  const failures: string[] = [];
  let server = await options.start();
  let faults = 0;
  try {
    for (let from = 0; from < options.indices.length; from += BATCH_SIZE) {
      const batch = options.indices.slice(from, from + BATCH_SIZE);
      const suspects = await sendAll(server, batch, options.generate, tally);
      const verdict = await checkHealth(server, faults);
      faults = verdict.faults;
      if (verdict.problem === undefined) continue;
      const stderr = server.stderrTail();
      failures.push(await report(options, batch, suspects, verdict.problem, stderr));
      if (!options.keepGoing) break;
      if (!verdict.down) continue;
      await server.stop();
      server = await options.start();
      faults = 0;
    }
  } finally {
    await server.stop();
  }
  return { tally, failures };
}
