/**
 * The parts of a service worker's global scope that our two workers use (the hub's, sw.ts, and
 * each site origin's, site-sw.ts), typed here once: the project compiles against the DOM
 * library, which has no `ServiceWorkerGlobalScope`.
 */
export interface FetchEventLike extends Event {
  readonly request: Request;
  readonly clientId: string;
  readonly resultingClientId: string;
  respondWith(response: Promise<Response> | Response): void;
}

export interface ExtendableEventLike extends Event {
  waitUntil(promise: Promise<unknown>): void;
}

export interface WorkerScopeLike<Clients extends { claim(): Promise<void> }> {
  readonly location: Location;
  readonly clients: Clients;
  skipWaiting(): Promise<void>;
  addEventListener(type: 'fetch', listener: (event: FetchEventLike) => void): void;
  addEventListener(type: 'message', listener: (event: Event) => void): void;
  addEventListener(
    type: 'install' | 'activate',
    listener: (event: ExtendableEventLike) => void,
  ): void;
}

/**
 * A new worker takes over at once: it does not wait for the pages of the old one to close, and
 * claims the pages open now.
 */
export function takeOverAtOnce(scope: WorkerScopeLike<{ claim(): Promise<void> }>): void {
  scope.addEventListener('install', () => void scope.skipWaiting());
  scope.addEventListener('activate', (event) => event.waitUntil(scope.clients.claim()));
}
