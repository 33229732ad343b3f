/**
 * The real runtime behind the widget: mesh's `Volunteer`, adapted to the
 * widget's `VolunteerRuntime` contract. mesh (and PeerJS with it) is imported
 * only when the user first switches sharing on, so the widget stays small.
 */
import type { Volunteer } from '../mesh/volunteer.ts';
import { loadSiteConfig, SITE_CONFIG_FILE } from './site-config.ts';
import {
  VolunteerEvents,
  type VolunteerEventMap,
  type VolunteerEventType,
  type VolunteerFactory,
  type VolunteerOptions,
  type VolunteerRuntime,
  type VolunteerState,
} from './volunteer-runtime.ts';

export class MeshVolunteerRuntime implements VolunteerRuntime {
  readonly #events = new VolunteerEvents();
  readonly #signaling: string;
  readonly #site: string | undefined;
  #slots: number;
  #volunteer: Volunteer | undefined;
  #loading: Promise<Volunteer> | undefined;
  #wantOn = false;
  #lastTotal = 0;

  constructor(options: VolunteerOptions) {
    this.#signaling = options.signaling;
    this.#site = options.site;
    this.#slots = options.slots;
  }

  get state(): VolunteerState {
    return this.#volunteer?.state ?? (this.#wantOn ? 'starting' : 'off');
  }

  get slots(): number {
    return this.#slots;
  }

  set slots(slots: number) {
    this.#slots = slots;
    if (this.#volunteer) this.#volunteer.slots = slots;
  }

  start(): void {
    this.#wantOn = true;
    if (this.#volunteer === undefined) this.#events.emit('state', { state: 'starting' });
    this.#load()
      .then((volunteer) => (this.#wantOn ? volunteer.start() : undefined))
      .catch((err: unknown) => this.#fail(err));
  }

  stop(): void {
    this.#wantOn = false;
    const volunteer = this.#volunteer;
    if (volunteer === undefined) {
      // Still loading: nothing was started, so it is quiet already.
      this.#events.emit('state', { state: 'off' });
      this.#events.emit('ready', {});
      return;
    }
    volunteer.stop().catch((err: unknown) => this.#fail(err));
  }

  on<K extends VolunteerEventType>(
    type: K,
    listener: (detail: VolunteerEventMap[K]) => void,
  ): () => void {
    return this.#events.on(type, listener);
  }

  dispose(): void {
    this.stop();
    this.#events.clear();
  }

  #fail(err: unknown): void {
    this.#events.emit('error', { error: err instanceof Error ? err : new Error(String(err)) });
  }

  /** mesh (loaded on first use) and the signaling URL (from the site's config.json if asked). */
  async #imports(): Promise<{ Volunteer: typeof Volunteer; signaling: string }> {
    const [{ Volunteer }, signaling] = await Promise.all([
      import('../mesh/volunteer.ts'),
      this.#configuredSignaling(),
    ]);
    return { Volunteer, signaling };
  }

  async #configuredSignaling(): Promise<string> {
    const site = this.#site;
    if (site === undefined) return this.#signaling;
    const url = new URL(SITE_CONFIG_FILE, site).href;
    return (await loadSiteConfig(url, { signaling: this.#signaling })).signaling;
  }

  #load(): Promise<Volunteer> {
    this.#loading ??= this.#imports().then(({ Volunteer, signaling }) => {
      const volunteer = new Volunteer({
        signaling,
        kind: 'browser',
        slots: this.#slots,
      });
      volunteer.on('state', ({ state }) => {
        // Each start counts its bytes from zero.
        if (state === 'starting') this.#lastTotal = 0;
        this.#events.emit('state', { state });
      });
      volunteer.on('ready', () => this.#events.emit('ready', {}));
      volunteer.on('connection', ({ peer, country, open }) =>
        this.#events.emit('connection', {
          peerKey: peer,
          country: country === '??' ? null : country,
          open,
        }),
      );
      volunteer.on('throughput', ({ bytesPerSecond }) =>
        this.#events.emit('throughput', { bytesPerSecond }),
      );
      volunteer.on('bytes', ({ up, down }) => {
        const delta = up + down - this.#lastTotal;
        this.#lastTotal = up + down;
        if (delta > 0) this.#events.emit('bytes', { bytes: delta });
      });
      volunteer.on('error', ({ error }) => this.#events.emit('error', { error }));
      volunteer.on('location', ({ country, censored }) =>
        this.#events.emit('location', { country: country === '??' ? null : country, censored }),
      );
      this.#volunteer = volunteer;
      return volunteer;
    });
    return this.#loading;
  }
}

export const meshVolunteerFactory: VolunteerFactory = (options) =>
  new MeshVolunteerRuntime(options);
