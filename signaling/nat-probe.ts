/**
 * NAT discovery: two STUN responders on two UDP ports, and the server's judgement of what it
 * saw. A client gathers ICE candidates with both ports as STUN servers and reports the mapped
 * addresses it was given (`v1/nat-probe`). The judgement rests on what this server observed,
 * not on what the client says: the client only points at which observations are its own, and
 * only observations from the address its HTTP request came from count.
 *
 * - One mapped port seen at both responders: the NAT maps a socket to the same public port
 *   whoever it talks to (endpoint-independent mapping, or no NAT): `unrestricted`. Such a
 *   peer can punch a hole to any other that is not `restricted`, and a `restricted` one can
 *   reach it when its filtering is open (a 1:1 mapping, a public address).
 * - Different ports at the two responders: a new public port per destination (a symmetric
 *   NAT): `restricted`. Two of those cannot connect without a TURN relay.
 * - Nothing seen (UDP blocked, or the client never asked): no evidence, `unknown`.
 *
 * A NAT that maps per destination address only, not per port, looks `unrestricted` here,
 * since both responders share an address; docs/signaling.md says so.
 */
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import type { NatType } from '../protocol/matchmaking.ts';
import { encodeBindingSuccess, parseBindingRequest } from '../protocol/stun.ts';
import { ipv4ToNumber, ipv6ToBigInt } from '../server-kit/ip-address.ts';

/** How long an observation counts as evidence. */
const OBSERVATION_MS = 30_000;
/** Observations kept at most (the oldest go first). */
const MAX_OBSERVATIONS = 65_536;
/** Answers per source address and second: enough for a browser's gathering, no reflector. */
const ANSWERS_PER_SECOND = 20;
/** Mapped addresses a client may point at in one report. */
export const MAX_NAT_CLAIMS = 16;

interface Observation {
  /** Bit 0: seen at the first responder, bit 1: at the second. */
  seen: number;
  until: number;
}

export interface NatProbeOptions {
  /** Address to bind (the signaling server's host). */
  readonly host: string;
  /** First port; the second responder takes the next one. 0: two ports the system picks. */
  readonly port: number;
}

export class NatProbe {
  readonly #sockets: Socket[] = [];
  readonly #observed = new Map<string, Observation>();
  readonly #answers = new Map<string, { second: number; count: number }>();
  #ports: readonly number[] = [];
  /** Datagrams answered and dropped, for the metrics. */
  answered = 0;
  dropped = 0;

  /** The two ports, once listening. */
  get ports(): readonly number[] {
    return this.#ports;
  }

  async listen(options: NatProbeOptions): Promise<void> {
    const family = options.host.includes(':') ? 'udp6' : 'udp4';
    const ports: number[] = [];
    for (const index of [0, 1]) {
      const socket = createSocket({ type: family });
      socket.on('message', (message, from) => this.#receive(socket, index, message, from));
      socket.on('error', () => {
        // A send to an unreachable client fails here; nothing to do about it.
      });
      const wanted = options.port === 0 ? 0 : options.port + index;
      await new Promise<void>((resolve, reject) => {
        socket.once('error', reject);
        socket.bind(wanted, options.host, () => {
          socket.off('error', reject);
          resolve();
        });
      });
      this.#sockets.push(socket);
      ports.push(socket.address().port);
    }
    this.#ports = ports;
  }

  /** `stun:` URLs of both responders, for clients that reach this server as `host`. */
  urls(host: string): string[] {
    const name = host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
    return this.#ports.map((port) => `stun:${name}:${port}`);
  }

  /**
   * What this server saw of `ip`'s mapped ports among `claims` ("ip:port" or "[ip]:port"):
   * `unrestricted`, `restricted`, or undefined when it saw none of them.
   */
  judge(ip: string, claims: readonly string[], now = Date.now()): NatType | undefined {
    let first = false;
    let second = false;
    for (const claim of claims.slice(0, MAX_NAT_CLAIMS)) {
      const endpoint = splitEndpoint(claim);
      if (endpoint === undefined || !sameAddress(endpoint.ip, ip)) continue;
      const seen = this.#observed.get(key(ip, endpoint.port));
      if (seen === undefined || seen.until <= now) continue;
      if (seen.seen === 3) return 'unrestricted';
      if (seen.seen & 1) first = true;
      if (seen.seen & 2) second = true;
    }
    return first && second ? 'restricted' : undefined;
  }

  async close(): Promise<void> {
    await Promise.all(
      this.#sockets.map((socket) => new Promise<void>((resolve) => socket.close(() => resolve()))),
    );
    this.#sockets.length = 0;
  }

  #receive(socket: Socket, index: number, message: Buffer, from: RemoteInfo): void {
    const transactionId = parseBindingRequest(message);
    const address = addressBytes(from.address);
    if (transactionId === undefined || address === undefined || !this.#allow(from.address)) {
      this.dropped += 1;
      return;
    }
    const now = Date.now();
    const id = key(from.address, from.port);
    const previous = this.#observed.get(id);
    this.#observed.delete(id);
    this.#observed.set(id, {
      seen: (previous && previous.until > now ? previous.seen : 0) | (1 << index),
      until: now + OBSERVATION_MS,
    });
    this.#trim(now);
    this.answered += 1;
    socket.send(encodeBindingSuccess(transactionId, address, from.port), from.port, from.address);
  }

  #allow(ip: string): boolean {
    const second = Math.floor(Date.now() / 1000);
    const entry = this.#answers.get(ip);
    if (entry === undefined || entry.second !== second) {
      if (this.#answers.size >= MAX_OBSERVATIONS) this.#answers.clear();
      this.#answers.set(ip, { second, count: 1 });
      return true;
    }
    entry.count += 1;
    return entry.count <= ANSWERS_PER_SECOND;
  }

  #trim(now: number): void {
    for (const [id, observation] of this.#observed) {
      if (this.#observed.size <= MAX_OBSERVATIONS && observation.until > now) break;
      this.#observed.delete(id);
    }
  }
}

function key(ip: string, port: number): string {
  return `${canonical(ip)}|${port}`;
}

/** One spelling per address: IPv4 (also IPv4-mapped IPv6) dotted, IPv6 as its number. */
function canonical(ip: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip)?.[1];
  const v4 = ipv4ToNumber(mapped ?? ip);
  if (v4 !== null) return `4:${v4}`;
  const v6 = ipv6ToBigInt(ip);
  return v6 === null ? ip : `6:${v6}`;
}

function sameAddress(a: string, b: string): boolean {
  return canonical(a) === canonical(b);
}

function splitEndpoint(text: string): { ip: string; port: number } | undefined {
  const match = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(text);
  const port = Number(match?.[3]);
  const ip = match?.[1] ?? match?.[2];
  if (ip === undefined || !(port > 0 && port < 65_536)) return undefined;
  return { ip, port };
}

function addressBytes(ip: string): Uint8Array | undefined {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip)?.[1];
  const v4 = ipv4ToNumber(mapped ?? ip);
  if (v4 !== null) return Uint8Array.of(v4 >>> 24, (v4 >>> 16) & 255, (v4 >>> 8) & 255, v4 & 255);
  const v6 = ipv6ToBigInt(ip);
  if (v6 === null) return undefined;
  const bytes = new Uint8Array(16);
  for (let i = 15, rest = v6; i >= 0; i--, rest >>= 8n) bytes[i] = Number(rest & 255n);
  return bytes;
}
