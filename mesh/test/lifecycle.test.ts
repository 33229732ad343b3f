/**
 * The runtimes' one lifecycle (mesh/lifecycle.ts): first the state machine alone, with
 * sessions whose begin and end this test settles by hand; then the Consumer and the
 * Volunteer on it, over a real signaling server: one start opens one PeerJS peer however
 * often it is called, a stop leaves none, and a failed start is coded by the step that failed.
 */
import { createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { installNodeWebrtc } from '../../cli/node-webrtc.ts';
import { createLogger } from '../../server-kit/logger.ts';
import { startSignalingServer, type SignalingServer } from '../../signaling/server.ts';
import { waitFor } from '../../test/wait-for.ts';
import { Consumer } from '../consumer.ts';
import type { MeshError } from '../errors.ts';
import { Backoff, Lifecycle, type RuntimeState, type Session } from '../lifecycle.ts';
import { Volunteer } from '../volunteer.ts';

/** A promise with its resolve and reject in hand. */
function deferred(): {
  promise: Promise<void>;
  resolve: () => void;
  reject: (err: Error) => void;
} {
  let resolve!: () => void;
  let reject!: (err: Error) => void;
  const promise = new Promise<void>((yes, no) => {
    resolve = yes;
    reject = no;
  });
  return { promise, resolve, reject };
}

/** A session whose begin and end settle when the test says so; it records what happened. */
class HandSession implements Session {
  readonly begun = deferred();
  readonly ended = deferred();
  began = false;
  endCalls = 0;
  begin(): Promise<void> {
    this.began = true;
    return this.begun.promise;
  }
  end(): Promise<void> {
    this.endCalls++;
    // As a real session does: ending aborts a begin under way.
    this.begun.reject(new Error('stopped while starting'));
    return this.ended.promise;
  }
}

function harness() {
  const sessions: HandSession[] = [];
  const states: RuntimeState[] = [];
  const errors: Error[] = [];
  let ready = 0;
  const life = new Lifecycle<HandSession>({
    create: () => {
      const session = new HandSession();
      sessions.push(session);
      return session;
    },
    state: (state) => states.push(state),
    error: (error) => errors.push(error),
    ready: () => ready++,
  });
  return { life, sessions, states, errors, ready: () => ready };
}

/** Lets every settled promise's reactions run. */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('Lifecycle', () => {
  it('goes off → starting → on, sharing one start among calls', async () => {
    const { life, sessions, states } = harness();
    const calls = [life.start(), life.start(), life.start()];
    await settle();
    expect(sessions).toHaveLength(1);
    expect(life.state).toBe('starting');
    expect(life.session).toBe(sessions[0]);
    sessions[0]?.begun.resolve();
    await Promise.all(calls);
    await life.start();
    expect(sessions).toHaveLength(1);
    expect(states).toEqual(['starting', 'on']);
  });

  it('stops on → stopping → off, says ready once, and a stop when off does nothing', async () => {
    const { life, sessions, states, ready } = harness();
    const started = life.start();
    await settle();
    sessions[0]?.begun.resolve();
    await started;
    const stops = [life.stop(), life.stop()];
    expect(life.state).toBe('stopping');
    expect(life.session).toBeUndefined();
    expect(ready()).toBe(0);
    sessions[0]?.ended.resolve();
    await Promise.all(stops);
    await life.stop();
    expect(sessions[0]?.endCalls).toBe(1);
    expect(states).toEqual(['starting', 'on', 'stopping', 'off']);
    expect(ready()).toBe(1);
  });

  it('a failed begin reports the error, ends the session, goes off and rejects', async () => {
    const { life, sessions, states, errors, ready } = harness();
    const started = life.start();
    await settle();
    const failure = Object.assign(new Error('no server'), { code: 'ERR_SIGNALING' });
    sessions[0]?.begun.reject(failure);
    await settle();
    sessions[0]?.ended.resolve();
    await expect(started).rejects.toBe(failure);
    expect(errors).toEqual([failure]);
    expect(sessions[0]?.endCalls).toBe(1);
    expect(states).toEqual(['starting', 'stopping', 'off']);
    expect(ready()).toBe(1);
    expect(life.state).toBe('off');
  });

  it('a stop while starting wins: the start resolves, nothing is reported, it ends off', async () => {
    const { life, sessions, states, errors, ready } = harness();
    const started = life.start();
    await settle();
    const stopped = life.stop();
    sessions[0]?.ended.resolve();
    await Promise.all([started, stopped]);
    expect(errors).toEqual([]);
    expect(states).toEqual(['starting', 'stopping', 'off']);
    expect(ready()).toBe(1);
    expect(life.state).toBe('off');
  });

  it('a start while stopping waits for the stop, then starts a new session', async () => {
    const { life, sessions, states } = harness();
    const first = life.start();
    await settle();
    sessions[0]?.begun.resolve();
    await first;
    const stopped = life.stop();
    const started = life.start();
    await settle();
    expect(sessions).toHaveLength(1);
    sessions[0]?.ended.resolve();
    await stopped;
    await settle();
    expect(sessions).toHaveLength(2);
    sessions[1]?.begun.resolve();
    await started;
    expect(states).toEqual(['starting', 'on', 'stopping', 'off', 'starting', 'on']);
  });

  it('the last wish wins: stop, start, stop while stopping ends off with no new session', async () => {
    const { life, sessions, states } = harness();
    const first = life.start();
    await settle();
    sessions[0]?.begun.resolve();
    await first;
    const stops = [life.stop()];
    const started = life.start();
    stops.push(life.stop());
    sessions[0]?.ended.resolve();
    await Promise.all([...stops, started]);
    await settle();
    expect(sessions).toHaveLength(1);
    expect(life.state).toBe('off');
    expect(states).toEqual(['starting', 'on', 'stopping', 'off']);
  });

  it('start, stop, start while the first begin is still under way: on with a second session', async () => {
    const { life, sessions, states } = harness();
    void life.start();
    await settle();
    const stopped = life.stop();
    const started = life.start();
    sessions[0]?.ended.resolve();
    await stopped;
    await settle();
    expect(sessions).toHaveLength(2);
    sessions[1]?.begun.resolve();
    await started;
    expect(life.state).toBe('on');
    expect(life.session).toBe(sessions[1]);
    expect(states).toEqual(['starting', 'stopping', 'off', 'starting', 'on']);
  });
});

describe('Backoff', () => {
  it('waits the steps in order, repeats the last, and starts over after a reset', () => {
    const backoff = new Backoff([0, 500, 2_000]);
    expect([backoff.next(), backoff.next(), backoff.next(), backoff.next()]).toEqual([
      0, 500, 2_000, 2_000,
    ]);
    backoff.reset();
    expect(backoff.next()).toBe(0);
  });
});

describe('the runtimes over a real signaling server', () => {
  let server: SignalingServer;
  let closedUrl: string;

  /** PeerJS peers the server holds now, from its own metrics. */
  async function peersConnected(): Promise<number> {
    const text = await (await fetch(`${server.url}metrics`)).text();
    const match = /^bu_signaling_peers_connected (\d+)$/m.exec(text);
    if (match?.[1] === undefined) throw new Error('no bu_signaling_peers_connected in metrics');
    return Number(match[1]);
  }

  beforeAll(async () => {
    await installNodeWebrtc();
    server = await startSignalingServer({
      host: '127.0.0.1',
      port: 0,
      logger: createLogger('silent'),
    });
    // An address where nothing listens: bound, then closed.
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const address = probe.address();
    if (address === null || typeof address === 'string') throw new Error('no port');
    await new Promise((resolve) => probe.close(resolve));
    closedUrl = `http://127.0.0.1:${address.port}/signal/`;
  });

  afterAll(async () => {
    await server.close();
  });

  it('a Consumer started three times at once opens one PeerJS peer; a stop leaves none', async () => {
    const consumer = new Consumer({ signaling: server.url, iceServers: [], nat: 'unknown' });
    const states: RuntimeState[] = [];
    consumer.on('state', ({ state }) => states.push(state));
    let ready = 0;
    consumer.on('ready', () => ready++);
    await Promise.all([consumer.start(), consumer.start(), consumer.start()]);
    expect(consumer.state).toBe('on');
    await waitFor(async () => (await peersConnected()) === 1, 'one peer at the server');
    await consumer.stop();
    expect(states).toEqual(['starting', 'on', 'stopping', 'off']);
    expect(ready).toBe(1);
    await waitFor(async () => (await peersConnected()) === 0, 'no peer at the server');
    await expect(consumer.connect('127.0.0.1', 1, 100)).rejects.toMatchObject({
      code: 'ERR_NO_VOLUNTEERS',
    });
  });

  it('a Volunteer stopped and started again holds one peer at a time', async () => {
    const volunteer = new Volunteer({
      signaling: server.url,
      kind: 'node',
      iceServers: [],
      nat: 'unknown',
    });
    await volunteer.start();
    await volunteer.stop();
    await Promise.all([volunteer.start(), volunteer.start()]);
    await waitFor(async () => (await peersConnected()) === 1, 'one peer at the server');
    await volunteer.stop();
    await waitFor(async () => (await peersConnected()) === 0, 'no peer at the server');
  });

  it('codes a failed start by its step: ERR_SIGNALING when the config cannot be read', async () => {
    const consumer = new Consumer({ signaling: closedUrl, iceServers: [] });
    const volunteer = new Volunteer({ signaling: closedUrl, kind: 'node', iceServers: [] });
    const codes: unknown[] = [];
    consumer.on('error', ({ error }) => codes.push((error as MeshError).code));
    volunteer.on('error', ({ error }) => codes.push((error as MeshError).code));
    await expect(consumer.start()).rejects.toMatchObject({ code: 'ERR_SIGNALING' });
    await expect(volunteer.start()).rejects.toMatchObject({ code: 'ERR_SIGNALING' });
    expect(codes).toEqual(['ERR_SIGNALING', 'ERR_SIGNALING']);
    expect([consumer.state, volunteer.state]).toEqual(['off', 'off']);
  });

  it('codes a failed start by its step: ERR_PEERJS when the PeerJS connection is refused', async () => {
    for (const runtime of [
      new Consumer({ signaling: server.url, key: 'not-the-key', iceServers: [] }),
      new Volunteer({ signaling: server.url, key: 'not-the-key', kind: 'node', iceServers: [] }),
    ]) {
      await expect(runtime.start()).rejects.toMatchObject({
        code: 'ERR_PEERJS',
        // PeerJS asks for an id over HTTP first; the server refuses the key with 401.
        message: 'the PeerJS connection failed (server-error)',
      });
      expect(runtime.state).toBe('off');
    }
    await waitFor(async () => (await peersConnected()) === 0, 'no peer left at the server');
  });
});
