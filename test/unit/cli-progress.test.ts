// The live phase line of a waiting `caisson run` on a terminal: drawn in place with the time spent
// in the phase, taken away before anything else is printed, and gone once the action has ended.
import { describe, expect, it } from 'vitest';
import { followPhasesLive, livePhaseText, LivePhaseLine } from '../../cli/progress.js';
import { scriptedStatus, statusIn } from '../support/scripted-status.js';

const CLEAR = '\r\x1b[2K';

/** A terminal's stream that keeps what was written, and a clock the test moves. */
function terminal(columns = 200) {
  const written: string[] = [];
  let now = 1_000_000;
  return {
    written,
    stream: { columns, write: (text: string) => written.push(text) },
    clock: () => now,
    advance: (ms: number) => void (now += ms),
  };
}

describe('the live phase line', () => {
  it('shows the phase with its elapsed time, in whole seconds', () => {
    expect(livePhaseText('caisson: a-1 running on h1', 65_400)).toBe('caisson: a-1 running on h1 · 1m5s');
    expect(livePhaseText('caisson: a-1 waiting for a host with 2 free CPUs', 999)).toBe(
      'caisson: a-1 waiting for a host with 2 free CPUs · 0s',
    );
  });

  it('rewrites itself in place, restarts its clock on a new phase, and clears once', () => {
    const t = terminal();
    const live = new LivePhaseLine(t.stream, t.clock);
    live.update('caisson: a-1 pulling x:1');
    t.advance(3_000);
    live.draw();
    live.update('caisson: a-1 pulling x:1');
    t.advance(2_000);
    live.update('caisson: a-1 running on h1');
    t.advance(1_000);
    live.draw();
    live.clear();
    live.clear();
    expect(t.written).toEqual([
      `${CLEAR}caisson: a-1 pulling x:1 · 0s`,
      `${CLEAR}caisson: a-1 pulling x:1 · 3s`,
      `${CLEAR}caisson: a-1 pulling x:1 · 3s`,
      `${CLEAR}caisson: a-1 running on h1 · 0s`,
      `${CLEAR}caisson: a-1 running on h1 · 1s`,
      CLEAR,
    ]);
  });

  it('is cut to the width of the terminal, so that it never wraps', () => {
    const t = terminal(20);
    new LivePhaseLine(t.stream, t.clock).update('caisson: a-1 waiting for a host with a GPU');
    expect(t.written).toEqual([`${CLEAR}caisson: a-1 waiti…`]);
    expect(t.written[0]!.length - CLEAR.length).toBeLessThan(20);
  });

  it('follows the phases until the action ends, then leaves the terminal clean', async () => {
    const script = scriptedStatus([statusIn('PENDING'), statusIn('RUNNING', { host: 'h1' }), statusIn('DONE')]);
    const t = terminal();
    await followPhasesLive('a-1', script.read, script.ended, new LivePhaseLine(t.stream, t.clock), 0, 60_000);
    expect(t.written).toEqual([
      `${CLEAR}caisson: a-1 waiting for a host · 0s`,
      `${CLEAR}caisson: a-1 running on h1 · 0s`,
      CLEAR,
    ]);
  });
});
