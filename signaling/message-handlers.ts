/**
 * One handler per PeerJS message type, in a registry. Messages reach a handler only after
 * `parseClientMessage` has checked them, so handlers never see unchecked input; `src` is always
 * the sender's registered id, whatever the client wrote.
 *
 * A handler returns a promise only when it had to wait for the store (a message queued for an
 * offline id); relaying to a peer connected here is synchronous and allocates nothing more.
 * The socket layer (peerjs-socket.ts) holds a socket's next messages until such a promise
 * settles, so each sender's messages keep their order.
 */
import { SchemaError } from '../protocol/errors.ts';
import {
  ANSWER,
  CANDIDATE,
  ERROR,
  EXPIRE,
  HEARTBEAT,
  LEAVE,
  OFFER,
  isSignalType,
  relayText,
  serializeServerMessage,
  type ClientMessage,
  type ClientMessageType,
  type HeartbeatMessage,
  type NoticeMessage,
  type NoticeType,
  type SignalMessage,
  type SignalType,
} from '../protocol/peerjs-messages.ts';
import type { RelayRate } from './config.ts';
import { CLOSE_CODES, REFUSAL_TEXT } from './errors.ts';
import type { Logger } from '../server-kit/logger.ts';
import type { SignalingMetrics } from './metrics.ts';
import type { QueuedMessage } from './message-queue.ts';
import type { Peer, PeerLink, PeerRegistry } from './peer-registry.ts';
import { RelayBudget } from './relay-budget.ts';
import type { OfflineQueue } from './store.ts';

export interface RelayContext {
  /** The peers connected to this process. */
  readonly registry: PeerRegistry;
  readonly queue: OfflineQueue;
  readonly metrics: SignalingMetrics;
  readonly logger: Logger;
  /** What one id may send to be relayed; absent means no limit (unit tests of the relay). */
  readonly relayRate?: RelayRate;
  /** An ANSWER from `from` to `to` passed: a matched volunteer took its consumer's offer. */
  readonly answered?: (from: string, to: string) => void;
}

type Handler<M> = (sender: Peer, message: M) => void | Promise<void>;

type MessageOf<T extends ClientMessageType> = T extends typeof HEARTBEAT
  ? HeartbeatMessage
  : T extends SignalType
    ? SignalMessage
    : NoticeMessage;

export type MessageHandlers = { readonly [T in ClientMessageType]: Handler<MessageOf<T>> };

export function createMessageHandlers(context: RelayContext): MessageHandlers {
  const signal: Handler<SignalMessage> = (sender, message) => relay(context, sender, message);
  const notice: Handler<NoticeMessage> = (sender, message) => relay(context, sender, message);
  return {
    // Any message refreshes `lastSeen` before dispatch; a heartbeat has nothing else to do.
    [HEARTBEAT]: () => undefined,
    [OFFER]: signal,
    [ANSWER]: signal,
    [CANDIDATE]: signal,
    [LEAVE]: notice,
    [EXPIRE]: notice,
  };
}

/** Runs the message's handler; a promise when it waits for the store (see above). */
export function dispatch(
  handlers: MessageHandlers,
  sender: Peer,
  message: ClientMessage,
): void | Promise<void> {
  if (message.type === HEARTBEAT) return handlers[HEARTBEAT](sender, message);
  if (isSignalMessage(message)) return handlers[message.type](sender, message);
  return handlers[message.type](sender, message);
}

function isSignalMessage(message: SignalMessage | NoticeMessage): message is SignalMessage {
  return isSignalType(message.type);
}

/**
 * Delivers to `dst` if connected; a signal for an offline id is queued (a notice is dropped).
 * When the send fails the destination's socket is closed and the sender hears LEAVE, as from
 * the stock server, so it stops waiting for an answer.
 */
function relay(
  context: RelayContext,
  sender: Peer,
  message: SignalMessage | NoticeMessage,
): void | Promise<void> {
  const { registry, metrics } = context;
  let text: string;
  try {
    text = relayText(message, sender.id);
  } catch (err) {
    if (!(err instanceof SchemaError)) throw err;
    // Within the limit as sent, over it once relayed: refused like any message too large.
    metrics.rejected('too-large');
    sender.link.send(
      serializeServerMessage({ type: ERROR, payload: { msg: REFUSAL_TEXT.tooLarge } }),
    );
    sender.link.close(CLOSE_CODES.tooLarge, 'message too large');
    return;
  }
  if (!withinBudget(context, sender, text.length)) return;
  if (message.type === ANSWER) context.answered?.(sender.id, message.dst);
  const destination = registry.get(message.dst);
  if (destination !== undefined) {
    if (destination.link.send(text)) {
      metrics.relayed(message.type);
      return;
    }
    metrics.rejected('send-failed');
    context.logger.debug('send failed; closing the destination', { peer: destination.id });
    destination.link.close(CLOSE_CODES.sendFailed, 'send failed');
    registry.remove(destination.id, destination.link);
    notify(sender, LEAVE, destination.id);
    return;
  }
  if (!isSignalMessage(message)) return;
  return enqueue(context, sender, message, text);
}

/** Keeps a signal for an offline `dst`, or tells the sender it cannot be kept. */
async function enqueue(
  context: RelayContext,
  sender: Peer,
  message: SignalMessage,
  text: string,
): Promise<void> {
  const { queue, metrics } = context;
  const result = await queue.push({
    type: message.type,
    src: sender.id,
    group: sender.group,
    dst: message.dst,
    text,
    bytes: Buffer.byteLength(text),
    at: Date.now(),
  });
  if (result === 'queued') return;
  metrics.rejected(result === 'sender-full' ? 'queue-share' : 'queue-full');
  // The sender would otherwise wait for an answer that cannot come; if something of its own is
  // queued there, the EXPIRE for that covers this one too.
  if (!(await queue.has(sender.id, message.dst))) notify(sender, EXPIRE, message.dst);
}

/**
 * Takes a message from the sender's relay budget. Over it, the message is dropped and counted,
 * and the sender hears one ERROR until a message passes again: a flood gets no answer per
 * message, and a well-behaved client never sees this.
 */
function withinBudget(context: RelayContext, sender: Peer, chars: number): boolean {
  const rate = context.relayRate;
  if (rate === undefined) return true;
  const now = Date.now();
  sender.budget ??= new RelayBudget(rate, now);
  if (sender.budget.take(rate, chars, now)) {
    sender.budget.warned = false;
    return true;
  }
  context.metrics.rejected('relay-rate');
  if (!sender.budget.warned) {
    sender.budget.warned = true;
    sender.link.send(
      serializeServerMessage({ type: ERROR, payload: { msg: REFUSAL_TEXT.relayRate } }),
    );
  }
  return false;
}

/** A server notice: LEAVE or EXPIRE as if from `about`, with no payload. */
export function notify(to: Peer, type: NoticeType, about: string): void {
  to.link.send(serializeServerMessage({ type, src: about, dst: to.id }));
}

/**
 * Delivers what waited for `peer` while it was offline, in order. While the store is read, the
 * link holds what is relayed to the peer meanwhile and sends it after the queued messages, so
 * nothing overtakes a message that was sent earlier.
 */
export async function flushQueued(context: RelayContext, peer: Peer): Promise<void> {
  const link = peer.link;
  link.hold?.();
  let queued: readonly QueuedMessage[] = [];
  try {
    queued = await context.queue.take(peer.id);
  } finally {
    const held = link.unhold?.() ?? [];
    deliver(context, link, queued, held);
  }
}

function deliver(
  context: RelayContext,
  link: PeerLink,
  queued: readonly QueuedMessage[],
  held: readonly string[],
): void {
  for (const message of queued) {
    if (!link.send(message.text)) {
      context.metrics.rejected('send-failed');
      return;
    }
    context.metrics.relayed(message.type);
  }
  for (const text of held) if (!link.send(text)) return;
}
