// What a run of the host's container phases needs from its worker (RunDeps), for unit tests against
// the in-memory engine (fake-engine.ts): one host, nothing held, no stop asked for, a 1 GiB disk budget.
import type { RunDeps } from '../../activities/container/run-container.js';
import type { EngineWatch } from '../../activities/container/engine-watch.js';

export function fakeRunDeps(host: string, engine: EngineWatch, extra: Partial<RunDeps> = {}): RunDeps {
  return {
    host,
    owner: { host, namespace: 'default', queue: `q@${host}` },
    capacity: { touch: () => {}, heldBy: () => undefined },
    env: {},
    artifactsUri: () => 's3://b/a1/',
    engine,
    engineAwayMs: 1000,
    stopRequested: new Set(),
    engineLost: new Set(),
    diskBytes: () => 1 << 30,
    ...extra,
  } as unknown as RunDeps;
}
