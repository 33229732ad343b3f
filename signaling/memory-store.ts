/**
 * The embedded default store: the in-memory implementations of store.ts, for one instance on
 * its own. `createSignalingService` makes one unless it is given another.
 */
import { MemoryMatchStore } from './match-pool.ts';
import { MemoryPeerDirectory } from './memory-peer-directory.ts';
import { MessageQueue } from './message-queue.ts';
import type { SignalingStore, StoreSettings } from './store.ts';

export function createMemoryStore(settings: StoreSettings): SignalingStore {
  const queue = new MessageQueue(
    settings.maxQueuedPerDestination,
    settings.maxQueuedBytes,
    settings.maxQueuedBytesPerSender,
  );
  const matches = new MemoryMatchStore(settings.matchHoldMs);
  return {
    peers: new MemoryPeerDirectory(),
    queue,
    matches,
    // Nothing to disconnect; the tables are dropped, as the service's own state was.
    close: async () => {
      await matches.clear();
      await queue.clear();
    },
  };
}
