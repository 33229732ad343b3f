import { Emitter } from '../mesh/emitter.ts';
import type {
  VolunteerContract,
  VolunteerContractEvents,
  VolunteerState,
} from '../mesh/volunteer-contract.ts';

/** Countries mock consumers come from: places where people route around censorship. */
const MOCK_COUNTRIES = ['IR', 'CN', 'RU', 'MM', 'BY', 'TM', 'VE', 'EG', 'PK', 'VN', 'CU', 'UZ'];

export interface MockVolunteerOptions {
  /** Fake consumers arrive, leave and send traffic by themselves while on (default true).
   * With false, consumers and traffic are only what `connect`, `disconnect` and `relay` make
   * (the meter still reports four times a second while on, as the real runtime does). */
  readonly auto?: boolean;
  readonly startDelayMs?: number;
  readonly stopDelayMs?: number;
  /** The volunteer's own country (default "DE"). */
  readonly country?: string;
  /** Pretend the volunteer's own country is censored, to show the guard. */
  readonly censored?: boolean;
  readonly slots?: number;
  /** Source of randomness in [0, 1), for repeatable demos. */
  readonly random?: () => number;
}

interface MockPeer {
  readonly country: string;
  channels: number;
  bytesPerSecond: number;
  leaveAt: number;
}

const TICK_MS = 250;

/**
 * A volunteer runtime that touches no network: fake consumers from several countries
 * arrive and leave, and fake traffic flows. Mock mode is a feature (demos, embed
 * previews, design work), and the test double for the widget. It keeps mesh's volunteer
 * contract (the contract suite runs against both).
 */
export class MockVolunteer extends Emitter<VolunteerContractEvents> implements VolunteerContract {
  slots: number;
  readonly #peers = new Map<string, MockPeer>();
  readonly #options: MockVolunteerOptions;
  readonly #random: () => number;
  #state: VolunteerState = 'off';
  #wantOn = false;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #ticker: ReturnType<typeof setInterval> | undefined;
  #nextArrival = 0;
  #nextKey = 1;
  #elapsed = 0;
  #up = 0;
  #down = 0;
  readonly #starts: { resolve: () => void; reject: (error: Error) => void }[] = [];

  constructor(options: MockVolunteerOptions = {}) {
    super();
    this.#options = options;
    this.slots = options.slots ?? 5;
    this.#random = options.random ?? Math.random;
  }

  get state(): VolunteerState {
    return this.#state;
  }

  /** Peer keys of the consumers connected now. */
  get peerKeys(): string[] {
    return [...this.#peers.keys()];
  }

  start(): Promise<void> {
    this.#wantOn = true;
    if (this.#state === 'on') return Promise.resolve();
    const started = new Promise<void>((resolve, reject) => this.#starts.push({ resolve, reject }));
    // Starting: that start settles it; stopping: the stop's end starts again.
    if (this.#state === 'off') this.#begin();
    return started;
  }

  stop(): Promise<void> {
    this.#wantOn = false;
    if (this.#state === 'off') return Promise.resolve();
    const stopped = new Promise<void>((resolve) => {
      const off = this.on('ready', () => {
        off();
        resolve();
      });
    });
    if (this.#state === 'starting') {
      clearTimeout(this.#timer);
      this.#settleStarts();
      this.#setState('stopping');
      this.#end();
    } else if (this.#state === 'on') {
      this.#setState('stopping');
      clearInterval(this.#ticker);
      this.#ticker = undefined;
      this.emit('throughput', { bytesPerSecond: 0 });
      for (const key of [...this.#peers.keys()]) this.disconnect(key);
      this.#timer = setTimeout(() => this.#end(), this.#options.stopDelayMs ?? 900);
    }
    return stopped;
  }

  /** A consumer opens a data channel (it arrives if the key is new; `??`: country unknown). */
  connect(peer: string, country = '??'): void {
    const known = this.#peers.get(peer);
    if (known) {
      known.channels++;
      return;
    }
    this.#peers.set(peer, {
      country,
      channels: 1,
      bytesPerSecond: 20_000 + this.#random() * 300_000,
      leaveAt: this.#elapsed + 8_000 + this.#random() * 30_000,
    });
    this.emit('connection', { peer, country, open: true });
  }

  /** Closes every channel of a consumer: it leaves. */
  disconnect(peer: string): void {
    const known = this.#peers.get(peer);
    if (!known) return;
    this.#peers.delete(peer);
    this.emit('connection', { peer, country: known.country, open: false });
  }

  /** Relays bytes (consumer → egress `up`, back `down`); reports the new totals. */
  relay(up: number, down = 0): void {
    this.#up += up;
    this.#down += down;
    this.emit('bytes', { up: this.#up, down: this.#down });
  }

  #begin(): void {
    this.#setState('starting');
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      const country = this.#options.country ?? 'DE';
      const censored = this.#options.censored ?? false;
      this.emit('location', { country, censored });
      if (censored) {
        // As the real runtime does: say why, then go off again.
        const error = Object.assign(
          new Error(`sharing is switched off where you are (${country}): it could put you at risk`),
          { code: 'ERR_CENSORED_LOCATION' },
        );
        this.emit('error', { error });
        this.#wantOn = false;
        this.#settleStarts(error);
        this.#setState('stopping');
        this.#end();
        return;
      }
      this.#up = 0;
      this.#down = 0;
      this.#elapsed = 0;
      this.#nextArrival = 400;
      this.#setState('on');
      this.#settleStarts();
      this.#ticker = setInterval(() => this.#tick(), TICK_MS);
    }, this.#options.startDelayMs ?? 700);
  }

  #end(): void {
    this.#timer = undefined;
    this.#setState('off');
    this.emit('ready', {});
    if (this.#wantOn) this.#begin();
  }

  #settleStarts(error?: Error): void {
    for (const { resolve, reject } of this.#starts.splice(0)) {
      if (error === undefined) resolve();
      else reject(error);
    }
  }

  #setState(state: VolunteerState): void {
    this.#state = state;
    this.emit('state', { state });
  }

  #tick(): void {
    const rate = (this.#options.auto ?? true) ? this.#simulate() : 0;
    this.emit('throughput', { bytesPerSecond: rate });
    this.relay(Math.round((rate * TICK_MS) / 1000));
  }

  /** Consumers come and go and send traffic; returns the bytes per second relayed now. */
  #simulate(): number {
    this.#elapsed += TICK_MS;
    for (const [key, peer] of this.#peers) if (peer.leaveAt <= this.#elapsed) this.disconnect(key);
    if (this.#elapsed >= this.#nextArrival) {
      this.#nextArrival = this.#elapsed + 1_500 + this.#random() * 3_500;
      if (this.#peers.size < this.slots) {
        const country = MOCK_COUNTRIES[Math.floor(this.#random() * MOCK_COUNTRIES.length)] ?? 'IR';
        const key = `mock-${this.#nextKey++}`;
        this.connect(key, country);
        // Consumers often open a second data channel; it is still one consumer.
        if (this.#random() < 0.3) this.connect(key, country);
      }
    }
    let rate = 0;
    for (const peer of this.#peers.values()) {
      peer.bytesPerSecond = Math.max(
        4_000,
        Math.min(600_000, peer.bytesPerSecond * (0.8 + this.#random() * 0.4)),
      );
      rate += peer.bytesPerSecond;
    }
    return Math.round(rate);
  }
}
