/**
 * Keeps the chain bench working: its smoke run (4 MiB, one run, both volunteer kinds) must
 * move every byte it asked for and produce figures that make sense. It is here, with the
 * end-to-end tests, because it needs WebRTC inside scripts/netns-run and Chromium. No timing
 * is asserted: how fast the chain is belongs in bench/RESULTS.md, not in a test.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BENCHES, runBench } from '../lib/benches.ts';
import { medianOf, type BenchResult } from '../lib/result.ts';

const out = mkdtempSync(join(tmpdir(), 'bu-bench-chain-smoke-'));
const SMOKE_MIB = 4;
const KINDS = ['Node volunteer (bu volunteer)', 'Chromium volunteer'];

afterAll(() => rmSync(out, { recursive: true, force: true }));

describe('the WebRTC benches in smoke mode', () => {
  it('moves every byte through the chain and the raw data channel, for both volunteers', async () => {
    const bench = BENCHES.find((b) => b.name === 'chain');
    if (bench === undefined) throw new Error('the chain bench is not registered');
    expect(await runBench(bench, ['--smoke', '--out', out])).toBe(0);
    const result = JSON.parse(readFileSync(join(out, 'chain.json'), 'utf8')) as BenchResult;
    expect(result.bench).toBe('chain');
    expect(result.smoke).toBe(true);
    expect(result.runs).toBe(1);
    for (const m of result.measurements) {
      // One sample per run, but the first byte over many bu proxy starts has one per start.
      const samples = m.metric.startsWith('bu proxy spawned → first byte, ') ? 3 : 1;
      expect(m.summary.samples.length, `${m.metric} [${m.subject}]`).toBe(samples);
      expect(Number.isFinite(m.summary.median) && m.summary.median >= 0, m.metric).toBe(true);
    }
    for (const kind of KINDS) {
      for (const subject of ['chain', 'raw data channel']) {
        expect(medianOf(result, `bytes delivered, ${kind}`, subject), `${kind} ${subject}`).toBe(
          SMOKE_MIB,
        );
      }
      const chain = medianOf(result, `throughput, ${kind}`, 'chain');
      const raw = medianOf(result, `throughput, ${kind}`, 'raw data channel');
      expect(chain / raw, kind).toBeGreaterThan(0);
      expect(medianOf(result, 'bu proxy spawned → first byte of a response', kind)).toBeGreaterThan(
        0,
      );
      expect(
        medianOf(result, 'bu proxy spawned → first byte, 3 starts in a row', kind),
      ).toBeGreaterThan(0);
    }
    expect(result.verdicts).toHaveLength(4);
    for (const v of result.verdicts) expect(typeof v.met).toBe('boolean');
  }, 180_000);

  it('measures the memory of proxy, volunteer and egress under a slow reader', async () => {
    const bench = BENCHES.find((b) => b.name === 'slow-reader-chain');
    if (bench === undefined) throw new Error('the slow-reader-chain bench is not registered');
    expect(await runBench(bench, ['--smoke', '--out', out])).toBe(0);
    const result = JSON.parse(
      readFileSync(join(out, 'slow-reader-chain.json'), 'utf8'),
    ) as BenchResult;
    expect(result.bench).toBe('slow-reader-chain');
    for (const role of ['bu proxy', 'volunteer (bu volunteer)', 'egress (bu serve)']) {
      // Each process exists and has a resident set; growth may be 0 in a 2 s smoke run.
      expect(medianOf(result, 'peak RSS', role), role).toBeGreaterThan(10);
      expect(Number.isFinite(medianOf(result, 'RSS growth (peak − before)', role))).toBe(true);
    }
    expect(result.verdicts).toHaveLength(3);
  }, 180_000);
});
