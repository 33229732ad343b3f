/**
 * Which process opened a TCP connection, from the kernel's own tables (Linux only): the
 * connection's client end is looked up in /proc/net/tcp and /proc/net/tcp6 (the reader's network
 * namespace) for its socket inode, then /proc/PID/fd of every process is scanned for a descriptor
 * that links to `socket:[INODE]`. Each holder's ancestry (parent, grandparent, … up to pid 1) is
 * read at the same moment, so a connection can be classified as "from the Chromium we launched
 * or one of its children" even after those processes have exited.
 *
 * Limits: it sees only processes this user may inspect (all of them as root, or inside
 * scripts/netns-run's user namespace the processes of the same user); only sockets in the
 * reader's network namespace, held by processes in that namespace (a descriptor passed to a
 * process in another one goes unseen); and only sockets that still exist: a client that connected
 * and closed before the lookup leaves nothing to find. Process ids are those of the reader's pid
 * namespace (scripts/netns-run does not make one).
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { isIPv4 } from 'node:net';
import { endianness } from 'node:os';
import { basename } from 'node:path';
import { ipv4ToNumber, ipv6ToBigInt } from '../../server-kit/ip-address.ts';

export interface Endpoint {
  readonly address: string;
  readonly port: number;
}

export interface ProcessInfo {
  readonly pid: number;
  readonly ppid: number;
  /** /proc/PID/comm: the kernel's name for the process, at most 15 characters. */
  readonly comm: string;
  /** Basename of the executable (/proc/PID/exe, else argv[0]): `chromium`, `node`, `curl`. */
  readonly executable: string;
  /** argv, from /proc/PID/cmdline. */
  readonly argv: readonly string[];
  /**
   * argv joined with spaces. Match switches against this, not `argv`: Chromium's child processes
   * rewrite their command line as a single string (`chromium --type=utility …` in one element).
   */
  readonly commandLine: string;
}

export interface SocketHolder {
  readonly process: ProcessInfo;
  /** The holder's parent, its parent, … as far up as /proc shows (pid 1 at most). */
  readonly ancestors: readonly ProcessInfo[];
}

export interface SocketOwner {
  readonly inode: number;
  /** Every process with a descriptor for the socket; usually one. The first is the likeliest opener. */
  readonly holders: readonly SocketHolder[];
}

export type OwnerLookup =
  | { readonly ok: true; readonly owner: SocketOwner }
  | { readonly ok: false; readonly reason: string };

interface TcpEntry {
  readonly local: bigint;
  readonly localPort: number;
  readonly remote: bigint;
  readonly remotePort: number;
  readonly inode: number;
}

const MAPPED_V4 = 0xffffn << 32n;
const LITTLE_ENDIAN = endianness() === 'LE';
const MAX_ANCESTORS = 64;

/** An address as a 128-bit number, IPv4 as its IPv4-mapped IPv6 form, so both files compare. */
export function addressKey(text: string): bigint | null {
  if (isIPv4(text)) {
    const v4 = ipv4ToNumber(text);
    return v4 === null ? null : MAPPED_V4 | BigInt(v4);
  }
  return ipv6ToBigInt(text);
}

/**
 * The kernel prints each 32-bit word of an address as a number in host byte order, so on a
 * little-endian machine 127.0.0.1 reads `0100007F`.
 */
function procAddress(hex: string): bigint | null {
  if (hex.length !== 8 && hex.length !== 32) return null;
  let value = 0n;
  for (let word = 0; word < hex.length; word += 8) {
    const bytes = Buffer.from(hex.slice(word, word + 8), 'hex');
    if (LITTLE_ENDIAN) bytes.reverse();
    value = (value << 32n) | BigInt(bytes.readUInt32BE(0));
  }
  return hex.length === 8 ? MAPPED_V4 | value : value;
}

function procEndpoint(text: string | undefined): { address: bigint; port: number } | null {
  const [hex, port] = (text ?? '').split(':');
  if (hex === undefined || port === undefined) return null;
  const address = procAddress(hex);
  if (address === null) return null;
  return { address, port: Number.parseInt(port, 16) };
}

function readTcpTable(path: string): TcpEntry[] {
  let text: string;
  try {
    text = readFileSync(path, 'latin1');
  } catch {
    return []; // no IPv6 in this kernel or namespace
  }
  const entries: TcpEntry[] = [];
  for (const line of text.split('\n').slice(1)) {
    const fields = line.trim().split(/\s+/);
    const local = procEndpoint(fields[1]);
    const remote = procEndpoint(fields[2]);
    const inode = Number(fields[9]);
    if (local === null || remote === null || !Number.isSafeInteger(inode)) continue;
    entries.push({
      local: local.address,
      localPort: local.port,
      remote: remote.address,
      remotePort: remote.port,
      inode,
    });
  }
  return entries;
}

/**
 * The inode of the socket whose local end is `client` and remote end is `server`: the client's
 * side of a connection a server accepted. Undefined when there is no such socket (the client
 * has closed it) or it is in TIME_WAIT (inode 0, no process holds it).
 */
export function clientSocketInode(client: Endpoint, server: Endpoint): number | undefined {
  const clientKey = addressKey(client.address);
  const serverKey = addressKey(server.address);
  if (clientKey === null || serverKey === null) return undefined;
  for (const path of ['/proc/net/tcp', '/proc/net/tcp6']) {
    for (const entry of readTcpTable(path)) {
      if (
        entry.localPort === client.port &&
        entry.remotePort === server.port &&
        entry.local === clientKey &&
        entry.remote === serverKey &&
        entry.inode !== 0
      ) {
        return entry.inode;
      }
    }
  }
  return undefined;
}

function allPids(): number[] {
  return readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .map(Number);
}

function holdsSocket(pid: number, link: string): boolean {
  let fds: string[];
  try {
    fds = readdirSync(`/proc/${pid}/fd`);
  } catch {
    return false; // gone, or not ours to inspect
  }
  for (const fd of fds) {
    try {
      if (readlinkSync(`/proc/${pid}/fd/${fd}`) === link) return true;
    } catch {
      // closed while we looked
    }
  }
  return false;
}

function networkNamespace(pid: number | 'self'): string | undefined {
  try {
    return readlinkSync(`/proc/${pid}/ns/net`);
  } catch {
    return undefined;
  }
}

/**
 * Processes with a descriptor for socket `inode`. A client may close its socket while we look
 * (Chromium drops spare connections at once), so the likeliest holders go first: `hints`
 * (processes that opened earlier connections), and when one of them holds it the search stops
 * there, in a millisecond or so. Otherwise every process in the reader's network namespace is
 * looked at, newest first (the test's own), and every holder is returned: a socket can be shared
 * (a fork without close-on-exec, a passed descriptor). Processes in other network namespaces
 * (outside scripts/netns-run) are skipped. A full scan takes a few milliseconds.
 */
export function socketHolders(inode: number, hints: readonly number[] = []): number[] {
  const link = `socket:[${inode}]`;
  const ours = networkNamespace('self');
  const hinted = hints.find((pid) => holdsSocket(pid, link));
  if (hinted !== undefined) return [hinted];
  return allPids()
    .sort((a, b) => b - a)
    .filter((pid) => networkNamespace(pid) === ours && holdsSocket(pid, link));
}

/** What /proc says about `pid`, or undefined when it has exited. */
export function processInfo(pid: number): ProcessInfo | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
  } catch {
    return undefined;
  }
  // `pid (comm) state ppid …`: comm may itself contain spaces and parentheses.
  const afterComm = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ppid = Number(afterComm[1]);
  const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
  let argv: string[] = [];
  try {
    argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    if (argv.at(-1) === '') argv.pop();
  } catch {
    // a zombie has none
  }
  let executable = argv[0] === undefined ? comm : basename(argv[0]);
  try {
    executable = basename(readlinkSync(`/proc/${pid}/exe`).replace(/ \(deleted\)$/, ''));
  } catch {
    // not ours to inspect: argv[0] is the next best thing
  }
  return {
    pid,
    ppid: Number.isSafeInteger(ppid) ? ppid : 0,
    comm,
    executable,
    argv,
    commandLine: argv.join(' '),
  };
}

/** The parent chain of `info`, nearest first, stopping at pid 1 or where /proc runs out. */
export function ancestorsOf(info: ProcessInfo): ProcessInfo[] {
  const chain: ProcessInfo[] = [];
  const seen = new Set([info.pid]);
  let ppid = info.ppid;
  while (ppid > 0 && !seen.has(ppid) && chain.length < MAX_ANCESTORS) {
    seen.add(ppid);
    const parent = processInfo(ppid);
    if (parent === undefined) break;
    chain.push(parent);
    ppid = parent.ppid;
  }
  return chain;
}

/** Is `holder` the process `pid`, or (with `descendants`) one of its children, grandchildren…? */
export function holderIsWithin(holder: SocketHolder, pid: number, descendants = true): boolean {
  if (holder.process.pid === pid) return true;
  return descendants && holder.ancestors.some((ancestor) => ancestor.pid === pid);
}

/**
 * Who opened the connection whose client end is `client` and server end is `server` (as the
 * server sees them: `socket.remoteAddress/remotePort` and `socket.localAddress/localPort`).
 * Call it while the client still holds the socket: at accept time, before answering.
 */
export function ownerOfConnection(
  client: Endpoint,
  server: Endpoint,
  hints: readonly number[] = [],
): OwnerLookup {
  const inode = clientSocketInode(client, server);
  if (inode === undefined) {
    return {
      ok: false,
      reason: `no client socket ${client.address}:${client.port} → ${server.address}:${server.port} in /proc/net/tcp{,6} (closed already, or another network namespace)`,
    };
  }
  const holders: SocketHolder[] = [];
  for (const pid of socketHolders(inode, hints)) {
    const info = processInfo(pid);
    if (info !== undefined) holders.push({ process: info, ancestors: ancestorsOf(info) });
  }
  if (holders.length === 0) {
    const closed = clientSocketInode(client, server) !== inode;
    return {
      ok: false,
      reason: closed
        ? `the client closed socket ${inode} during the lookup, before any process was found to hold it`
        : `socket ${inode} is held by no process we may inspect (another user's, or another network namespace's)`,
    };
  }
  return { ok: true, owner: { inode, holders } };
}

/** Every process /proc shows, for finding the ones a test launched. */
export function listProcesses(): ProcessInfo[] {
  const out: ProcessInfo[] = [];
  for (const pid of allPids()) {
    const info = processInfo(pid);
    if (info !== undefined) out.push(info);
  }
  return out;
}

export interface FindChromiumOptions {
  /** Only the browser started with `--user-data-dir=DIR` (playwright passes it). */
  readonly userDataDir?: string;
  /** Only a browser below this process (default: this one). */
  readonly below?: number;
}

/**
 * The browser process of a Chromium this process launched (playwright's persistent contexts do
 * not expose its pid): the `chromium` process below `below` without a `--type=` switch
 * (renderers, the GPU and the network service all have one). Throws unless exactly one matches.
 */
export function findChromiumBrowser(options: FindChromiumOptions = {}): ProcessInfo {
  const below = options.below ?? process.pid;
  const candidates = listProcesses().filter(
    (info) =>
      (info.executable === 'chromium' || info.comm === 'chromium') &&
      !hasSwitch(info, '--type') &&
      (options.userDataDir === undefined ||
        hasSwitch(info, '--user-data-dir', options.userDataDir)) &&
      ancestorsOf(info).some((ancestor) => ancestor.pid === below),
  );
  if (candidates.length !== 1) {
    throw new Error(
      `expected one Chromium browser process below pid ${below}${
        options.userDataDir === undefined ? '' : ` with --user-data-dir=${options.userDataDir}`
      }, found ${candidates.length}: ${candidates.map((c) => c.pid).join(', ')}`,
    );
  }
  return candidates[0]!;
}

/**
 * Does the command line carry `--name` (with `value`, when given)? Read from `commandLine`, so it
 * works for Chromium's children too. `switchValue` gives the value itself.
 */
export function hasSwitch(info: ProcessInfo, name: string, value?: string): boolean {
  const found = switchValue(info, name);
  return found !== undefined && (value === undefined || found === value);
}

export function switchValue(info: ProcessInfo, name: string): string | undefined {
  for (const word of info.commandLine.split(' ')) {
    if (word === name) return '';
    if (word.startsWith(`${name}=`)) return word.slice(name.length + 1);
  }
  return undefined;
}

/** `1234 chromium --type=utility --utility-sub-type=network.mojom.NetworkService …`, shortened. */
export function describeProcess(info: ProcessInfo, maxArgs = 4): string {
  const words = info.commandLine.split(' ');
  const args = words.slice(1, 1 + maxArgs).join(' ');
  const more = words.length > 1 + maxArgs ? ' …' : '';
  return `${info.pid} ${info.executable}${args === '' ? '' : ` ${args}`}${more}`;
}
