/**
 * NAT discovery for the Node clients (`bu volunteer`, `bu proxy`): one UDP socket asks each of
 * the probe's STUN responders for its mapped address, as a browser's ICE agent would from one
 * socket. (libdatachannel's ICE agent takes a single STUN server, so the browsers' way does
 * not work in Node.)
 */
import { randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { isIPv6 } from 'node:net';
import type { MappedAddressGatherer } from '../mesh/nat-discovery.ts';
import { encodeBindingRequest, parseBindingSuccess } from '../protocol/stun.ts';

/** Sends at 0, 500 and 1,500 ms, gives up at 3 s, as a STUN client retransmits. */
const RESEND_MS = [0, 500, 1_500];
const GIVE_UP_MS = 3_000;

export const gatherWithUdp: MappedAddressGatherer = async (urls, signal) => {
  const targets = urls.flatMap((url) => {
    const match = /^stun:(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(url);
    const host = match?.[1] ?? match?.[2];
    return host === undefined ? [] : [{ host, port: Number(match?.[3]) }];
  });
  if (targets.length === 0) return [];
  const socket = createSocket(targets.some((t) => isIPv6(t.host)) ? 'udp6' : 'udp4');
  const pending = new Map<string, Buffer>();
  const mapped = new Set<string>();
  const timers: ReturnType<typeof setTimeout>[] = [];
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(0, () => resolve());
    });
    socket.on('error', () => {
      // An unreachable responder: its answers simply do not come.
    });
    await new Promise<void>((resolve) => {
      const finish = (): void => resolve();
      signal.addEventListener('abort', finish, { once: true });
      timers.push(setTimeout(finish, GIVE_UP_MS));
      socket.on('message', (message) => {
        const answer = parseBindingSuccess(message);
        const id = answer && Buffer.from(answer.transactionId).toString('hex');
        if (!answer || id === undefined || !pending.delete(id)) return;
        mapped.add(
          answer.ip.includes(':') ? `[${answer.ip}]:${answer.port}` : `${answer.ip}:${answer.port}`,
        );
        if (pending.size === 0) finish();
      });
      for (const target of targets) {
        const request = Buffer.from(encodeBindingRequest(randomBytes(12)));
        pending.set(request.subarray(8, 20).toString('hex'), request);
        for (const delay of RESEND_MS) {
          timers.push(
            setTimeout(() => {
              const id = request.subarray(8, 20).toString('hex');
              if (pending.has(id)) socket.send(request, target.port, target.host);
            }, delay),
          );
        }
      }
    });
  } finally {
    for (const timer of timers) clearTimeout(timer);
    socket.close();
  }
  return [...mapped];
};
