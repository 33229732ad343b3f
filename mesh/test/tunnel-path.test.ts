/**
 * A tunnel path's liveness probing on its own, under fake timers: when a probe goes out, what
 * answers it, when the path counts as unresponsive and when as lost, and that the path only
 * reports a dead path rather than closing anything itself.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { MeshError } from '../errors.ts';
import { TunnelPath, type TunnelTransport } from '../tunnel-path.ts';

const keepalive = { idleMs: 1_000, timeoutMs: 4_000 };

function transport(): TunnelTransport & { sent: Uint8Array[]; closed: number } {
  const t = {
    sent: [] as Uint8Array[],
    closed: 0,
    send: (message: Uint8Array<ArrayBuffer>) => void t.sent.push(message),
    close: () => void t.closed++,
  };
  return t;
}

/** A path whose probes are one-byte messages, with what it reported. */
function probing(failProbe = false): {
  path: TunnelPath;
  wire: ReturnType<typeof transport>;
  lost: MeshError[];
} {
  const wire = transport();
  const path = new TunnelPath(wire, keepalive);
  const lost: MeshError[] = [];
  path.startProbing({
    probe: () => {
      if (failProbe) throw new Error('the session is exhausted');
      return new Uint8Array([0]);
    },
    lost: (error) => lost.push(error),
  });
  return { path, wire, lost };
}

beforeEach(() => {
  vi.useFakeTimers();
});

afterEach(() => {
  vi.useRealTimers();
});

describe('TunnelPath', () => {
  it('probes once after idleMs of silence, and not while messages keep arriving', () => {
    const { path, wire } = probing();
    for (let i = 0; i < 10; i++) {
      vi.advanceTimersByTime(keepalive.idleMs / 2);
      path.heard();
    }
    expect(wire.sent).toHaveLength(0);
    vi.advanceTimersByTime(keepalive.idleMs);
    expect(wire.sent).toHaveLength(1);
    // One probe outstanding at a time.
    vi.advanceTimersByTime(keepalive.idleMs * 2);
    expect(wire.sent).toHaveLength(1);
    path.stopProbing();
  });

  it('turns unresponsive once a probe is older than idleMs, and responsive when anything arrives', () => {
    const { path } = probing();
    expect(path.responsive).toBe(true);
    vi.advanceTimersByTime(keepalive.idleMs + 300);
    expect(path.responsive).toBe(true); // the probe is out, but young
    vi.advanceTimersByTime(keepalive.idleMs);
    expect(path.responsive).toBe(false);
    path.heard();
    expect(path.responsive).toBe(true);
    path.stopProbing();
  });

  it('reports the path lost with ERR_TUNNEL_TIMEOUT timeoutMs after an unanswered probe', () => {
    const { path, wire, lost } = probing();
    // The timer ticks every 250 ms: the probe goes out at exactly idleMs.
    vi.advanceTimersByTime(keepalive.idleMs);
    expect(wire.sent).toHaveLength(1);
    vi.advanceTimersByTime(keepalive.timeoutMs - 250);
    expect(lost).toHaveLength(0);
    vi.advanceTimersByTime(250);
    expect(lost.map((e) => e.code)).toEqual(['ERR_TUNNEL_TIMEOUT']);
    expect(lost[0]?.message).toContain(`${keepalive.timeoutMs} ms`);
    // Reporting is all it does: the owner decides whether to close.
    expect(wire.closed).toBe(0);
    path.stopProbing();
    vi.advanceTimersByTime(keepalive.timeoutMs * 2);
    expect(lost).toHaveLength(1);
  });

  it('reports a probe that cannot be made as ERR_TUNNEL_CLOSED with its cause', () => {
    const { path, lost } = probing(true);
    vi.advanceTimersByTime(keepalive.idleMs);
    expect(lost.map((e) => e.code)).toEqual(['ERR_TUNNEL_CLOSED']);
    expect((lost[0]?.cause as Error).message).toBe('the session is exhausted');
    path.stopProbing();
  });

  it('reports a probe the transport will not take as ERR_TUNNEL_CLOSED with its cause', () => {
    const closing = new Error('DataChannel is closed');
    const path = new TunnelPath(
      {
        send: () => {
          throw closing;
        },
        close: () => undefined,
      },
      keepalive,
    );
    const lost: MeshError[] = [];
    path.startProbing({ probe: () => new Uint8Array([0]), lost: (error) => lost.push(error) });
    vi.advanceTimersByTime(keepalive.idleMs);
    expect(lost.map((e) => [e.code, e.cause])).toEqual([['ERR_TUNNEL_CLOSED', closing]]);
    expect(() => path.send(new Uint8Array(1))).toThrow(closing);
    path.stopProbing();
  });

  it('closes its transport and stops probing on close', () => {
    const { path, wire } = probing();
    path.close();
    expect(wire.closed).toBe(1);
    vi.advanceTimersByTime(keepalive.idleMs * 10);
    expect(wire.sent).toHaveLength(0);
  });

  it('refuses a keepalive without positive times', () => {
    expect(() => new TunnelPath(transport(), { idleMs: 0, timeoutMs: 100 })).toThrow(RangeError);
    expect(() => new TunnelPath(transport(), { idleMs: 100, timeoutMs: NaN })).toThrow(RangeError);
  });
});
