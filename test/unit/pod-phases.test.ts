// A pod's run on the host (activities/container/pod.ts) against an in-memory engine
// (test/support/fake-engine.ts): init containers one after the other before anything else, the
// others started once the main container runs and stopped once it ends, and a retried try that
// finds every container and starts none of them twice.
import { describe, expect, it, vi } from 'vitest';
import { runContainer, type RunDeps } from '../../activities/container/run-container.js';
import { containerName, LABEL, memberContainerName } from '../../activities/container/labels.js';
import type { EngineWatch } from '../../activities/container/engine-watch.js';
import type { HostDisks } from '../../activities/disks/host-disk.js';
import type { ContainerRequest } from '../../activities/types.js';
import { parseActionSpec, type ActionSpecInput } from '../../spec/action.js';
import { FakeEngine, type FakeContainer } from '../support/fake-engine.js';
import { stopRunContainer } from '../../activities/container/stop.js';
import { fakeRunDeps } from '../support/run-deps.js';

const HOST = 'host-a';
const image = 'r.example/tool:1';

function request(containers: ActionSpecInput['containers']): ContainerRequest {
  const spec = parseActionSpec({ image, command: ['run'], containers });
  return { actionId: 'a1', runId: 'run-1', attempt: 1, stopGraceSeconds: 2, spec };
}
const mainOf = (req: ContainerRequest) => containerName(req, req.attempt, HOST);
const memberOf = (req: ContainerRequest, name: string) => memberContainerName(mainOf(req), name);

/** Disks that are folders by name only: the engine here is in memory, nothing is mounted. */
function disks(): HostDisks {
  const paths = (name: string) => ({
    dir: `/disks/${name}`,
    image: `/disks/${name}/image`,
    inputs: `/disks/${name}/inputs.json`,
    out: `/disks/${name}/root/out`,
    tmp: `/disks/${name}/root/tmp_disk`,
    in: `/disks/${name}/root/in`,
    hosts: `/disks/${name}/hosts`,
  });
  return {
    paths,
    prepare: async (name: string) => paths(name),
    mount: async (name: string) => paths(name),
    full: async () => false,
    remove: async () => {},
  } as unknown as HostDisks;
}

function deps(): RunDeps {
  const watch = { epoch: 0, brokenSince: () => ({ broken: new Promise(() => {}), forget: () => {} }) };
  return fakeRunDeps(HOST, watch as unknown as EngineWatch, { disks: disks() });
}

function hooks(firstTry = true) {
  return { heartbeat: () => {}, signal: new AbortController().signal, firstTry, secrets: {} };
}

/** What each container does once started, by the name it has in the pod ("main" for the top-level one). */
function programs(req: ContainerRequest, by: Record<string, (c: FakeContainer) => void>) {
  return (c: FakeContainer) => {
    const name = c.name === mainOf(req) ? 'main' : c.name.slice(mainOf(req).length + 1);
    by[name]?.(c);
  };
}

/** The engine's calls, each container named (a call made by id too). */
function callsOf(engine: FakeEngine, op: RegExp): string[] {
  const names = new Map([...engine.containers.values()].map((c) => [c.id, c.name]));
  return engine.calls
    .filter((c) => op.test(c))
    .map((c) => c.replace(/ (.*)$/, (_, target: string) => ` ${names.get(target) ?? target}`));
}
const startsAndCreates = (engine: FakeEngine) => callsOf(engine, /^(create|start) /);

describe('a pod', () => {
  it('runs its init containers in order, each to its end, before the main one and its sidecars', async () => {
    const req = request({
      first: { image, role: 'init' },
      second: { image, role: 'init' },
      side: { image: 'r.example/side:1' },
    });
    const engine = new FakeEngine(
      programs(req, { first: (c) => c.exit(0), second: (c) => c.exit(0), main: (c) => c.exit(0) }),
    );
    const outcome = await runContainer(deps(), req, hooks(), engine);
    expect(outcome).toMatchObject({
      exitCode: 0,
      reason: 'exit',
      containers: { main: { exitCode: 0 }, first: { exitCode: 0 }, second: { exitCode: 0 }, side: { exitCode: 143 } },
    });
    expect(startsAndCreates(engine)).toEqual([
      `create ${mainOf(req)}`,
      `create ${memberOf(req, 'first')}`,
      `start ${memberOf(req, 'first')}`,
      `create ${memberOf(req, 'second')}`,
      `start ${memberOf(req, 'second')}`,
      `create ${memberOf(req, 'side')}`,
      `start ${mainOf(req)}`,
      `start ${memberOf(req, 'side')}`,
    ]);
    // The sidecar joins the main container's network namespace, and is labelled as the run's.
    const side = engine.containers.get(memberOf(req, 'side'))!.options;
    expect(side.HostConfig?.NetworkMode).toBe(`container:${mainOf(req)}`);
    expect(side.Labels).toMatchObject({ [LABEL.runId]: 'run-1', [LABEL.container]: 'side' });
    expect(side.HostConfig?.Mounts?.map((m) => m.Target)).toEqual(['/tmp_disk', '/etc/hosts']);
  });

  it("stops its sidecars once the main container ends, with the run's grace, and waits for no one else", async () => {
    const req = request({ side: { image } });
    const engine = new FakeEngine(programs(req, { main: (c) => setImmediate(() => c.exit(4)) }));
    const outcome = await runContainer(deps(), req, hooks(), engine);
    expect(outcome).toMatchObject({ exitCode: 4, reason: 'exit', containers: { side: { exitCode: 143 } } });
    expect(callsOf(engine, /^stop/)).toEqual([`stop(t=2) ${memberOf(req, 'side')}`]);
  });

  it('ends init-failed when an init container fails: nothing after it is made or started', async () => {
    const req = request({ bad: { image, role: 'init' }, never: { image, role: 'init' }, side: { image } });
    const engine = new FakeEngine(programs(req, { bad: (c) => c.exit(3) }));
    const outcome = await runContainer(deps(), req, hooks(), engine);
    expect(outcome).toMatchObject({
      exitCode: 3,
      reason: 'init-failed',
      initFailed: { container: 'bad', exitCode: 3 },
      containers: {
        main: { exitCode: null },
        bad: { exitCode: 3 },
        never: { exitCode: null },
        side: { exitCode: null },
      },
    });
    expect(startsAndCreates(engine)).toEqual([
      `create ${mainOf(req)}`,
      `create ${memberOf(req, 'bad')}`,
      `start ${memberOf(req, 'bad')}`,
    ]);
  });

  it('a retried try finds every container: none is made or started again', async () => {
    const req = request({ prep: { image, role: 'init' }, side: { image } });
    const engine = new FakeEngine();
    const add = (name: string) => engine.add(name, { name });
    const prep = add(memberOf(req, 'prep'));
    prep.begin(new Date(Date.now() - 10_000));
    prep.exit(0);
    const main = add(mainOf(req));
    main.begin();
    const side = add(memberOf(req, 'side'));
    side.begin();
    const running = runContainer(deps(), req, hooks(false), engine);
    await main.watched;
    main.exit(0);
    expect(await running).toMatchObject({
      exitCode: 0,
      reattached: 1,
      containers: { main: { exitCode: 0 }, prep: { exitCode: 0 }, side: { exitCode: 143 } },
    });
    expect(startsAndCreates(engine)).toEqual([]);
  });

  it('lasts until its other main containers end: the first that failed gives the exit code', async () => {
    const req = request({ worker: { image, role: 'main' }, side: { image } });
    const engine = new FakeEngine(programs(req, { main: (c) => c.exit(0) }));
    const running = runContainer(deps(), req, hooks(), engine);
    const worker = await vi.waitUntil(
      () => engine.containers.get(memberOf(req, 'worker'))?.running && engine.containers.get(memberOf(req, 'worker')),
    );
    await worker.watched;
    expect(callsOf(engine, /^stop/)).toEqual([]);
    worker.exit(2);
    expect(await running).toMatchObject({
      exitCode: 2,
      reason: 'exit',
      containers: { main: { exitCode: 0 }, worker: { exitCode: 2 }, side: { exitCode: 143 } },
    });
  });

  it('a cancel while an init container runs stops it, and the main container never starts', async () => {
    const req = request({ prep: { image, role: 'init' } });
    const engine = new FakeEngine();
    const run = deps();
    const running = runContainer(run, req, hooks(), engine);
    const prep = await vi.waitUntil(() => engine.containers.get(memberOf(req, 'prep')));
    await prep.watched;
    await stopRunContainer(engine, run, req);
    expect(await running).toMatchObject({
      exitCode: null,
      reason: 'canceled',
      containers: { prep: { exitCode: 143 } },
    });
    expect(callsOf(engine, /^start /)).toEqual([`start ${memberOf(req, 'prep')}`]);
  });
});
