/**
 * The real runtime behind the widget: mesh's `Volunteer`, made when sharing is first
 * switched on, so that mesh (and PeerJS with it) loads only then and the widget stays small.
 * It keeps the same contract and passes the Volunteer's events on unchanged; until the
 * Volunteer exists it says `starting` itself.
 */
import { Emitter } from '../mesh/emitter.ts';
import type {
  VolunteerContract,
  VolunteerContractEvents,
  VolunteerState,
} from '../mesh/volunteer-contract.ts';
import type { Volunteer } from '../mesh/volunteer.ts';
import { loadSiteConfig, SITE_CONFIG_FILE } from './site-config.ts';
import type { VolunteerFactory, VolunteerOptions } from './volunteer-runtime.ts';

/** Passed on as they come; `state` goes through #say. */
const EVENTS = [
  'connection',
  'throughput',
  'bytes',
  'error',
  'ready',
  'location',
] as const satisfies readonly (keyof VolunteerContractEvents)[];

export class LazyMeshVolunteer
  extends Emitter<VolunteerContractEvents>
  implements VolunteerContract
{
  readonly #options: VolunteerOptions;
  #slots: number;
  #volunteer: Volunteer | undefined;
  #loading: Promise<Volunteer> | undefined;
  #wantOn = false;
  /** The last state announced: the Volunteer's own `starting` repeats ours. */
  #said: VolunteerState = 'off';

  constructor(options: VolunteerOptions) {
    super();
    this.#options = options;
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

  async start(): Promise<void> {
    if (this.#volunteer === undefined) this.#say('starting');
    this.#wantOn = true;
    let volunteer: Volunteer;
    try {
      volunteer = await this.#load();
    } catch (err) {
      // The chunk or config.json did not load: nothing started, so it is off and quiet.
      const error = err instanceof Error ? err : new Error(String(err));
      if (this.#wantOn) {
        this.#wantOn = false;
        this.#loading = undefined;
        this.emit('error', { error });
        this.#say('off');
        this.emit('ready', {});
      }
      throw error;
    }
    if (this.#wantOn) await volunteer.start();
  }

  async stop(): Promise<void> {
    const wasOn = this.#wantOn;
    this.#wantOn = false;
    if (this.#volunteer !== undefined) return this.#volunteer.stop();
    if (!wasOn) return;
    // Still loading: nothing was started, so it is quiet already.
    this.#say('off');
    this.emit('ready', {});
  }

  #say(state: VolunteerState): void {
    if (state === this.#said) return;
    this.#said = state;
    this.emit('state', { state });
  }

  /** mesh (loaded on first use) and the signaling URL (from the site's config.json if asked). */
  async #signaling(): Promise<string> {
    const { site, signaling } = this.#options;
    if (site === undefined) return signaling;
    const url = new URL(SITE_CONFIG_FILE, site).href;
    return (await loadSiteConfig(url, { signaling })).signaling;
  }

  #load(): Promise<Volunteer> {
    this.#loading ??= Promise.all([import('../mesh/volunteer.ts'), this.#signaling()]).then(
      ([{ Volunteer }, signaling]) => {
        const volunteer = new Volunteer({ signaling, kind: 'browser', slots: this.#slots });
        const source: VolunteerContract = volunteer;
        const forward = <K extends keyof VolunteerContractEvents>(type: K): void =>
          void source.on(type, (detail) => this.emit(type, detail));
        EVENTS.forEach(forward);
        volunteer.on('state', ({ state }) => this.#say(state));
        this.#volunteer = volunteer;
        return volunteer;
      },
    );
    return this.#loading;
  }
}

export const meshVolunteerFactory: VolunteerFactory = (options) => new LazyMeshVolunteer(options);
