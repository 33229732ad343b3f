/**
 * One start → stop session of a `Volunteer` (volunteer.ts): it long-polls the signaling
 * server for consumers, accepts PeerJS data connections only from consumers it was matched
 * with (holding one that arrives before its match briefly), caps each consumer's tunnels,
 * refuses with REFUSED and a reason, and hands each accepted connection to a `Relay`.
 */
import type { DataConnection } from 'peerjs';
import type { EgressInfo, NatType } from '../protocol/matchmaking.ts';
import type { SignalingConfig } from '../protocol/signaling-config.ts';
import { encodeRefused, type TunnelRefusalReason } from '../protocol/tunnel-refused.ts';
import { MeshError } from './errors.ts';
import { Backoff, PeerSession } from './lifecycle.ts';
import { watchEnd, watchFailure } from './peer-connection-watch.ts';
import { Relay, type RelayChannel } from './relay.ts';
import { volunteerPoll, type SignalingClient } from './signaling-client.ts';
import type { TokenBucket } from './token-bucket.ts';
import type { VolunteerEvents, VolunteerOptions } from './volunteer.ts';

/** What a session needs of its Volunteer: the live limits, and a way to report. */
export interface VolunteerHost {
  readonly slots: () => number;
  readonly maxTunnels: () => number;
  report<K extends keyof VolunteerEvents>(type: K, detail: VolunteerEvents[K]): void;
  /** Counts a refusal and reports it. */
  refused(reason: TunnelRefusalReason): void;
}

/**
 * How long an accepted data connection may take to open before it is given up: as long as a
 * consumer waits for it (`Consumer`'s tunnel timeout), after which nobody is at the other end.
 */
const OPEN_TIMEOUT_MS = 15_000;
/** How long a refused consumer has to read REFUSED and close before we close (see #refuse). */
const REFUSAL_LINGER_MS = 3_000;
/** How long a refused connection is held, to open and send its HELLO, to be told why. */
const REFUSAL_WAIT_MS = 10_000;
/** Refused connections held at once to say why; beyond that they are closed without a word. */
const MAX_REFUSING = 16;
const RETRY_MS = [1_000, 2_000, 5_000, 10_000];
/** How long a connection may wait for the poll answer that names its consumer. */
const EARLY_WAIT_MS = 5_000;
/** How often the egress list is read again, so that egresses added or removed are seen. */
const EGRESS_REFRESH_MS = 60_000;
/**
 * How soon after the last read a consumer naming an egress we do not know makes us read the
 * list again (it may have been added since): not more often, since any consumer can ask.
 */
const EGRESS_RECHECK_MS = 5_000;
/** Unannounced connections held at once; more are refused at once. */
const MAX_EARLY = 8;
/** Messages an unannounced connection may send while it waits. */
const MAX_EARLY_MESSAGES = 4;

interface Expected {
  readonly country: string;
  readonly timer: ReturnType<typeof setTimeout>;
}

interface EarlyConnection {
  readonly connection: DataConnection;
  readonly timer: ReturnType<typeof setTimeout>;
  /** Messages that arrived while it waited (at most a few: the HELLO and a handshake). */
  readonly received: unknown[];
  readonly stopRecording: () => void;
}

interface ConsumerEntry {
  readonly key: string;
  readonly country: string;
  readonly relays: Set<Relay>;
}

/** A consumer's data connections that were accepted but have not opened yet. */
interface Opening {
  readonly country: string;
  count: number;
}

/** One start → stop session: its own PeerJS peer, poll loop, relays and timers. */
export class VolunteerRun extends PeerSession {
  readonly #options: VolunteerOptions;
  readonly #bucket: TokenBucket;
  readonly #host: VolunteerHost;
  readonly #expected = new Map<string, Expected>();
  readonly #consumers = new Map<string, ConsumerEntry>();
  /** Connections that came before our poll said who they were (see #accept). */
  readonly #early = new Map<string, EarlyConnection>();
  /** Accepted connections not open yet, by consumer: they count against its tunnel cap. */
  readonly #opening = new Map<string, Opening>();
  /** Connections being refused: each closes once REFUSED is out (see #refuse). */
  readonly #refusing = new Map<DataConnection, () => void>();
  #egresses: readonly EgressInfo[] = [];
  /** When the egress list was last asked for, and whether that read is still under way. */
  #egressesAt = 0;
  #readingEgresses = false;
  #nextKey = 1;
  #up = 0;
  #down = 0;
  #window = 0;
  #meter: ReturnType<typeof setInterval> | undefined;
  #polling: Promise<void> | undefined;

  constructor(
    options: VolunteerOptions,
    signaling: SignalingClient,
    bucket: TokenBucket,
    host: VolunteerHost,
  ) {
    super(signaling, options);
    this.#options = options;
    this.#bucket = bucket;
    this.#host = host;
  }

  protected async open(): Promise<void> {
    const config = await this.readConfig();
    const censored = config.censored?.includes(config.country) ?? false;
    this.#host.report('location', { country: config.country, censored });
    if (censored) {
      throw new MeshError(
        'ERR_CENSORED_LOCATION',
        `sharing is switched off where you are (${config.country}): it could put you at risk`,
      );
    }
    this.#egresses = config.egresses;
    this.#egressesAt = Date.now();
    const peer = await this.joinPeer(config);
    peer.on('connection', (connection) => this.#accept(connection));
    peer.on('error', (err) => this.#host.report('error', { error: err }));
    this.#meter = setInterval(() => this.#measure(), 250);
    this.#polling = this.#pollLoop(config.natProbe);
  }

  protected async close(): Promise<void> {
    clearInterval(this.#meter);
    for (const expected of this.#expected.values()) clearTimeout(expected.timer);
    this.#expected.clear();
    for (const early of this.#early.values()) {
      clearTimeout(early.timer);
      early.connection.close();
    }
    this.#early.clear();
    for (const finish of [...this.#refusing.values()]) finish();
    const relays = [...this.#consumers.values()].flatMap((c) => [...c.relays]);
    for (const relay of relays) relay.close();
    await Promise.all(relays.map((relay) => relay.ended));
    await this.#polling;
  }

  get #busy(): number {
    let busy = this.#expected.size;
    for (const consumer of this.#consumers.values()) busy += consumer.relays.size > 0 ? 1 : 0;
    // A consumer whose first connection is still opening holds its slot too.
    for (const peer of this.#opening.keys()) busy += this.#consumers.has(peer) ? 0 : 1;
    return busy;
  }

  async #pollLoop(probe: SignalingConfig['natProbe']): Promise<void> {
    const backoff = new Backoff(RETRY_MS);
    const peer = this.peer;
    if (peer === undefined) return;
    const nat: NatType = await this.discoverNat(peer, probe);
    this.#host.report('nat', { nat });
    while (!this.aborted) {
      this.#refreshEgresses(EGRESS_REFRESH_MS);
      const free = Math.max(0, this.#host.slots() - this.#busy);
      if (free === 0 || peer.disconnected) {
        await this.sleep(1_000);
        continue;
      }
      try {
        const { match } = await volunteerPoll(
          this.signaling,
          {
            id: peer.id,
            token: this.token,
            slots: free,
            nat,
            kind: this.#options.kind,
            ...(this.#options.pool ? { pool: this.#options.pool } : {}),
          },
          this.signal,
        );
        backoff.reset();
        if (match) this.#expect(match.consumer, match.cc);
      } catch (err) {
        if (this.aborted) return;
        this.#host.report('error', {
          error: err instanceof Error ? err : new Error(String(err)),
        });
        await this.sleep(backoff.next());
      }
    }
  }

  /**
   * Reads the egress list again once `age` ms have passed since the last read, in the
   * background: relays opened afterwards use the new list, so an egress the operator added is
   * usable and one removed is no longer reached. A failed read keeps the old list.
   */
  #refreshEgresses(age: number): void {
    const now = Date.now();
    if (this.#readingEgresses || now - this.#egressesAt < age || this.aborted) return;
    this.#readingEgresses = true;
    this.#egressesAt = now;
    this.signaling.config(this.signal).then(
      (config) => {
        this.#egresses = config.egresses;
        this.#readingEgresses = false;
      },
      () => {
        this.#readingEgresses = false;
      },
    );
  }

  #expect(consumerId: string, country: string): void {
    const previous = this.#expected.get(consumerId);
    if (previous) clearTimeout(previous.timer);
    const timer = setTimeout(
      () => this.#expected.delete(consumerId),
      this.#options.matchTimeoutMs ?? 30_000,
    );
    this.#expected.set(consumerId, { country, timer });
    const early = this.#early.get(consumerId);
    if (early !== undefined) {
      clearTimeout(early.timer);
      this.#early.delete(consumerId);
      early.stopRecording();
      this.#accept(early.connection, early.received);
    }
  }

  #accept(connection: DataConnection, received: readonly unknown[] = []): void {
    const peerId = connection.peer;
    const expected = this.#expected.get(peerId);
    const known = this.#consumers.get(peerId);
    const opening = this.#opening.get(peerId);
    if (expected === undefined && known === undefined && opening === undefined) {
      // Only consumers the signaling server matched us with may connect. The consumer's
      // offer travels over the PeerJS socket and our poll's answer over HTTP, so the offer
      // can arrive first: hold it briefly (a bounded few) for the answer to catch up, and
      // keep what it sends meanwhile (a few messages at most, or it is refused).
      if (this.#early.size >= MAX_EARLY || this.#early.has(peerId)) {
        this.#refuse(connection, 'busy');
        return;
      }
      const buffered: unknown[] = [];
      const record = (data: unknown): void => {
        buffered.push(data);
        if (buffered.length > MAX_EARLY_MESSAGES) drop();
      };
      const drop = (): void => {
        const early = this.#early.get(peerId);
        if (early?.connection !== connection) return;
        clearTimeout(early.timer);
        this.#early.delete(peerId);
        connection.off('data', record);
        connection.close();
      };
      connection.on('data', record);
      this.#early.set(peerId, {
        connection,
        timer: setTimeout(drop, EARLY_WAIT_MS),
        received: buffered,
        stopRecording: () => connection.off('data', record),
      });
      return;
    }
    if (expected) {
      clearTimeout(expected.timer);
      this.#expected.delete(peerId);
    }
    // A consumer needs one tunnel through us; a few more cover tunnels it gave up on that we
    // have not seen close yet. Without a cap, one consumer could open tunnels until the
    // egress's per-address limit on our address shuts out every other consumer.
    const tunnels = (known?.relays.size ?? 0) + (opening?.count ?? 0);
    if (tunnels >= this.#host.maxTunnels()) {
      this.#refuse(connection, 'too-many-tunnels', received.length > 0);
      return;
    }
    const slot: Opening = opening ?? {
      country: expected?.country ?? known?.country ?? '??',
      count: 0,
    };
    slot.count++;
    this.#opening.set(peerId, slot);
    let settled = false;
    /** Gives the connection's place among those opening back; false if already done. */
    const settle = (): boolean => {
      if (settled) return false;
      settled = true;
      clearTimeout(openTimer);
      connection.off('open', begin);
      connection.off('close', giveUp);
      connection.off('error', giveUp);
      slot.count--;
      if (slot.count === 0 && this.#opening.get(peerId) === slot) this.#opening.delete(peerId);
      return true;
    };
    const giveUp = (): void => {
      if (!settle()) return;
      connection.close();
      this.wake();
    };
    const begin = (): void => {
      if (!settle()) return;
      if (this.aborted) return connection.close();
      const channel: RelayChannel = connection.dataChannel;
      const relay = new Relay({
        channel,
        egresses: this.#egresses,
        openSocket: this.#options.openSocket ?? ((url) => new WebSocket(url)),
        bucket: this.#bucket,
        received,
        onBytes: (up, down) => {
          this.#up += up;
          this.#down += down;
          this.#window += up + down;
        },
      });
      const entry = this.#consumers.get(peerId) ?? {
        key: `p${this.#nextKey++}`,
        country: slot.country,
        relays: new Set<Relay>(),
      };
      if (entry.relays.size === 0) {
        this.#consumers.set(peerId, entry);
        this.#host.report('connection', {
          peer: entry.key,
          country: entry.country,
          open: true,
        });
      }
      entry.relays.add(relay);
      // A consumer that vanishes without closing (its process ended) leaves Chromium's data
      // channel open after ICE consent fails; the peer connection's state says it is gone.
      const unwatch = watchEnd(connection, () => relay.close());
      void relay.ended.then((reason) => {
        unwatch();
        if (relay.refusal === undefined) {
          connection.close();
        } else {
          this.#host.refused(relay.refusal);
          if (relay.refusal === 'unknown-egress') this.#refreshEgresses(EGRESS_RECHECK_MS);
          this.#closeAfterRefusal(connection);
        }
        entry.relays.delete(relay);
        if (entry.relays.size === 0 && this.#consumers.get(peerId) === entry) {
          this.#consumers.delete(peerId);
          this.#host.report('connection', {
            peer: entry.key,
            country: entry.country,
            open: false,
            reason,
          });
          this.wake();
        }
      });
    };
    // PeerJS says `close` only for a connection that was open, and not every failed
    // negotiation reaches it as `error` (node-datachannel: a failed DTLS handshake), so the
    // peer connection's own state counts too; one that simply never opens is given up after
    // a while. Until then it counts against the consumer's cap.
    const openTimer = setTimeout(giveUp, OPEN_TIMEOUT_MS);
    if (connection.open) {
      begin();
    } else {
      connection.once('open', begin);
      connection.once('close', giveUp);
      connection.once('error', giveUp);
      watchFailure(connection, giveUp);
    }
  }

  /**
   * Refuses a data connection and tells the consumer why with REFUSED, in answer to its first
   * message (its HELLO), as the relay's own refusals are: by then the consumer's channel is
   * open and listening, so the message cannot arrive before the consumer is ready for it. A
   * connection is held for that a bounded time, and only a bounded few at once; past either
   * bound it is closed without a word. `spoke` says the consumer has sent something already.
   */
  #refuse(connection: DataConnection, reason: TunnelRefusalReason, spoke = false): void {
    this.#host.refused(reason);
    if (this.#refusing.size >= MAX_REFUSING || this.aborted) {
      connection.close();
      return;
    }
    const stopWaiting = (): void => {
      this.#refusing.delete(connection);
      clearTimeout(timer);
      connection.off('open', listen);
      connection.off('data', speak);
      connection.off('error', drop);
    };
    const speak = (): void => {
      stopWaiting();
      try {
        const channel: RelayChannel = connection.dataChannel;
        channel.send(encodeRefused(reason));
      } catch {
        connection.close();
        return;
      }
      this.#closeAfterRefusal(connection);
    };
    const listen = (): void => void connection.once('data', speak);
    const drop = (): void => {
      stopWaiting();
      connection.close();
    };
    const timer = setTimeout(drop, REFUSAL_WAIT_MS);
    this.#refusing.set(connection, drop);
    connection.once('error', drop);
    if (!connection.open) {
      connection.once('open', listen);
      watchFailure(connection, drop);
    } else if (spoke) {
      speak();
    } else {
      listen();
    }
  }

  /**
   * Closes a connection after REFUSED went out on it. Closing at once could overtake the
   * message, so the consumer gets a moment to read it and close its end (ours then closes
   * too); one that does not is closed after that moment.
   */
  #closeAfterRefusal(connection: DataConnection): void {
    if (this.#refusing.size >= MAX_REFUSING || this.aborted) {
      connection.close();
      return;
    }
    const done = (): void => {
      if (!this.#refusing.delete(connection)) return;
      clearTimeout(timer);
      connection.off('close', done);
      connection.close();
    };
    const timer = setTimeout(done, REFUSAL_LINGER_MS);
    this.#refusing.set(connection, done);
    connection.once('close', done);
  }

  #measure(): void {
    this.#host.report('throughput', { bytesPerSecond: this.#window * 4 });
    this.#host.report('bytes', { up: this.#up, down: this.#down });
    this.#window = 0;
  }
}
