// The container's run on the host (activities/container/: create, start, watch, outcome) against
// an in-memory engine (test/support/fake-engine.ts): how each way a container can end becomes the
// run's outcome, on a first try and on a re-attach after a worker's crash.
import { describe, expect, it } from 'vitest';
import { runContainer, type RunDeps } from '../../activities/container/run-container.js';
import { containerName } from '../../activities/container/labels.js';
import { EngineLost, type EngineWatch } from '../../activities/container/engine-watch.js';
import type { ContainerRequest } from '../../activities/types.js';
import { parseActionSpec } from '../../spec/action.js';
import { engineError, FakeEngine, type FakeContainer } from '../support/fake-engine.js';
import { fakeRunDeps } from '../support/run-deps.js';

const HOST = 'host-a';
const base = parseActionSpec({ image: 'r.example/tool:1', command: ['run'] });

function request(timeoutMs = base.timeout): ContainerRequest {
  return { actionId: 'a1', runId: 'run-1', attempt: 1, stopGraceSeconds: 2, spec: { ...base, timeout: timeoutMs } };
}
const nameOf = (req: ContainerRequest) => containerName(req, req.attempt, HOST);

/** An engine watch whose connection breaks when the test says. */
function engineWatch(): { watch: EngineWatch; breakNow: () => void } {
  let breakNow!: () => void;
  const broken = new Promise<void>((resolve) => (breakNow = resolve));
  const watch = { epoch: 0, brokenSince: () => ({ broken, forget: () => {} }) } as unknown as EngineWatch;
  return { watch, breakNow };
}

function deps(engine: EngineWatch = engineWatch().watch): RunDeps {
  return fakeRunDeps(HOST, engine);
}

function hooks(firstTry = true) {
  return { heartbeat: () => {}, signal: new AbortController().signal, firstTry, secrets: {} };
}

/** Resolves with the container once the engine has started it. */
function started(): { program: (c: FakeContainer) => void; container: Promise<FakeContainer> } {
  let program!: (c: FakeContainer) => void;
  const container = new Promise<FakeContainer>((resolve) => (program = resolve));
  return { program, container };
}

describe('a first try', () => {
  it("the container's exit code is the outcome's, with the end of its log", async () => {
    const engine = new FakeEngine((c) => {
      c.print('hello');
      c.print('oops', 'stderr');
      c.exit(3);
    });
    const req = request();
    const outcome = await runContainer(deps(), req, hooks(), engine);
    expect(outcome).toMatchObject({ exitCode: 3, reason: 'exit', reattached: 0, logTail: ['hello', 'oops'] });
    expect(engine.calls).toEqual(expect.arrayContaining([`create ${nameOf(req)}`, expect.stringMatching(/^start /)]));
  });

  it('an OOM kill is told as such, not as an exit by SIGKILL', async () => {
    const engine = new FakeEngine((c) => c.exit(137, { oomKilled: true }));
    const outcome = await runContainer(deps(), request(), hooks(), engine);
    expect(outcome).toMatchObject({ exitCode: 137, reason: 'oom' });
  });

  it("a command the engine cannot start ends as a shell's would: 127, with the engine's words", async () => {
    const engine = new FakeEngine();
    const said = 'failed to create task: exec: "run": executable file not found in $PATH';
    engine.startFailure = engineError(400, said);
    const run = deps();
    const outcome = await runContainer(run, request(), hooks(), engine);
    expect(outcome).toMatchObject({ exitCode: 127, reason: 'exit', logTail: [said] });
    expect(engine.calls.filter((c) => c.startsWith('wait'))).toEqual([]);
    expect(run.engineLost.size).toBe(0);
  });

  it('one still running at its deadline is stopped with its grace, and ends as timeout', async () => {
    const engine = new FakeEngine(); // runs until it is stopped
    const outcome = await runContainer(deps(), request(150), hooks(), engine);
    expect(outcome).toMatchObject({ exitCode: 143, reason: 'timeout' });
    expect(engine.calls.filter((c) => c.startsWith('stop'))).toEqual([expect.stringMatching(/^stop\(t=2\) /)]);
  });

  it('the engine going away during the wait ends the try, and the run remembers its engine was lost', async () => {
    const { watch, breakNow } = engineWatch();
    const { program, container } = started();
    const engine = new FakeEngine(program);
    const run = deps(watch);
    const running = runContainer(run, request(), hooks(), engine);
    await (
      await container
    ).watched;
    breakNow();
    await expect(running).rejects.toBeInstanceOf(EngineLost);
    expect(run.engineLost.has('run-1')).toBe(true);
  });
});

describe('a retried try re-attaches', () => {
  it('to a container that has exited meanwhile: its end is read, nothing is made or started', async () => {
    const engine = new FakeEngine();
    const req = request();
    const earlier = engine.add(nameOf(req));
    earlier.begin(new Date(Date.now() - 10_000));
    earlier.print('done');
    earlier.exit(5, { finishedAt: new Date(Date.now() - 5_000) });
    const outcome = await runContainer(deps(), req, hooks(false), engine);
    expect(outcome).toMatchObject({ exitCode: 5, reason: 'exit', reattached: 1, logTail: ['done'] });
    expect(engine.calls.filter((c) => /^(create|start) /.test(c))).toEqual([]);
  });

  it('to one still running: it is watched until it ends, never started again', async () => {
    const engine = new FakeEngine();
    const req = request();
    const earlier = engine.add(nameOf(req));
    earlier.begin();
    const running = runContainer(deps(), req, hooks(false), engine);
    await earlier.watched;
    earlier.print('later');
    earlier.exit(0);
    expect(await running).toMatchObject({ exitCode: 0, reason: 'exit', reattached: 1, logTail: ['later'] });
    expect(engine.calls.filter((c) => /^(create|start) /.test(c))).toEqual([]);
  });

  it('to one whose engine lost it: the attempt ended there, engine-restarted, nothing is made', async () => {
    const engine = new FakeEngine();
    const run = deps();
    run.engineLost.add('run-1');
    const outcome = await runContainer(run, request(), hooks(false), engine);
    expect(outcome).toMatchObject({ exitCode: null, reason: 'engine-restarted', reattached: 1 });
    expect(engine.calls.filter((c) => c.startsWith('create'))).toEqual([]);
  });
});
