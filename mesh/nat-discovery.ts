/**
 * NAT discovery, the client's half (the server's is signaling/nat-probe.ts): ask both of the
 * probe's STUN responders for our mapped address, then tell the server which addresses we were
 * given; the server answers with what it saw: `unrestricted`, `restricted` or `unknown`.
 * Discovery never stands in the way: any failure reads `unknown`, which is matched last.
 */
import type { NatProbeInfo, NatType } from '../protocol/matchmaking.ts';
import type { SignalingClient } from './signaling-client.ts';

/** Finds the mapped (server-reflexive) addresses `urls` report, as `ip:port` / `[ip]:port`. */
export type MappedAddressGatherer = (
  urls: readonly string[],
  signal: AbortSignal,
) => Promise<string[]>;

const GATHER_MS = 4_000;

/**
 * Gathers with an RTCPeerConnection that has both responders as STUN servers, as a browser
 * does: one candidate per local socket when the NAT maps it to one public port, two when it
 * maps per destination.
 */
export const gatherWithPeerConnection: MappedAddressGatherer = async (urls, signal) => {
  const pc = new RTCPeerConnection({ iceServers: urls.map((url) => ({ urls: url })) });
  const mapped = new Set<string>();
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(resolve, GATHER_MS);
      const done = (): void => {
        clearTimeout(timer);
        resolve();
      };
      signal.addEventListener('abort', done, { once: true });
      pc.addEventListener('icecandidate', (event) => {
        if (event.candidate === null) return done();
        const found = reflexive(event.candidate.candidate);
        if (found !== undefined) mapped.add(found);
      });
      pc.addEventListener('icegatheringstatechange', () => {
        if (pc.iceGatheringState === 'complete') done();
      });
      pc.createDataChannel('nat-probe');
      pc.createOffer()
        .then((offer) => pc.setLocalDescription(offer))
        .catch(reject);
    });
  } finally {
    pc.close();
  }
  return [...mapped];
};

/** The mapped address of a `typ srflx` candidate line, if that is what it is. */
export function reflexive(candidate: string): string | undefined {
  const fields = candidate.trim().split(/\s+/);
  if (fields[6] !== 'typ' || fields[7] !== 'srflx' || fields[2]?.toLowerCase() !== 'udp') {
    return undefined;
  }
  const address = fields[4] ?? '';
  const port = Number(fields[5]);
  if (!(port > 0 && port < 65_536) || address === '') return undefined;
  return address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
}

export interface NatDiscovery {
  readonly signaling: SignalingClient;
  readonly probe: NatProbeInfo;
  readonly id: string;
  readonly token: string;
  readonly gather: MappedAddressGatherer;
  readonly signal: AbortSignal;
}

/** What a peer was told about its NAT: a type to report as it is, or how to find it. */
export interface NatSetting {
  readonly nat?: NatType;
  readonly natGatherer?: MappedAddressGatherer;
}

/**
 * The NAT type a peer reports: the configured one; else what the server's probe saw (an
 * RTCPeerConnection gathers unless `natGatherer` says otherwise); `unknown` without a probe.
 */
export async function natToReport(
  setting: NatSetting,
  discovery: Omit<NatDiscovery, 'gather' | 'probe'> & { readonly probe: NatProbeInfo | undefined },
): Promise<NatType> {
  if (setting.nat !== undefined) return setting.nat;
  const gather =
    setting.natGatherer ??
    (typeof RTCPeerConnection === 'function' ? gatherWithPeerConnection : undefined);
  const { probe } = discovery;
  if (probe === undefined || gather === undefined) return 'unknown';
  return discoverNat({ ...discovery, probe, gather });
}

/** Our NAT type as the server saw it; `unknown` when anything fails. */
export async function discoverNat(discovery: NatDiscovery): Promise<NatType> {
  const { signaling, probe, id, token, gather, signal } = discovery;
  try {
    const mapped = await gather(probe.urls, signal);
    const { nat } = await signaling.natProbe({ id, token, mapped: mapped.slice(0, 16) }, signal);
    return nat;
  } catch {
    return 'unknown';
  }
}
