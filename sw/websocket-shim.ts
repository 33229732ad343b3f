/**
 * The DOM's WebSocket for proxied pages, over the hub: a page cannot open a socket to the
 * network (its origin's policy allows none), so `new WebSocket(url)` asks the hub, over a
 * MessagePort, to open the connection at the egress through the mesh (a WebSocket stream,
 * docs/protocol.md §3a). The hub checks the request like any other of the page's site and
 * relays messages both ways on the port.
 *
 * Port messages, hub → page: `{t:'open', protocol}`, `{t:'message', data: string |
 * ArrayBuffer}`, `{t:'close', code, reason, wasClean}`; page → hub: `{t:'send', data}`,
 * `{t:'close', code?, reason?}`.
 */

type Post = (message: Record<string, unknown>, transfer: Transferable[]) => void;

const CONNECTING = 0;
const OPEN = 1;
const CLOSING = 2;
const CLOSED = 3;

function field(value: object, key: string): unknown {
  return key in value ? (Object.getOwnPropertyDescriptor(value, key)?.value as unknown) : undefined;
}

/**
 * Builds the WebSocket class for a page whose requests go to the hub through `post`. `real`
 * turns an http(s) URL as the page sees it (on its site origin, like `location.host`) into
 * the real one.
 */
export function webSocketClass(
  post: Post,
  base: () => string,
  real: (url: URL) => URL,
): typeof WebSocket {
  class ProxiedWebSocket extends EventTarget {
    static readonly CONNECTING = CONNECTING;
    static readonly OPEN = OPEN;
    static readonly CLOSING = CLOSING;
    static readonly CLOSED = CLOSED;
    readonly CONNECTING = CONNECTING;
    readonly OPEN = OPEN;
    readonly CLOSING = CLOSING;
    readonly CLOSED = CLOSED;
    readonly url: string;
    readonly extensions = '';
    binaryType: BinaryType = 'blob';
    protocol = '';
    readyState = CONNECTING;
    bufferedAmount = 0;
    onopen: ((event: Event) => unknown) | null = null;
    onmessage: ((event: MessageEvent) => unknown) | null = null;
    onclose: ((event: CloseEvent) => unknown) | null = null;
    onerror: ((event: Event) => unknown) | null = null;
    readonly #port: MessagePort;

    constructor(url: string | URL, protocols?: string | string[]) {
      super();
      const given = new URL(String(url), base());
      if (!/^(?:wss?|https?):$/.test(given.protocol) || given.hash !== '') {
        throw new DOMException(`The URL '${String(url)}' is invalid.`, 'SyntaxError');
      }
      // Seen as http(s), mapped to the real origin (a page builds it from location.host),
      // then back to ws(s).
      given.protocol =
        given.protocol === 'wss:' || given.protocol === 'https:' ? 'https:' : 'http:';
      const target = real(given);
      target.protocol = target.protocol === 'https:' ? 'wss:' : 'ws:';
      const offered =
        protocols === undefined ? [] : typeof protocols === 'string' ? [protocols] : protocols;
      if (
        new Set(offered).size !== offered.length ||
        offered.some((p) => !/^[!#-'*+.^-z|~-]+$/.test(p))
      ) {
        throw new DOMException('The subprotocol is invalid or repeated.', 'SyntaxError');
      }
      this.url = target.href;
      const channel = new MessageChannel();
      this.#port = channel.port1;
      this.#port.onmessage = (event: MessageEvent<unknown>) => this.#receive(event.data);
      post({ type: 'bu-websocket', url: target.href, protocols: [...offered] }, [channel.port2]);
    }

    send(data: string | ArrayBufferLike | Blob | ArrayBufferView): void {
      if (this.readyState === CONNECTING) {
        throw new DOMException('Still in CONNECTING state.', 'InvalidStateError');
      }
      if (this.readyState !== OPEN) return;
      if (typeof data === 'string') {
        this.#port.postMessage({ t: 'send', data });
      } else if (data instanceof Blob) {
        void data
          .arrayBuffer()
          .then((buffer) => this.#port.postMessage({ t: 'send', data: buffer }, [buffer]));
      } else {
        const view = ArrayBuffer.isView(data)
          ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength)
          : new Uint8Array(data);
        const copy = view.slice().buffer;
        this.#port.postMessage({ t: 'send', data: copy }, [copy]);
      }
    }

    close(code?: number, reason?: string): void {
      if (code !== undefined && code !== 1000 && (code < 3000 || code > 4999)) {
        throw new DOMException(`The close code ${code} is not allowed.`, 'InvalidAccessError');
      }
      if (this.readyState === CLOSING || this.readyState === CLOSED) return;
      this.readyState = CLOSING;
      this.#port.postMessage({ t: 'close', code, reason });
    }

    #receive(data: unknown): void {
      if (typeof data !== 'object' || data === null) return;
      switch (field(data, 't')) {
        case 'open': {
          const protocol = field(data, 'protocol');
          this.protocol = typeof protocol === 'string' ? protocol : '';
          this.readyState = OPEN;
          this.#fire(new Event('open'), this.onopen);
          return;
        }
        case 'message': {
          if (this.readyState !== OPEN) return;
          const payload = field(data, 'data');
          const value =
            typeof payload === 'string'
              ? payload
              : payload instanceof ArrayBuffer
                ? this.binaryType === 'blob'
                  ? new Blob([payload])
                  : payload
                : undefined;
          if (value === undefined) return;
          this.#fire(
            new MessageEvent('message', { data: value, origin: new URL(this.url).origin }),
            this.onmessage,
          );
          return;
        }
        case 'close': {
          if (this.readyState === CLOSED) return;
          const code = field(data, 'code');
          const reason = field(data, 'reason');
          const wasClean = field(data, 'wasClean') === true;
          if (!wasClean) this.#fire(new Event('error'), this.onerror);
          this.readyState = CLOSED;
          this.#port.close();
          this.#fire(
            new CloseEvent('close', {
              code: typeof code === 'number' ? code : 1006,
              reason: typeof reason === 'string' ? reason : '',
              wasClean,
            }),
            this.onclose,
          );
          return;
        }
      }
    }

    #fire<E extends Event>(event: E, handler: ((event: E) => unknown) | null): void {
      handler?.call(this, event);
      this.dispatchEvent(event);
    }
  }
  return ProxiedWebSocket;
}
