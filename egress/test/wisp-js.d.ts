// wisp-js ships no types; these cover the part of its API the interop tests use.
declare module '@mercuryworkshop/wisp-js/client' {
  export interface WispJsStream {
    onmessage: (data: Uint8Array) => void;
    onclose: (reason: number) => void;
    send(data: Uint8Array): void;
    close(reason?: number): void;
  }
  export interface WispJsConnection {
    onopen: () => void;
    onclose: () => void;
    onerror: () => void;
    create_stream(hostname: string, port: number, type?: 'tcp' | 'udp'): WispJsStream;
    close(): void;
  }
  /** An extension record the client lists in its INFO (opaque to the tests). */
  export interface WispJsExtension {
    readonly id: number;
  }
  export const client: {
    ClientConnection: new (
      url: string,
      options?: { wisp_version?: 1 | 2; wisp_extensions?: WispJsExtension[] },
    ) => WispJsConnection;
  };
  export const extensions: {
    PasswordAuthExtension: new (config: {
      client_config: { username: string; password: string };
    }) => WispJsExtension;
  };
}
declare module '@mercuryworkshop/wisp-js/server' {
  import type { IncomingMessage } from 'node:http';
  import type { Duplex } from 'node:stream';
  export const server: {
    options: { allow_loopback_ips: boolean; allow_private_ips: boolean };
    routeRequest(req: IncomingMessage, socket: Duplex, head: Buffer): void;
  };
  export const logging: { NONE: number; set_level(level: number): void };
}
