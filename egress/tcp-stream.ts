/**
 * A TCP stream: policy check, then a connection to exactly the address the policy approved.
 * Uplink bytes that arrive while we are still resolving or connecting wait in a list bounded
 * by the uplink window.
 */
import { connect, type Socket } from 'node:net';
import type { Destination } from './destination-policy.ts';
import { StreamFailure } from './errors.ts';
import type { StreamBehaviour, StreamChannel } from './stream-channel.ts';
import type { StreamOpener } from './stream-engine.ts';
import type { Dialer, StreamContext } from './stream-types.ts';

export const dialTcp: Dialer = (address, port) => connect({ host: address.text, port });

export class TcpStream implements StreamBehaviour {
  readonly #channel: StreamChannel;
  readonly #context: StreamContext;
  #socket: Socket | null = null;
  #connected = false;
  readonly #early: Array<[Uint8Array, () => void]> = [];

  constructor(channel: StreamChannel, context: StreamContext) {
    this.#channel = channel;
    this.#context = context;
  }

  /** Connects to the approved address; failures close the stream with their reason. */
  open(destination: Destination): void {
    const socket = this.#context.dial(destination.address, destination.port);
    this.#socket = socket;
    socket.on('error', (err) => this.#channel.fail(err));
    socket.setNoDelay(true);
    const timer = setTimeout(() => {
      this.#channel.fail(new StreamFailure('ERR_EGRESS_TIMEOUT', 'connect timed out'));
    }, this.#context.limits.connectTimeoutMs);
    timer.unref();
    socket.once('close', () => clearTimeout(timer));
    socket.once('connect', () => {
      clearTimeout(timer);
      this.#connected = true;
      socket.setTimeout(this.#context.limits.idleTimeoutMs, () => {
        this.#channel.fail(new StreamFailure('ERR_EGRESS_IDLE', 'stream idle'));
      });
      for (const [payload, done] of this.#early.splice(0)) socket.write(payload, () => done());
      this.#channel.pipeFrom(socket);
    });
  }

  receive(payload: Uint8Array, done: () => void): void {
    if (this.#connected && this.#socket !== null) {
      this.#socket.write(payload, () => done());
    } else {
      this.#early.push([payload, done]);
    }
  }

  cancel(): void {
    this.#early.length = 0;
    this.#socket?.destroy();
  }
}

export const openTcp: StreamOpener = (channel, context) => new TcpStream(channel, context);
