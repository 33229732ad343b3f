import {
  VolunteerEvents,
  type VolunteerEventMap,
  type VolunteerEventType,
  type VolunteerRuntime,
  type VolunteerState,
} from './volunteer-runtime.ts';

/** Countries mock consumers come from: places where people route around censorship. */
const MOCK_COUNTRIES = ['IR', 'CN', 'RU', 'MM', 'BY', 'TM', 'VE', 'EG', 'PK', 'VN', 'CU', 'UZ'];

export interface MockVolunteerOptions {
  /** Fake consumers arrive, leave and send traffic by themselves while on (default true).
   * With false, nothing happens but what `connect`, `disconnect` and `relay` do. */
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
 * previews, design work), and the test double for the widget.
 */
export class MockVolunteer implements VolunteerRuntime {
  slots: number;
  readonly #events = new VolunteerEvents();
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

  constructor(options: MockVolunteerOptions = {}) {
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

  on<K extends VolunteerEventType>(
    type: K,
    listener: (detail: VolunteerEventMap[K]) => void,
  ): () => void {
    return this.#events.on(type, listener);
  }

  start(): void {
    this.#wantOn = true;
    if (this.#state !== 'off') return; // starting or on: nothing to do; stopping: resumes
    this.#setState('starting');
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      const country = this.#options.country ?? 'DE';
      const censored = this.#options.censored ?? false;
      this.#events.emit('location', { country, censored });
      if (censored || !this.#wantOn) {
        this.#setState('off');
        return;
      }
      this.#setState('on');
      this.#elapsed = 0;
      this.#nextArrival = 400;
      this.#ticker = setInterval(() => this.#tick(), TICK_MS);
    }, this.#options.startDelayMs ?? 700);
  }

  stop(): void {
    this.#wantOn = false;
    if (this.#state === 'starting') {
      clearTimeout(this.#timer);
      this.#timer = undefined;
      this.#setState('off');
      this.#events.emit('ready', {});
      return;
    }
    if (this.#state !== 'on') return;
    this.#setState('stopping');
    clearInterval(this.#ticker);
    this.#ticker = undefined;
    this.#events.emit('throughput', { bytesPerSecond: 0 });
    for (const key of [...this.#peers.keys()]) this.disconnect(key);
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#setState('off');
      this.#events.emit('ready', {});
      if (this.#wantOn) this.start();
    }, this.#options.stopDelayMs ?? 900);
  }

  /** Opens one more channel from a consumer (a new consumer if the key is new). */
  connect(peerKey: string, country: string | null): void {
    const peer = this.#peers.get(peerKey);
    if (peer) peer.channels++;
    else
      this.#peers.set(peerKey, {
        country: country ?? 'ZZ',
        channels: 1,
        bytesPerSecond: 20_000 + this.#random() * 300_000,
        leaveAt: this.#elapsed + 8_000 + this.#random() * 30_000,
      });
    this.#events.emit('connection', { peerKey, country, open: true });
  }

  /** Closes every channel of a consumer. */
  disconnect(peerKey: string): void {
    const peer = this.#peers.get(peerKey);
    if (!peer) return;
    this.#peers.delete(peerKey);
    const country = peer.country === 'ZZ' ? null : peer.country;
    for (let i = 0; i < peer.channels; i++)
      this.#events.emit('connection', { peerKey, country, open: false });
  }

  /** Reports relayed bytes, as the real runtime does after each message. */
  relay(bytes: number): void {
    this.#events.emit('bytes', { bytes });
  }

  dispose(): void {
    clearTimeout(this.#timer);
    clearInterval(this.#ticker);
    this.#peers.clear();
    this.#state = 'off';
    this.#events.clear();
  }

  #setState(state: VolunteerState): void {
    this.#state = state;
    this.#events.emit('state', { state });
  }

  #tick(): void {
    if (!(this.#options.auto ?? true)) return;
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
    rate = Math.round(rate);
    this.#events.emit('throughput', { bytesPerSecond: rate });
    const bytes = Math.round((rate * TICK_MS) / 1000);
    if (bytes > 0) this.relay(bytes);
  }
}
