/**
 * Prometheus metrics of one egress, in its own registry (never the global one, so several
 * egresses or tests in one process do not collide). Every label has a fixed, small set of
 * values: endpoint names, close reason names, refusal classes, error codes.
 */
import { Counter, Gauge, Registry } from 'prom-client';

export type EndpointName = 'wisp' | 'tunnel';

export class EgressMetrics {
  readonly registry = new Registry();
  readonly connections = new Counter({
    name: 'bu_egress_connections_total',
    help: 'WebSocket connections accepted',
    labelNames: ['endpoint'] as const,
    registers: [this.registry],
  });
  readonly connectionsOpen = new Gauge({
    name: 'bu_egress_connections_open',
    help: 'WebSocket connections open now',
    labelNames: ['endpoint'] as const,
    registers: [this.registry],
  });
  readonly connectionsRejected = new Counter({
    name: 'bu_egress_connections_rejected_total',
    help: 'Upgrade requests refused before a WebSocket existed',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });
  readonly connectionCloses = new Counter({
    name: 'bu_egress_connection_closes_total',
    help: 'Connections closed by the egress for a protocol or limit violation, by error code',
    labelNames: ['endpoint', 'code'] as const,
    registers: [this.registry],
  });
  readonly streams = new Counter({
    name: 'bu_egress_streams_total',
    help: 'Streams opened (CONNECT accepted for processing)',
    labelNames: ['endpoint', 'type'] as const,
    registers: [this.registry],
  });
  readonly streamsOpen = new Gauge({
    name: 'bu_egress_streams_open',
    help: 'Streams open now',
    labelNames: ['endpoint', 'type'] as const,
    registers: [this.registry],
  });
  readonly streamCloses = new Counter({
    name: 'bu_egress_stream_closes_total',
    help: 'Stream outcomes by Wisp close reason and by who closed',
    labelNames: ['endpoint', 'reason', 'by'] as const,
    registers: [this.registry],
  });
  readonly policyRefusals = new Counter({
    name: 'bu_egress_policy_refusals_total',
    help: 'Destinations refused by policy (CLOSE 0x48), by class',
    labelNames: ['endpoint', 'reason'] as const,
    registers: [this.registry],
  });
  readonly bytes = new Counter({
    name: 'bu_egress_bytes_total',
    help: 'Stream payload bytes, up (client to destination) and down',
    labelNames: ['endpoint', 'direction'] as const,
    registers: [this.registry],
  });
  readonly faults = new Counter({
    name: 'bu_egress_faults_total',
    help: 'Unexpected exceptions caught at an entry point (each a bug), by where',
    labelNames: ['site'] as const,
    registers: [this.registry],
  });
  readonly handshakeFailures = new Counter({
    name: 'bu_egress_handshake_failures_total',
    help: 'Failed tunnel (Noise) and Wisp v2 handshakes, by error code',
    labelNames: ['endpoint', 'code'] as const,
    registers: [this.registry],
  });
}
