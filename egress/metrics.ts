/**
 * Prometheus metrics of one egress, in its own registry (never the global one, so several
 * egresses or tests in one process do not collide). Every label has a fixed, small set of
 * values: endpoint names, close reason names, refusal classes, error codes.
 */
import { Counter, Gauge, Registry } from 'prom-client';

export type EndpointName = 'wisp' | 'tunnel';

export class EgressMetrics {
  readonly registry = new Registry();
  readonly connections = this.#counter(
    'bu_egress_connections_total',
    'WebSocket connections accepted',
    ['endpoint'],
  );
  readonly connectionsOpen = this.#gauge(
    'bu_egress_connections_open',
    'WebSocket connections open now',
    ['endpoint'],
  );
  readonly connectionsRejected = this.#counter(
    'bu_egress_connections_rejected_total',
    'Upgrade requests refused before a WebSocket existed',
    ['reason'],
  );
  readonly connectionCloses = this.#counter(
    'bu_egress_connection_closes_total',
    'Connections closed by the egress for a protocol or limit violation, by error code',
    ['endpoint', 'code'],
  );
  readonly streams = this.#counter(
    'bu_egress_streams_total',
    'Streams opened (CONNECT accepted for processing)',
    ['endpoint', 'type'],
  );
  readonly streamsOpen = this.#gauge('bu_egress_streams_open', 'Streams open now', [
    'endpoint',
    'type',
  ]);
  readonly streamCloses = this.#counter(
    'bu_egress_stream_closes_total',
    'Stream outcomes by Wisp close reason and by who closed',
    ['endpoint', 'reason', 'by'],
  );
  readonly policyRefusals = this.#counter(
    'bu_egress_policy_refusals_total',
    'Destinations refused by policy (CLOSE 0x48), by class',
    ['endpoint', 'reason'],
  );
  readonly bytes = this.#counter(
    'bu_egress_bytes_total',
    'Stream payload bytes, up (client to destination) and down',
    ['endpoint', 'direction'],
  );
  readonly faults = this.#counter(
    'bu_egress_faults_total',
    'Unexpected exceptions caught at an entry point (each a bug), by where',
    ['site'],
  );
  readonly handshakeFailures = this.#counter(
    'bu_egress_handshake_failures_total',
    'Failed tunnel (Noise) and Wisp v2 handshakes, by error code',
    ['endpoint', 'code'],
  );

  readonly admissions = this.#counter(
    'bu_egress_admissions_total',
    'Tunnel handshakes by admission result: admitted, or the refusal reason',
    ['result'],
  );

  #counter<L extends string>(name: string, help: string, labelNames: readonly L[]): Counter<L> {
    return new Counter({ name, help, labelNames, registers: [this.registry] });
  }

  #gauge<L extends string>(name: string, help: string, labelNames: readonly L[]): Gauge<L> {
    return new Gauge({ name, help, labelNames, registers: [this.registry] });
  }
}
