/**
 * The Volunteer's tunnel cap as a setting: its default, its bounds, changes at run time, and
 * refusal counts that start at zero for every reason. (The cap at work, over real WebRTC, is
 * test/e2e/tunnel-cap.e2e.test.ts.)
 */
import { describe, expect, it } from 'vitest';
import { Volunteer } from '../volunteer.ts';
import { TUNNEL_REFUSAL_REASON_NAMES } from '../../protocol/tunnel-refused.ts';

const signaling = 'http://127.0.0.1:9/signal/';

describe('Volunteer maxTunnelsPerConsumer', () => {
  it('is 4 by default and can be set at construction and at run time', () => {
    const volunteer = new Volunteer({ signaling, kind: 'node' });
    expect(volunteer.maxTunnelsPerConsumer).toBe(4);
    volunteer.maxTunnelsPerConsumer = 1;
    expect(volunteer.maxTunnelsPerConsumer).toBe(1);
    expect(
      new Volunteer({ signaling, kind: 'node', maxTunnelsPerConsumer: 64 }).maxTunnelsPerConsumer,
    ).toBe(64);
  });

  it.each([0, 65, 1.5, -1, Number.NaN])(
    'refuses %s with a RangeError naming the setting',
    (bad) => {
      expect(() => new Volunteer({ signaling, kind: 'node', maxTunnelsPerConsumer: bad })).toThrow(
        /maxTunnelsPerConsumer: expected an integer in 1\.\.64/,
      );
      const volunteer = new Volunteer({ signaling, kind: 'node' });
      expect(() => (volunteer.maxTunnelsPerConsumer = bad)).toThrow(RangeError);
      expect(volunteer.maxTunnelsPerConsumer).toBe(4);
    },
  );

  it('counts refusals by reason, from zero, and hands out copies', () => {
    const volunteer = new Volunteer({ signaling, kind: 'node' });
    const counts = volunteer.refusals;
    expect(Object.keys(counts)).toEqual(TUNNEL_REFUSAL_REASON_NAMES);
    expect(Object.values(counts).every((n) => n === 0)).toBe(true);
    (counts as Record<string, number>)['busy'] = 7;
    expect(volunteer.refusals.busy).toBe(0);
  });
});
