/**
 * The relay's failure path, with stub links: a send that fails is not something a real socket
 * can be made to do on cue. (Everything else about relaying is tested over real sockets.)
 */
import { describe, expect, it } from 'vitest';
import { createMessageHandlers, dispatch } from '../message-handlers.ts';
import { MessageQueue } from '../message-queue.ts';
import { SignalingMetrics } from '../metrics.ts';
import { PeerRegistry, type Peer, type PeerLink } from '../peer-registry.ts';
import { quiet } from './helpers.ts';

interface StubLink extends PeerLink {
  readonly sent: string[];
  readonly closes: number[];
}

function stubLink(works: boolean): StubLink {
  const sent: string[] = [];
  const closes: number[] = [];
  return {
    sent,
    closes,
    send(text) {
      if (works) sent.push(text);
      return works;
    },
    close(code) {
      closes.push(code);
    },
  };
}

function setup() {
  const removed: string[] = [];
  const registry = new PeerRegistry((peer) => removed.push(peer.id));
  const queue = new MessageQueue(10, 10_000);
  const metrics = new SignalingMetrics({
    peers: () => registry.size,
    queuedMessages: () => queue.messages,
    queuedBytes: () => queue.bytes,
    waitingConsumers: () => 0,
    introductions: () => 0,
    volunteers: () => [],
  });
  const handlers = createMessageHandlers({ registry, queue, metrics, logger: quiet });
  const add = (id: string, link: StubLink): Peer => {
    const peer = {
      id,
      token: 't',
      ip: '127.0.0.1',
      group: '127.0.0.1',
      link,
      lastSeen: Date.now(),
      epoch: 1,
    };
    registry.add(peer);
    return peer;
  };
  return { registry, removed, handlers, add, metrics };
}

describe('relay failures', () => {
  it('closes a destination whose send fails and returns LEAVE to the sender', async () => {
    const { registry, removed, handlers, add, metrics } = setup();
    const aliceLink = stubLink(true);
    const bobLink = stubLink(false);
    const alice = add('alice', aliceLink);
    add('bob', bobLink);
    await dispatch(handlers, alice, { type: 'OFFER', dst: 'bob', payload: { sdp: 'x' } });
    expect(bobLink.closes).toEqual([1011]);
    expect(registry.get('bob')).toBeUndefined();
    expect(removed).toEqual(['bob']);
    expect(aliceLink.sent.map((t) => JSON.parse(t) as unknown)).toEqual([
      { type: 'LEAVE', src: 'bob', dst: 'alice' },
    ]);
    expect(await metrics.registry.metrics()).toContain(
      'bu_signaling_rejected_inputs_total{reason="send-failed"} 1',
    );
  });

  it('a stale link cannot remove the peer that replaced it', () => {
    const { registry, add } = setup();
    const old = stubLink(true);
    const peer = add('alice', old);
    peer.link = stubLink(true);
    expect(registry.remove('alice', old)).toBe(false);
    expect(registry.get('alice')).toBe(peer);
    expect(registry.remove('alice', peer.link)).toBe(true);
  });
});
