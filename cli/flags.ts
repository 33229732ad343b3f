/**
 * Flag tables for the `bu` commands: each flag is declared once, with its help text and its
 * environment variable, and read the same way everywhere (the flag wins over the variable).
 * Booleans in the environment are `1/true/yes/on` or `0/false/no/off`; repeatable flags are
 * space-separated there unless the flag says comma.
 */
import { CliError, parseOptions } from './command.ts';

export interface Flag {
  readonly name: string;
  readonly type: 'string' | 'boolean';
  readonly multiple?: boolean;
  /** The argument's placeholder in the help, e.g. `PORT`. */
  readonly arg?: string;
  readonly help: string;
  /** The environment variable; `BU_<NAME>` (upper case, `-` as `_`) when absent. */
  readonly env?: string;
  /** How a repeatable flag's variable separates its entries. */
  readonly separator?: 'space' | 'comma';
}

export type FlagValue = string | boolean | (string | boolean)[] | undefined;

function envName(flag: Flag): string {
  return flag.env ?? `BU_${flag.name.toUpperCase().replaceAll('-', '_')}`;
}

/** The help rows for `flags`: the flag, then its text and variable on the next line. */
export function flagHelp(flags: readonly Flag[]): string {
  return flags
    .map((flag) => {
      const left = `  --${flag.name}${flag.arg === undefined ? '' : ` ${flag.arg}`}`;
      return `${left}\n      ${flag.help} [${envName(flag)}]`;
    })
    .join('\n');
}

/** What a command reads its settings through, after `parseFlags`. */
export interface FlagReader {
  /** The flag's value, else its variable's, else undefined. */
  get(name: string): FlagValue;
  text(name: string): string | undefined;
  boolean(name: string): boolean | undefined;
  list(name: string): string[] | undefined;
  /** A whole number in `min..max`, or undefined when not given. */
  integer(name: string, min: number, max: number): number | undefined;
}

export function parseFlags(args: string[], flags: readonly Flag[]): FlagReader {
  const config = Object.fromEntries(
    flags.map((flag) => [
      flag.name,
      flag.multiple === true ? { type: flag.type, multiple: true as const } : { type: flag.type },
    ]),
  );
  const { values } = parseOptions(args, config);
  const byName = new Map(flags.map((flag) => [flag.name, flag]));
  const get = (name: string): FlagValue => {
    const flag = byName.get(name);
    if (flag === undefined) throw new Error(`no flag --${name} in this command's table`);
    return readFlag(values[name], flag);
  };
  return {
    get,
    text: (name) => {
      const value = get(name);
      return typeof value === 'string' ? value : undefined;
    },
    boolean: (name) => {
      const value = get(name);
      return typeof value === 'boolean' ? value : undefined;
    },
    list: (name) => {
      const value = get(name);
      return Array.isArray(value)
        ? value.filter((item): item is string => typeof item === 'string')
        : undefined;
    },
    integer: (name, min, max) => {
      const value = get(name);
      if (value === undefined) return undefined;
      if (typeof value !== 'string' || !/^[0-9]{1,15}$/.test(value)) {
        throw new CliError(`--${name} must be a whole number`, 2);
      }
      const number = Number(value);
      if (number < min || number > max) {
        throw new CliError(`--${name} must be in ${min}..${max}, got ${number}`, 2);
      }
      return number;
    },
  };
}

function readFlag(given: FlagValue, flag: Flag): FlagValue {
  if (given !== undefined) return given;
  const name = envName(flag);
  const env = process.env[name];
  if (env === undefined) return undefined;
  if (flag.type === 'boolean') {
    if (/^(?:1|true|yes|on)$/i.test(env)) return true;
    if (/^(?:0|false|no|off|)$/i.test(env)) return false;
    throw new CliError(`${name} must be true or false`, 2);
  }
  if (flag.multiple !== true) return env;
  return env
    .split(flag.separator === 'comma' ? ',' : /\s+/)
    .map((part) => part.trim())
    .filter((part) => part !== '');
}

/** `host:port` for a listening address; `[v6]:port` accepted. */
export function parseHostPort(text: string, flag: string): { host: string; port: number } {
  const match = /^(?:\[([0-9A-Fa-f:.]+)\]|([^:[\]]+)):([0-9]{1,5})$/.exec(text);
  const host = match?.[1] ?? match?.[2];
  const port = Number(match?.[3]);
  if (host === undefined || !Number.isInteger(port) || port > 65535) {
    throw new CliError(`--${flag} must be HOST:PORT, e.g. 127.0.0.1:1080; got ${text}`, 2);
  }
  return { host, port };
}

export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** `host` as it appears in a URL (IPv6 in brackets). */
export function urlHost(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}
