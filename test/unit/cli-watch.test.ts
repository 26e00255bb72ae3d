// What `caisson list|status --watch` and a waiting `caisson run` print as things change: off a
// terminal, one line per change and nothing for what stayed the same.
import { describe, expect, it } from 'vitest';
import { followPhases } from '../../cli/progress.js';
import { watch, type Frame } from '../../cli/watch.js';
import { scriptedStatus, statusIn } from '../support/scripted-status.js';

describe('--watch off a terminal', () => {
  it('prints every line once, then only the lines whose key changed, until the frame is final', async () => {
    const frames: Frame[] = [
      { lines: ['ACTION  STATUS', 'a  RUNNING  1s', 'b  RUNNING  1s'], keys: ['header', 'a RUNNING', 'b RUNNING'] },
      { lines: ['ACTION  STATUS', 'a  RUNNING  3s', 'b  RUNNING  3s'], keys: ['header', 'a RUNNING', 'b RUNNING'] },
      {
        lines: ['ACTION  STATUS', 'a  DONE     5s', 'b  RUNNING  5s'],
        keys: ['header', 'a DONE', 'b RUNNING'],
        final: true,
      },
    ];
    const printed: string[] = [];
    let look = 0;
    await watch(
      async () => frames[look++]!,
      (text) => printed.push(text),
      false,
      0,
    );
    expect(look).toBe(3);
    expect(printed).toEqual(['ACTION  STATUS', 'a  RUNNING  1s', 'b  RUNNING  1s', 'a  DONE     5s']);
  });

  it('on a terminal redraws the screen only when what it shows changed', async () => {
    const frames: Frame[] = [
      { lines: ['x'], keys: ['x'] },
      { lines: ['x'], keys: ['x'] },
      { lines: ['y'], keys: ['y'], final: true },
    ];
    const printed: string[] = [];
    let look = 0;
    await watch(
      async () => frames[look++]!,
      (text) => printed.push(text),
      true,
      0,
    );
    expect(printed).toEqual(['\x1b[H\x1b[2Jx', '\x1b[H\x1b[2Jy']);
  });
});

describe('the phase lines of a waiting run', () => {
  it('say each phase once, with why it waits, and stop when the action ends', async () => {
    const seen = [
      statusIn('PENDING', { waitingFor: 'a host with 2 free CPUs' }),
      statusIn('PENDING', { waitingFor: 'a host with 2 free CPUs' }),
      statusIn('PULLING', { host: 'h1' }),
      statusIn('RUNNING', { host: 'h1' }),
      statusIn('RUNNING', { host: 'h1' }),
      statusIn('COLLECTING', { host: 'h1' }),
      statusIn('DONE', { host: 'h1', exitCode: 0 }),
    ];
    const script = scriptedStatus(seen);
    const lines: string[] = [];
    await followPhases('a-1', script.read, script.ended, (text) => lines.push(text), 0);
    expect(lines).toEqual([
      'caisson: a-1 waiting for a host with 2 free CPUs',
      'caisson: a-1 pulling registry.example/x:1 on h1',
      'caisson: a-1 running on h1',
      'caisson: a-1 collecting /out and uploading the log',
    ]);
    expect(script.reads()).toBe(seen.length);
  });
});
