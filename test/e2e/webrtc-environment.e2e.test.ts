/**
 * The end-to-end environment itself: inside scripts/netns-run, WebRTC in Node
 * (node-datachannel) and in Chromium must connect over the veth pair with
 * host candidates only (no STUN), and nothing may reach outside.
 */
import { RTCPeerConnection as NodePeerConnection } from 'node-datachannel/polyfill';
import { describe, expect, it } from 'vitest';
import { launchChromium } from './chromium.ts';

const VETH = /\b10\.77\.0\.[12]\b/;

describe('the e2e network namespace', () => {
  it('is the one scripts/netns-run makes', () => {
    expect(process.env['BU_NETNS']).toBe('1');
  });

  it('lets node-datachannel peers connect over host candidates and exchange data', async () => {
    // Renamed on import: page.evaluate below must see the browser's own RTCPeerConnection.
    const a = new NodePeerConnection({ iceServers: [] });
    const b = new NodePeerConnection({ iceServers: [] });
    const candidates: string[] = [];
    const trickle = (from: NodePeerConnection, to: NodePeerConnection): void => {
      from.onicecandidate = (event) => {
        if (event.candidate) {
          candidates.push(event.candidate.candidate);
          void to.addIceCandidate(event.candidate);
        }
      };
    };
    trickle(a, b);
    trickle(b, a);
    const received = new Promise<string>((resolve) => {
      b.ondatachannel = (event) => {
        event.channel.onmessage = (message) => resolve(String(message.data));
      };
    });
    const channel = a.createDataChannel('probe');
    channel.onopen = () => channel.send('hello over the veth pair');
    // The polyfill types these as `any`.
    const offer = (await a.createOffer()) as RTCSessionDescriptionInit;
    await a.setLocalDescription(offer);
    await b.setRemoteDescription(offer);
    const answer = (await b.createAnswer()) as RTCSessionDescriptionInit;
    await b.setLocalDescription(answer);
    await a.setRemoteDescription(answer);
    expect(await received).toBe('hello over the veth pair');
    expect(candidates.some((c) => VETH.test(c))).toBe(true);
    a.close();
    b.close();
  });

  it('lets Chromium connect two peers with plain-IP host candidates', async () => {
    const browser = await launchChromium();
    try {
      const page = await browser.context.newPage();
      const result = await page.evaluate(async () => {
        const a = new RTCPeerConnection();
        const b = new RTCPeerConnection();
        const seen: string[] = [];
        a.onicecandidate = (e) => {
          if (e.candidate) {
            seen.push(e.candidate.candidate);
            void b.addIceCandidate(e.candidate);
          }
        };
        b.onicecandidate = (e) => {
          if (e.candidate) void a.addIceCandidate(e.candidate);
        };
        const got = new Promise<string>((resolve) => {
          b.ondatachannel = (e) => {
            e.channel.onmessage = (m) => resolve(String(m.data));
          };
        });
        const channel = a.createDataChannel('probe');
        channel.onopen = () => channel.send('hello from chromium');
        await a.setLocalDescription();
        await b.setRemoteDescription(a.localDescription!);
        await b.setLocalDescription();
        await a.setRemoteDescription(b.localDescription!);
        return { message: await got, candidates: seen };
      });
      expect(result.message).toBe('hello from chromium');
      expect(result.candidates.some((c) => VETH.test(c))).toBe(true);
      expect(result.candidates.some((c) => c.includes('.local'))).toBe(false);
    } finally {
      await browser.close();
    }
  });
});
