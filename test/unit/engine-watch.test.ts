// The engine watch tells a run that its engine went away, however briefly: the event stream it
// holds ending is the signal, counted once per break, and the engine answers again once the
// stream could be opened again.
import { PassThrough } from 'node:stream';
import type Docker from 'dockerode';
import { describe, expect, it, vi } from 'vitest';
import { EngineLost, EngineWatch, engineGone } from '../../activities/container/engine-watch.js';

/** An engine whose event streams the test ends, and which answers (opens streams, pings) or not. */
function fakeEngine() {
  const streams: PassThrough[] = [];
  const engine = {
    up: true,
    streams,
    getEvents: async () => {
      if (!engine.up) throw Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
      const s = new PassThrough();
      streams.push(s);
      return s;
    },
    ping: async () => {
      if (!engine.up) throw Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
      return 'OK';
    },
  };
  return engine;
}

describe('EngineWatch', () => {
  it('counts a break, is away until the stream opens again, and wakes the runs watching', async () => {
    const engine = fakeEngine();
    const changes: boolean[] = [];
    const watch = new EngineWatch(engine as unknown as Docker, (away) => changes.push(away));
    await watch.start();
    expect(watch.epoch).toBe(0);
    const watching = watch.brokenSince(0);
    let woken = false;
    void watching.broken.then(() => (woken = true));

    engine.up = false;
    engine.streams[0]!.destroy(Object.assign(new Error('aborted'), { code: 'ECONNRESET' }));
    await vi.waitFor(() => expect(woken).toBe(true));
    expect(watch.epoch).toBe(1);
    expect(watch.away).toBe(true);
    expect(await watch.answering(300)).toBe(false); // bounded: the engine stays away

    engine.up = true;
    expect(await watch.answering(5_000)).toBe(true);
    expect(watch.away).toBe(false);
    expect(changes).toEqual([true, false]);
    // A run that starts watching after the break sees only later ones.
    const later = watch.brokenSince(watch.epoch);
    let laterWoken = false;
    void later.broken.then(() => (laterWoken = true));
    engine.streams[1]!.end();
    await vi.waitFor(() => expect(laterWoken).toBe(true));
    expect(watch.epoch).toBe(2);
    watch.stop();
  });

  it('keeps no waiter a run gave up on', async () => {
    const engine = fakeEngine();
    const watch = new EngineWatch(engine as unknown as Docker);
    await watch.start();
    for (let i = 0; i < 1000; i++) watch.brokenSince(0).forget();
    expect((watch as unknown as { waiters: unknown[] }).waiters).toHaveLength(0);
    watch.stop();
  });

  it('reads a broken connection as the engine gone, and an answer of its own as not', () => {
    expect(engineGone(new EngineLost('h'))).toBe(true);
    expect(engineGone(Object.assign(new Error('aborted'), { code: 'ECONNRESET' }))).toBe(true);
    expect(engineGone(Object.assign(new Error('connect ECONNREFUSED /x.sock'), { code: 'ECONNREFUSED' }))).toBe(true);
    expect(
      engineGone(Object.assign(new Error('(HTTP code 500) server error'), { statusCode: 500, code: 'ECONNRESET' })),
    ).toBe(false);
  });
});
