/** What every connection of an egress shares, whichever endpoint it arrived on. */
import type { FaultSite } from '../server-kit/http-boundary.ts';
import type { DestinationPolicy } from './destination-policy.ts';
import type { EgressLimits } from './limits.ts';
import type { Logger } from './log.ts';
import type { EgressMetrics } from './metrics.ts';
import type { Dialer } from './stream-types.ts';

export interface EndpointShared {
  readonly policy: DestinationPolicy;
  readonly limits: EgressLimits;
  readonly metrics: EgressMetrics;
  readonly log: Logger;
  readonly dial: Dialer;
  /** Trusted CAs for the TLS the egress speaks itself; undefined: Node's defaults. */
  readonly ca: readonly string[] | undefined;
  /** An exception escaped an entry point (a bug of ours): log it and count it. */
  readonly fault: (site: FaultSite, error: unknown) => void;
}
