/**
 * Keeps the benches working: each runs in `--smoke` mode (a few seconds, tiny loads) and must
 * write a well-formed result with positive numbers. No timing is asserted: these are
 * benchmarks, and how fast anything was is for bench/RESULTS.md, not for a test.
 * Needs dist/ (npm test builds it; the servers under test run from there), the site build
 * for the bundle bench and Chromium for the wisp-clients bench (scripts/ensure-chromium).
 * Benches that need WebRTC (the chain) run inside scripts/netns-run with the end-to-end tests
 * instead: bench/test/chain.e2e.test.ts.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BENCHES, runBench } from '../lib/benches.ts';
import type { BenchResult } from '../lib/result.ts';

const out = mkdtempSync(join(tmpdir(), 'bu-bench-smoke-'));

afterAll(() => rmSync(out, { recursive: true, force: true }));

describe('benches in smoke mode', () => {
  for (const bench of BENCHES.filter((b) => b.netns !== true)) {
    it(`${bench.name} writes a well-formed result`, async () => {
      expect(await runBench(bench, ['--smoke', '--out', out])).toBe(0);
      const result = JSON.parse(
        readFileSync(join(out, `${bench.name}.json`), 'utf8'),
      ) as BenchResult;
      expect(result.bench).toBe(bench.name);
      expect(result.smoke).toBe(true);
      expect(result.machine.cpus).toBeGreaterThan(0);
      expect(result.measurements.length).toBeGreaterThan(0);
      for (const m of result.measurements) {
        expect(m.summary.samples.length, `${m.metric} [${m.subject}]`).toBe(result.runs);
        // Differences of two RSS readings (per idle peer, growth) can come out below zero when
        // the server collects garbage between them, which in a smoke run's small load is
        // common; every other figure is a count, a size, a rate or a time, never negative. CPU
        // over a smoke run's short window can round to zero clock ticks.
        const difference = /RSS per|growth/.test(m.metric);
        for (const value of [m.summary.median, m.summary.min, m.summary.max]) {
          expect(
            Number.isFinite(value) && (difference || value >= 0),
            `${m.metric} [${m.subject}] = ${value}`,
          ).toBe(true);
        }
      }
      // Yet every bench must have measured something.
      expect(result.measurements.some((m) => m.summary.median > 0)).toBe(true);
      expect(result.verdicts.length).toBeGreaterThan(0);
      for (const v of result.verdicts) expect(typeof v.met).toBe('boolean');
      // Matchmaking's one target is a count, not a speed: every consumer must get a volunteer.
      // (Its burst once matched 4 of 2,000 unseen: from one address the fair shares held it,
      // and only a full run's table showed it.)
      if (bench.name === 'matchmaking') {
        expect(result.verdicts.map((v) => [v.target, v.met])).toEqual(
          result.verdicts.map((v) => [v.target, true]),
        );
      }
      // The ecosystem-client bench judges epoxy in both Wisp versions, and each download it
      // timed took time on the page's clock (its CPU figures may round to zero ticks).
      if (bench.name === 'wisp-clients') {
        expect(result.verdicts.map((v) => v.target)).toEqual([
          expect.stringMatching(/\(Wisp v1\)$/) as unknown,
          expect.stringMatching(/\(Wisp v2\)$/) as unknown,
        ]);
        const times = result.measurements.filter((m) => m.metric.includes('download time'));
        expect(times.map((t) => t.subject).sort()).toEqual([
          'ours /wisp/',
          'ours /wisp/',
          'wisp-js',
          'wisp-js',
        ]);
        for (const t of times)
          expect(t.summary.min, `${t.metric} [${t.subject}]`).toBeGreaterThan(0);
      }
    }, 40_000);
  }
});
