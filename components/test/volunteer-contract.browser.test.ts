// The volunteer contract (mesh/volunteer-contract.ts), one suite run against every runtime the
// widget can drive: the MockVolunteer and mesh's real Volunteer over a real signaling server
// (started by components/test/signaling-plugin.mjs), both in real Chromium.
import { Volunteer } from '../../mesh/volunteer.ts';
import type {
  VolunteerContract,
  VolunteerContractEvents,
  VolunteerState,
} from '../../mesh/volunteer-contract.ts';
import '../browsers-unbounded.ts';
import { LazyMeshVolunteer, meshVolunteerFactory } from '../mesh-volunteer.ts';
import { MockVolunteer } from '../mock-volunteer.ts';
import { afterEach, deepEqual, describe, equal, it, ok, until } from './harness.ts';

interface Recorder {
  readonly states: VolunteerState[];
  readonly events: (keyof VolunteerContractEvents)[];
  readonly bytes: VolunteerContractEvents['bytes'][];
  readonly locations: VolunteerContractEvents['location'][];
  readonly throughput: number[];
  readonly errors: Error[];
  clear(): void;
}

function record(runtime: VolunteerContract): Recorder {
  const recorder: Recorder = {
    states: [],
    events: [],
    bytes: [],
    locations: [],
    throughput: [],
    errors: [],
    clear() {
      for (const list of [this.states, this.events, this.bytes, this.locations, this.throughput])
        list.length = 0;
      this.errors.length = 0;
    },
  };
  const note =
    <K extends keyof VolunteerContractEvents>(
      type: K,
      then?: (d: VolunteerContractEvents[K]) => void,
    ) =>
    (detail: VolunteerContractEvents[K]) => {
      recorder.events.push(type);
      then?.(detail);
    };
  runtime.on(
    'state',
    note('state', ({ state }) => recorder.states.push(state)),
  );
  runtime.on('ready', note('ready'));
  runtime.on(
    'location',
    note('location', (location) => recorder.locations.push(location)),
  );
  runtime.on(
    'bytes',
    note('bytes', (bytes) => recorder.bytes.push(bytes)),
  );
  runtime.on(
    'throughput',
    note('throughput', ({ bytesPerSecond }) => recorder.throughput.push(bytesPerSecond)),
  );
  runtime.on(
    'error',
    note('error', ({ error }) => recorder.errors.push(error)),
  );
  runtime.on('connection', note('connection'));
  return recorder;
}

/** Runs the contract against runtimes `make` creates (a fresh one per test). */
function contractSuite(name: string, make: () => Promise<VolunteerContract>): void {
  describe(`volunteer contract: ${name}`, () => {
    const made: VolunteerContract[] = [];
    const fresh = async () => {
      const runtime = await make();
      made.push(runtime);
      return { runtime, seen: record(runtime) };
    };

    afterEach(async () => {
      await Promise.all(made.splice(0).map((runtime) => runtime.stop()));
    });

    it('starts off and goes off → starting → on, saying where it is first', async () => {
      const { runtime, seen } = await fresh();
      equal(runtime.state, 'off');
      await runtime.start();
      equal(runtime.state, 'on');
      deepEqual(seen.states, ['starting', 'on']);
      equal(seen.locations.length, 1, 'one location event:');
      const [location] = seen.locations;
      ok(location && typeof location.country === 'string' && location.censored === false);
      ok(seen.events.indexOf('location') < seen.events.lastIndexOf('state'), 'location before on');
      equal(seen.errors.length, 0);
    });

    it('shares one start between calls, and start when on does nothing', async () => {
      const { runtime, seen } = await fresh();
      await Promise.all([runtime.start(), runtime.start(), runtime.start()]);
      await runtime.start();
      deepEqual(seen.states, ['starting', 'on']);
    });

    it('reports throughput and byte totals while on', async () => {
      const { runtime, seen } = await fresh();
      await runtime.start();
      await until(() => seen.throughput.length >= 2 && seen.bytes.length >= 2, 'meter events');
      for (const rate of seen.throughput) ok(Number.isFinite(rate) && rate >= 0);
      for (const { up, down } of seen.bytes) ok(up >= 0 && down >= 0);
      const totals = seen.bytes.map(({ up, down }) => up + down);
      deepEqual(
        totals,
        [...totals].sort((a, b) => a - b),
        'totals never go down:',
      );
    });

    it('stops on → stopping → off, then ready, and stop() resolves after ready', async () => {
      const { runtime, seen } = await fresh();
      await runtime.start();
      seen.clear();
      await runtime.stop();
      equal(runtime.state, 'off');
      deepEqual(seen.states, ['stopping', 'off']);
      equal(seen.events.at(-1), 'ready', 'ready comes last:');
      const events = seen.events.length;
      await runtime.stop();
      equal(seen.events.length, events, 'stop when off says nothing:');
    });

    it('a stop while starting ends off and ready; the start does not leave it on', async () => {
      const { runtime, seen } = await fresh();
      const started = runtime.start().catch(() => undefined);
      await runtime.stop();
      await started;
      await until(() => runtime.state === 'off', 'off');
      equal(seen.states.at(-1), 'off');
      ok(seen.events.includes('ready'), 'ready after the stop');
    });

    it('starts again after a stop, counting bytes from zero and taking new slots', async () => {
      const { runtime, seen } = await fresh();
      await runtime.start();
      await runtime.stop();
      runtime.slots = 2;
      equal(runtime.slots, 2);
      seen.clear();
      await runtime.start();
      equal(runtime.state, 'on');
      deepEqual(seen.states, ['starting', 'on']);
      await until(() => seen.bytes.length > 0, 'a bytes event');
      deepEqual(seen.bytes[0], { up: 0, down: 0 }, 'a new start counts from zero:');
    });

    it('start while stopping waits for the stop, then starts', async () => {
      const { runtime, seen } = await fresh();
      await runtime.start();
      seen.clear();
      const stopped = runtime.stop();
      const started = runtime.start();
      await Promise.all([stopped, started]);
      equal(runtime.state, 'on');
      deepEqual(seen.states, ['stopping', 'off', 'starting', 'on']);
    });
  });
}

contractSuite('MockVolunteer', () =>
  Promise.resolve(new MockVolunteer({ auto: false, startDelayMs: 5, stopDelayMs: 5 })),
);

/** Where signaling-plugin.mjs serves the server's URL (its SIGNALING_INFO_PATH). */
const SIGNALING_INFO_PATH = '/__bu/signaling.json';
let signaling: Promise<string> | undefined;
const signalingUrl = () =>
  (signaling ??= fetch(SIGNALING_INFO_PATH)
    .then((response) => response.json() as Promise<{ url: string }>)
    .then(({ url }) => url));

contractSuite(
  'mesh Volunteer over a real signaling server',
  async () =>
    new Volunteer({
      signaling: await signalingUrl(),
      kind: 'browser',
      slots: 1,
      nat: 'unknown',
      iceServers: [],
    }),
);

// What the published widget uses: the same Volunteer, loaded on first start.
contractSuite(
  "the widget's lazily loaded mesh Volunteer over a real signaling server",
  async () => new LazyMeshVolunteer({ signaling: await signalingUrl(), slots: 1 }),
);

describe('<browsers-unbounded> with the real runtime', () => {
  it('shares through mesh and stops, over a real signaling server', async () => {
    const element = document.createElement('browsers-unbounded');
    element.setAttribute('data-signaling', await signalingUrl());
    element.volunteerFactory = meshVolunteerFactory;
    document.body.append(element);
    try {
      await element.updateComplete;
      const states: string[] = [];
      element.addEventListener('bu-state', (event) => states.push(event.detail.state));
      element.start();
      await until(() => element.state === 'on', 'on');
      element.stop();
      await until(() => element.state === 'off', 'off');
      deepEqual(states, ['starting', 'on', 'stopping', 'off']);
      equal(element.available, true);
    } finally {
      element.remove();
      await element.flushStats();
    }
  });
});
