/**
 * A fetch stream (tunnel only, type 0x80): the egress performs the HTTP request itself. The
 * CONNECT names host and port, which pass the destination policy like any TCP stream; the
 * request head's URL must name the same host and port, and the connection goes to exactly the
 * approved address. Redirects come back to the client, not followed. Bodies stream both ways
 * under the same windows as any stream.
 */
import { PassThrough, type Transform } from 'node:stream';
import { Client, buildConnector, type Dispatcher } from 'undici';
import {
  decodeFetchRequestHead,
  encodeFetchResponseHead,
  FetchHeadReader,
  frameFetchHead,
  type FetchRequestHead,
} from '../protocol/fetch-head.ts';
import { isProtocolError } from '../protocol/errors.ts';
import type { Destination } from './destination-policy.ts';
import { StreamFailure } from './errors.ts';
import { shapeResponse, upstreamRequestHeaders } from './fetch-headers.ts';
import { approvedUrl, invalid } from './request-stream.ts';
import type { StreamBehaviour, StreamChannel } from './stream-channel.ts';
import type { StreamOpener } from './stream-engine.ts';
import type { StreamContext } from './stream-types.ts';

export class FetchStream implements StreamBehaviour {
  readonly #channel: StreamChannel;
  readonly #context: StreamContext;
  readonly #reader = new FetchHeadReader();
  #head: FetchRequestHead | null = null;
  #destination: Destination | null = null;
  #body: PassThrough | null = null;
  #bodyEnded = false;
  #client: Client | null = null;
  #controller: Dispatcher.DispatchController | null = null;
  #decoder: Transform | null = null;
  #started = false;
  #done = false;

  constructor(channel: StreamChannel, context: StreamContext) {
    this.#channel = channel;
    this.#context = context;
  }

  open(destination: Destination): void {
    this.#destination = destination;
    this.#startWhenReady();
  }

  receive(payload: Uint8Array, done: () => void): void {
    try {
      if (this.#head === null) {
        this.#readHead(payload);
        done();
      } else if (this.#head.hasBody && !this.#bodyEnded && this.#body !== null) {
        if (payload.length === 0) {
          this.#bodyEnded = true;
          this.#body.end();
          done();
        } else {
          this.#body.write(payload, () => done());
        }
      } else {
        throw invalid('DATA after the end of the request');
      }
    } catch (err) {
      this.#channel.fail(isProtocolError(err) ? invalid(err.message) : err);
    }
  }

  #readHead(payload: Uint8Array): void {
    this.#reader.push(payload);
    const frame = this.#reader.read();
    if (frame === null) return;
    const head = decodeFetchRequestHead(frame.head);
    this.#head = head;
    if (head.hasBody) {
      this.#body = new PassThrough();
      if (frame.rest.length > 0) this.#body.write(frame.rest);
    } else if (frame.rest.length > 0) {
      throw invalid('body bytes after a head without a body');
    }
    this.#startWhenReady();
  }

  #startWhenReady(): void {
    const head = this.#head;
    const destination = this.#destination;
    if (head === null || destination === null || this.#started || this.#done) return;
    this.#started = true;
    const url = approvedUrl(head.url, destination);
    if (url instanceof StreamFailure) {
      this.#fail(url);
      return;
    }
    const { limits, ca } = this.#context;
    const connector = buildConnector({
      timeout: limits.connectTimeoutMs,
      ...(ca === undefined ? {} : { ca: [...ca] }),
    });
    // Keep `host` (the URL's) for the Host header and TLS SNI; dial the approved address only.
    const client = new Client(url.origin, {
      connect: (options, callback) =>
        connector({ ...options, hostname: destination.address.text }, callback),
      headersTimeout: limits.idleTimeoutMs,
      bodyTimeout: limits.idleTimeoutMs,
    });
    this.#client = client;
    client.dispatch(
      {
        method: head.method,
        path: url.pathname + url.search,
        headers: upstreamRequestHeaders(head.headers),
        body: this.#body,
        reset: true,
      },
      this.#handler(),
    );
  }

  #handler(): Dispatcher.DispatchHandler {
    return {
      onRequestStart: (controller) => {
        this.#controller = controller;
        if (this.#done) controller.abort(new Error('stream closed'));
      },
      onResponseStart: (controller, status, headers, statusMessage) => {
        if (status < 200 || this.#done) return;
        const shape = shapeResponse(headers);
        let head: Uint8Array;
        try {
          head = frameFetchHead(
            encodeFetchResponseHead({
              status,
              statusText: statusMessage ?? '',
              headers: shape.headers,
            }),
          );
        } catch (err) {
          this.#fail(invalid(err instanceof Error ? err.message : String(err)));
          return;
        }
        this.#channel.write(head);
        const decoder = shape.decoder?.() ?? new PassThrough();
        this.#decoder = decoder;
        decoder.on('drain', () => controller.resume());
        decoder.on('error', (err) =>
          this.#fail(new StreamFailure('ERR_EGRESS_NETWORK', err.message)),
        );
        this.#channel.pipeFrom(decoder);
      },
      onResponseData: (controller, chunk) => {
        if (this.#decoder?.write(chunk) === false) controller.pause();
      },
      onResponseEnd: () => {
        this.#done = true;
        this.#decoder?.end();
        this.#client?.close().catch(() => undefined);
      },
      onResponseError: (_controller, err) => this.#fail(err),
    };
  }

  #fail(err: unknown): void {
    this.#channel.fail(err);
  }

  cancel(): void {
    const finished = this.#done;
    this.#done = true;
    this.#body?.destroy();
    if (!finished) this.#controller?.abort(new Error('stream closed'));
    this.#decoder?.destroy();
    void this.#client?.destroy().catch(() => undefined);
  }
}

export const openFetch: StreamOpener = (channel, context) => new FetchStream(channel, context);
