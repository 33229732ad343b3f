import { describe, expect, it } from 'vitest';
import { MessageQueue, type QueuedMessage } from '../message-queue.ts';

const message = (src: string, dst: string, at: number, bytes = 10): QueuedMessage => ({
  type: 'OFFER',
  src,
  group: `ip-${src}`,
  dst,
  text: `${src}->${dst}@${at}`,
  bytes,
  at,
});

describe('MessageQueue', () => {
  it('keeps order per destination and forgets what it hands out', () => {
    const queue = new MessageQueue(10, 1000);
    queue.push(message('a', 'x', 1));
    queue.push(message('b', 'x', 2));
    queue.push(message('a', 'y', 3));
    expect(queue.take('x').map((m) => m.text)).toEqual(['a->x@1', 'b->x@2']);
    expect(queue.take('x')).toEqual([]);
    expect(queue.messages).toBe(1);
    expect(queue.bytes).toBe(10);
  });

  it('bounds messages per destination and bytes in total', () => {
    const queue = new MessageQueue(2, 25);
    expect(queue.push(message('a', 'x', 1))).toBe('queued');
    expect(queue.push(message('a', 'x', 2))).toBe('queued');
    expect(queue.push(message('a', 'x', 3))).toBe('destination-full');
    expect(queue.push(message('a', 'y', 3, 6))).toBe('total-full');
    expect(queue.push(message('a', 'y', 3, 5))).toBe('queued');
  });

  it('keeps each sender group within its share, so others still get in', () => {
    const queue = new MessageQueue(100, 100, 30);
    for (let i = 0; i < 3; i++) expect(queue.push(message('a', `x${i}`, i))).toBe('queued');
    expect(queue.push(message('a', 'y', 4))).toBe('sender-full');
    expect(queue.bytesFrom('ip-a')).toBe(30);
    expect(queue.push(message('b', 'y', 5))).toBe('queued');
    queue.take('x0');
    expect(queue.bytesFrom('ip-a')).toBe(20);
    expect(queue.push(message('a', 'y', 6))).toBe('queued');
    queue.expire(100);
    expect(queue.bytesFrom('ip-a')).toBe(0);
  });

  it('expires per sender and destination, dropping the rest of that sender’s messages there', () => {
    const queue = new MessageQueue(10, 1000);
    queue.push(message('a', 'x', 1));
    queue.push(message('b', 'x', 5));
    queue.push(message('a', 'x', 6));
    queue.push(message('a', 'y', 2));
    queue.push(message('c', 'z', 9));
    expect(queue.expire(3)).toEqual([
      { src: 'a', dst: 'x' },
      { src: 'a', dst: 'y' },
    ]);
    expect(queue.take('x').map((m) => m.src)).toEqual(['b']);
    expect(queue.destinations).toBe(1);
    expect(queue.messages).toBe(1);
    expect(queue.expire(3)).toEqual([]);
  });
});
