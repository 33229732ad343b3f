/**
 * The consumer's end of one tunnel (docs/protocol.md §1): it composes the session
 * (`TunnelClientSession`: Noise NK handshake, sealed frames with seq and ack), the streams
 * (`StreamMux`: Wisp streams and flow control both ways) and the path they run over
 * (`TunnelPath`: the owner's transport and liveness probes). Transport-agnostic: the owner
 * moves messages between a data channel or WebSocket and `receive()` / `TunnelTransport.send`.
 *
 * The session and the mux never hold the path: sealed frames go out through `#path`, which
 * this class owns, so a later version can put the same session on another path.
 */
import { admissionRefusalError } from '../protocol/admission.ts';
import { closeReasonName, WISP_CLOSE_REASONS } from '../protocol/wisp-types.ts';
import { MAX_FRAME_PACKET_BYTES } from '../protocol/tunnel-session.ts';
import { decodeWispPacket, encodeWispPacket } from '../protocol/wisp-codec.ts';
import type { WispPacket } from '../protocol/wisp-types.ts';
import { MeshError } from './errors.ts';
import { StreamMux, type TunnelStream } from './stream-mux.ts';
import { TunnelClientSession } from './tunnel-client-session.ts';
import {
  exchangeOver,
  type HttpExchangeRequest,
  type HttpExchangeResponse,
} from './tunnel-exchange.ts';
import { DEFAULT_KEEPALIVE, TunnelPath, type TunnelTransport } from './tunnel-path.ts';
import {
  connectTunnelWebSocket,
  webSocketRequest,
  type TunnelWebSocket,
  type TunnelWebSocketOptions,
} from './tunnel-websocket.ts';

export type { HttpExchangeRequest, HttpExchangeResponse } from './tunnel-exchange.ts';
export type { TunnelStream } from './stream-mux.ts';
export type { TunnelTransport } from './tunnel-path.ts';

export interface TunnelClientOptions {
  /** The egress's static X25519 public key (from the egress list, or pinned). */
  readonly egressPublicKey: Uint8Array;
  /** An admission token for this egress (from a match), carried in the handshake. */
  readonly admission?: Uint8Array;
  /** DATA packets the egress may send on a stream before this side has read them. */
  readonly downlinkWindow?: number;
  /** Streams open at once on this tunnel. */
  readonly maxStreams?: number;
  /**
   * Liveness probing (docs/protocol.md §1.5): after `idleMs` without a message from
   * the egress, send an empty frame, which the egress answers; when nothing at all
   * has arrived `timeoutMs` after a probe, the tunnel fails with
   * `ERR_TUNNEL_TIMEOUT`. A volunteer that dies without a goodbye is otherwise
   * noticed only by WebRTC's own timeouts, about 30 s later. Defaults 1 s and 4 s.
   */
  readonly keepalive?: { readonly idleMs: number; readonly timeoutMs: number };
}

const EMPTY = new Uint8Array(0);

export class TunnelClient {
  /**
   * Resolves when the handshake has completed; rejects if it fails, with a
   * `TunnelRefusedError` (`ERR_TUNNEL_REFUSED`) when the volunteer refused the tunnel.
   */
  readonly ready: Promise<void>;
  readonly #session: TunnelClientSession;
  readonly #streams: StreamMux;
  /** The path frames go out on: owned here, and the one thing a resumed session would swap. */
  #path: TunnelPath;
  #failure: Error | undefined;
  #resolveReady!: () => void;
  #rejectReady!: (err: Error) => void;
  /** Called once when the tunnel ends, with the reason when it failed. */
  onclose: ((error: Error | undefined) => void) | undefined;

  constructor(transport: TunnelTransport, options: TunnelClientOptions) {
    const streamOptions = {
      maxPacketBytes: MAX_FRAME_PACKET_BYTES,
      ...(options.downlinkWindow !== undefined ? { downlinkWindow: options.downlinkWindow } : {}),
      ...(options.maxStreams !== undefined ? { maxStreams: options.maxStreams } : {}),
    };
    this.#streams = new StreamMux((packet) => this.#sendPacket(packet), streamOptions);
    this.#path = new TunnelPath(transport, options.keepalive ?? DEFAULT_KEEPALIVE);
    this.ready = new Promise((resolve, reject) => {
      this.#resolveReady = resolve;
      this.#rejectReady = reject;
    });
    // A failed handshake is reported through `ready` and `onclose`; don't let an
    // unobserved `ready` crash the process.
    this.ready.catch(() => undefined);
    this.#session = new TunnelClientSession(options.egressPublicKey, options.admission);
    const init = this.#session.writeInit();
    try {
      this.#path.send(init);
    } catch {
      // The transport is closing already, e.g. a volunteer refused the tunnel as soon as it
      // read the HELLO and its close beat this message. What the owner feeds in next says
      // why (`receive` of a REFUSED, or `transportClosed`); until then `ready` stays
      // pending, and the owner's timeout covers a transport that never says.
    }
  }

  /** True until the tunnel fails or is closed. */
  get isOpen(): boolean {
    return this.#failure === undefined;
  }

  get streamCount(): number {
    return this.#streams.streamCount;
  }

  /**
   * False while a liveness probe has gone unanswered for longer than the idle
   * time: the tunnel may be dead, so new streams should prefer another one.
   */
  get responsive(): boolean {
    return this.#path.responsive;
  }

  /** Feeds one message that arrived from the transport. */
  receive(message: Uint8Array): void {
    if (this.#failure) return;
    this.#path.heard();
    try {
      if (!this.#session.established) {
        const refusal = this.#session.readHandshake(message);
        if (refusal) {
          this.#fail(refusal);
          return;
        }
        this.#streams.announceWindow();
        this.#path.startProbing({
          probe: () => this.#session.seal(EMPTY),
          lost: (error) => this.#fail(error),
        });
        this.#resolveReady();
        return;
      }
      const packet = this.#session.open(message);
      if (packet.length === 0) return;
      const decoded = decodeWispPacket(packet, { maxBytes: MAX_FRAME_PACKET_BYTES });
      if (decoded.type === 'close' && decoded.streamId === 0) {
        // The egress ends the whole tunnel, saying why inside the session.
        this.#fail(
          decoded.reason === WISP_CLOSE_REASONS.throttled
            ? admissionRefusalError('exhausted')
            : new MeshError(
                'ERR_TUNNEL_CLOSED',
                `the egress ended the tunnel: ${closeReasonName(decoded.reason)}`,
              ),
        );
        return;
      }
      this.#streams.dispatch(decoded);
    } catch (err) {
      this.#fail(
        new MeshError(
          this.#session.established ? 'ERR_TUNNEL_CLOSED' : 'ERR_TUNNEL_HANDSHAKE',
          `tunnel refused a message from the egress: ${err instanceof Error ? err.message : String(err)}`,
          { cause: err },
        ),
      );
    }
  }

  /** Tells the client that the transport has closed. */
  transportClosed(): void {
    this.#fail(new MeshError('ERR_TUNNEL_CLOSED', 'the tunnel closed'), false);
  }

  /** Closes every stream and the transport. */
  close(): void {
    this.#fail(new MeshError('ERR_TUNNEL_CLOSED', 'the tunnel was closed by this side'));
  }

  /** Opens a TCP stream to `host:port` through the egress. */
  openStream(host: string, port: number): TunnelStream {
    return this.#streams.open('tcp', host, port);
  }

  /**
   * Performs `request` at the egress (a fetch stream) and returns its response.
   * Redirects come back as they are; the body arrives decoded.
   */
  async fetch(request: Request): Promise<Response> {
    const response = await this.exchange({
      method: request.method,
      url: request.url,
      headers: [...request.headers],
      body: request.body,
    });
    const init = {
      status: response.status,
      statusText: response.statusText,
      headers: response.headers,
    };
    return new Response(response.body, init);
  }

  /**
   * One HTTP exchange at the egress with heads as lists of pairs, so a caller
   * that keeps its own cookies can send `Cookie` and read `Set-Cookie` (which a
   * browser's Request and Response hide). Statuses without a body come back
   * with `body: null`.
   */
  exchange(request: HttpExchangeRequest): Promise<HttpExchangeResponse> {
    return exchangeOver(this.#streams, request);
  }

  /**
   * Opens a WebSocket connection at the egress (a websocket stream, docs/protocol.md §3a);
   * resolves once the origin has answered the upgrade: `status` 101 and an open socket, or
   * its refusal (another status, the socket closed). A refused destination or a failed
   * connection rejects with a `StreamClosedError` carrying the egress's reason.
   */
  async openWebSocket(options: TunnelWebSocketOptions): Promise<TunnelWebSocket> {
    const request = webSocketRequest(options);
    const stream = this.#streams.open('websocket', request.target.host, request.target.port);
    return connectTunnelWebSocket(stream, request);
  }

  /** Seals one packet from the streams and sends it on the current path. */
  #sendPacket(packet: WispPacket): void {
    if (!this.#session.established) throw new MeshError('ERR_TUNNEL_HANDSHAKE', 'not ready');
    this.#path.send(this.#session.seal(encodeWispPacket(packet)));
  }

  #fail(error: Error, closeTransport = true): void {
    if (this.#failure) return;
    this.#failure = error;
    this.#path.stopProbing();
    this.#rejectReady(error);
    this.#streams.fail(error);
    if (closeTransport) this.#path.close();
    this.onclose?.(error);
  }
}
