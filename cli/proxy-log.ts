/**
 * What `bu proxy` writes about itself, by log level. A censored user's terminal history and
 * log files must not keep where they went: below `debug`, no line carries a destination (host,
 * port, URL or path), and failures are described by code and reason only, never by an error's
 * text, which is not ours to vouch for. Levels are those of every `bu` command.
 */
import type { NatType } from '../protocol/matchmaking.ts';
import { MeshError, StreamClosedError, TunnelRefusedError } from '../mesh/errors.ts';
import { formatLogLine, logs, type LogLevel } from '../server-kit/logger.ts';
import { urlHost } from './flags.ts';
import type { ProxyFailure } from './proxy-server.ts';

export interface ProxyLog {
  /** Whether the status line is shown (at `info` and `debug`). */
  readonly showsStatus: boolean;
  /** One proxied connection could not be carried (`info`; the destination at `debug` only). */
  failure(failure: ProxyFailure): void;
  /** A problem the proxy retries by itself, e.g. the signaling server is not reachable (`warn`). */
  problem(message: string): void;
  /** The NAT type the signaling server's probe found (`info`). */
  nat(nat: NatType): void;
}

/** Code and reason of a failure: fixed vocabulary, nothing taken from a message. */
export function failureFields(error: unknown): Record<string, string> {
  const fields: Record<string, string> = {};
  if (error instanceof MeshError) fields['code'] = error.code;
  else if (error instanceof Error) fields['error'] = error.name;
  if (error instanceof StreamClosedError) fields['reason'] = error.reasonName;
  if (error instanceof TunnelRefusedError) fields['reason'] = error.reason;
  return fields;
}

/** `write` gets one JSON line at a time (the status line's `log`). */
export function createProxyLog(level: LogLevel, write: (line: string) => void): ProxyLog {
  const debug = logs(level, 'debug');
  const info = logs(level, 'info');
  const warn = logs(level, 'warn');
  return {
    showsStatus: info,
    failure({ host, port, stage, error }) {
      if (!info) return;
      const line: Record<string, string> = { stage, ...failureFields(error) };
      if (debug) {
        line['destination'] = `${urlHost(host)}:${port}`;
        line['message'] = error instanceof Error ? error.message : String(error);
      }
      write(formatLogLine('info', 'failure', line));
    },
    problem(message) {
      if (warn) write(formatLogLine('warn', 'error', { message }));
    },
    nat(nat) {
      if (info) write(formatLogLine('info', 'nat', { nat }));
    },
  };
}
