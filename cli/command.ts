import { parseArgs, type ParseArgsConfig } from 'node:util';
import { CodedError } from '../protocol/errors.ts';

/** A `bu` subcommand. `run` returns the process exit code. */
export interface Command {
  readonly summary: string;
  readonly help: string;
  run(args: string[]): Promise<number>;
}

/**
 * `ERR_CLI_USAGE`: bad flags or arguments (exit code 2); `ERR_EGRESS_KEY`: the egress key file
 * cannot be read, created or parsed; `ERR_CLI_FAILED`: anything else.
 */
export type CliErrorCode =
  'ERR_CLI_USAGE' | 'ERR_CLI_FAILED' | 'ERR_EGRESS_KEY' | 'ERR_ADMISSION_KEY';

/** A user-facing failure: printed without a stack trace. Exit code 2 means bad usage. */
export class CliError extends CodedError<CliErrorCode> {
  override name = 'CliError';
  readonly exitCode: number;
  constructor(message: string, exitCode = 1, code?: CliErrorCode) {
    super(code ?? (exitCode === 2 ? 'ERR_CLI_USAGE' : 'ERR_CLI_FAILED'), message);
    this.exitCode = exitCode;
  }
}

/** `parseArgs` with its errors turned into usage errors. */
export function parseOptions<T extends NonNullable<ParseArgsConfig['options']>>(
  args: string[],
  options: T,
): ReturnType<
  typeof parseArgs<{ args: string[]; options: T; strict: true; allowPositionals: false }>
> {
  try {
    return parseArgs({ args, options, strict: true, allowPositionals: false });
  } catch (err) {
    throw new CliError(err instanceof Error ? err.message : String(err), 2);
  }
}
