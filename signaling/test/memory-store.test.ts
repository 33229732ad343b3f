/** The store contract (store-contract.ts) against the embedded in-memory store. */
import { createMemoryStore } from '../memory-store.ts';
import { storeContract } from './store-contract.ts';

storeContract('memory', createMemoryStore);
