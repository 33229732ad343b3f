import { describe, expect, it } from 'vitest';
import { MessageQueue } from '../message-queue.ts';
import { message } from './store-contract.ts';

describe('MessageQueue', () => {
  it('keeps order per destination and forgets what it hands out', async () => {
    const queue = new MessageQueue(10, 1000);
    await queue.push(message('a', 'x', 1));
    await queue.push(message('b', 'x', 2));
    await queue.push(message('a', 'y', 3));
    expect((await queue.take('x')).map((m) => m.text)).toEqual(['a->x@1', 'b->x@2']);
    expect(await queue.take('x')).toEqual([]);
    expect(queue.messages).toBe(1);
    expect(queue.bytes).toBe(10);
  });

  it('bounds messages per destination and bytes in total', async () => {
    const queue = new MessageQueue(2, 25);
    expect(await queue.push(message('a', 'x', 1))).toBe('queued');
    expect(await queue.push(message('a', 'x', 2))).toBe('queued');
    expect(await queue.push(message('a', 'x', 3))).toBe('destination-full');
    expect(await queue.push(message('a', 'y', 3, 6))).toBe('total-full');
    expect(await queue.push(message('a', 'y', 3, 5))).toBe('queued');
  });

  it('keeps each sender group within its share, so others still get in', async () => {
    const queue = new MessageQueue(100, 100, 30);
    for (let i = 0; i < 3; i++) expect(await queue.push(message('a', `x${i}`, i))).toBe('queued');
    expect(await queue.push(message('a', 'y', 4))).toBe('sender-full');
    expect(await queue.bytesFrom('ip-a')).toBe(30);
    expect(await queue.push(message('b', 'y', 5))).toBe('queued');
    await queue.take('x0');
    expect(await queue.bytesFrom('ip-a')).toBe(20);
    expect(await queue.push(message('a', 'y', 6))).toBe('queued');
    await queue.expire(100);
    expect(await queue.bytesFrom('ip-a')).toBe(0);
  });

  it('expires per sender and destination, dropping the rest of that sender’s messages there', async () => {
    const queue = new MessageQueue(10, 1000);
    await queue.push(message('a', 'x', 1));
    await queue.push(message('b', 'x', 5));
    await queue.push(message('a', 'x', 6));
    await queue.push(message('a', 'y', 2));
    await queue.push(message('c', 'z', 9));
    expect(await queue.expire(3)).toEqual([
      { src: 'a', dst: 'x' },
      { src: 'a', dst: 'y' },
    ]);
    expect((await queue.take('x')).map((m) => m.src)).toEqual(['b']);
    expect(queue.destinations).toBe(1);
    expect(queue.messages).toBe(1);
    expect(await queue.expire(3)).toEqual([]);
  });
});
