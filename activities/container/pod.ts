// Runs one attempt of a pod (spec.containers) on one host, or re-attaches to it. The main container
// goes through the same phases as a lone one (create, start, watch, outcome); around them: the init
// containers run one after the other to completion before it starts (a non-zero exit ends the run,
// init-failed, and nothing else starts); the others (sidecars, other mains) start once it runs, in
// its network namespace; once it has ended, the other mains are waited for (up to its deadline) and
// the sidecars stopped. Every container is found by its name first: a retry starts none twice.
import { ApplicationFailure } from '@temporalio/activity';
import { FailureType } from '../../spec/failures.js';
import { alongside, initMembers, MAIN_CONTAINER, type PodMember } from '../../spec/containers.js';
import type { RunOutcome } from '../../spec/result.js';
import { findOrCreate } from './create.js';
import { startPhase } from './start.js';
import { watch, type Watched } from './watch.js';
import { lastLines, outcome } from './outcome.js';
import { ensureMember, memberEnds, startMember, stopMember, type FoundMember } from './pod-members.js';
import { knownOf, type RunState } from './run-state.js';

const HEARTBEAT_EVERY_MS = 2000;

export async function runPod(state: RunState): Promise<RunOutcome> {
  const { deps, req, name } = state;
  if (!deps.disks) {
    // The containers share the run's /tmp_disk: a folder on the host's disks.
    throw ApplicationFailure.create({
      type: FailureType.ContainerRefused,
      nonRetryable: true,
      message: `host ${deps.host} has no container disks (disks folder), which the containers of spec.containers share: run them where the worker has one`,
    });
  }
  const lost = await findOrCreate(state);
  if (lost) return lost;
  if (knownOf(state).status === 'created') {
    // The init containers write into the run's disk: it is mounted before they start.
    state.mounting ??= deps.disks.mount(name, deps.diskBytes(req.spec));
    await state.mounting;
    const failed = await runInits(state);
    if (failed) return failed;
  }
  // Made before the main container starts, so that starting them after it is quick.
  const others = await ensureAll(alongside(req.spec), (member) => ensureMember(state, member, name));
  const notRun = await startPhase(state);
  if (notRun) return { ...notRun, containers: await ends(state, notRun) };
  await startAlongside(state, others);
  const watched = await watch(state);
  await endAlongside(state, others, watched);
  const ended = await outcome(state, watched);
  return mainsEnd(req.spec, ended, await ends(state, ended));
}

/** The init containers, in order, each to its end; an outcome when one failed. */
async function runInits(state: RunState): Promise<RunOutcome | undefined> {
  const { deps, req } = state;
  for (const member of initMembers(req.spec)) {
    if (deps.stopRequested.has(req.runId)) return undefined; // the start phase ends it, canceled
    const found = await ensureMember(state, member);
    const exitCode = (await startMember(found)) ?? (await runToEnd(state, found));
    if (deps.stopRequested.has(req.runId)) return undefined;
    if (exitCode !== 0) return initFailed(state, found, exitCode);
  }
  return undefined;
}

/** Waits for an init container's end, with heartbeats; stopped at the action's time limit. */
async function runToEnd(state: RunState, found: FoundMember): Promise<number> {
  const { deps, req, hooks } = state;
  const beat = () => {
    deps.capacity.touch(req.runId);
    hooks.heartbeat({ containerId: '', logTail: [] });
  };
  const ticker = setInterval(beat, HEARTBEAT_EVERY_MS);
  const limit = setTimeout(() => void stopMember(state, found.container).catch(() => {}), req.spec.timeout);
  const aborted = new Promise<never>((_, reject) => {
    const onAbort = () =>
      reject(new Error('the worker is shutting down; the container keeps running and the retry re-attaches to it'));
    if (hooks.signal.aborted) onAbort();
    else hooks.signal.addEventListener('abort', onAbort, { once: true });
  });
  aborted.catch(() => {});
  try {
    beat();
    await Promise.race([found.container.wait(), aborted]);
    return (await found.container.inspect()).State.ExitCode;
  } finally {
    clearInterval(ticker);
    clearTimeout(limit);
  }
}

/** The run's end when an init container failed: the main container was never started. */
async function initFailed(state: RunState, found: FoundMember, exitCode: number): Promise<RunOutcome> {
  const known = knownOf(state);
  // The live log (the main container's) ends empty: what the init container said is in its own log.
  const shipper = (state.shipper = await state.hooks.log);
  shipper?.bind(known.id, state.redactor);
  await shipper?.finish();
  const ended: RunOutcome = {
    exitCode,
    reason: 'init-failed',
    initFailed: { container: found.member.name, exitCode },
    logTail: await lastLines(found.container, state.redactor),
    containerId: known.id,
    reattached: state.reattached,
  };
  return { ...ended, containers: await ends(state, { exitCode: null }) };
}

/** Each member's container, found or made, in the spec's order. */
async function ensureAll(members: PodMember[], ensure: (m: PodMember) => Promise<FoundMember>) {
  const found: FoundMember[] = [];
  for (const member of members) found.push(await ensure(member));
  return found;
}

/** Starts the sidecars and other mains once the main container runs (never after it has ended). */
async function startAlongside(state: RunState, others: FoundMember[]): Promise<void> {
  if (!knownOf(state).running) return;
  await Promise.all(
    others.map((one) =>
      startMember(one).catch(async (err: unknown) => {
        // The main container ended before this one could join its namespace: it is left unstarted.
        if ((await state.container.inspect()).State.Running) throw err;
      }),
    ),
  );
}

/**
 * Once the main container has ended: the other mains are waited for until its deadline (or stopped
 * at once when it was stopped: deadline, cancel), and the sidecars are stopped.
 */
async function endAlongside(state: RunState, others: FoundMember[], watched: Watched): Promise<void> {
  const { deps, req } = state;
  const stopNow = watched.timedOut || deps.stopRequested.has(req.runId);
  const leftMs = Math.max(0, knownOf(state).startedMs + req.spec.timeout - Date.now());
  const mains = others.filter((f) => f.member.role === 'main');
  const sidecars = others.filter((f) => f.member.role !== 'main');
  if (!stopNow && mains.length) {
    // Cleared once the mains have ended: a timer left for the rest of the deadline (an hour by
    // default) would keep a stopping worker's process alive that long.
    let timer: NodeJS.Timeout | undefined;
    const waited = new Promise<void>((resolve) => (timer = setTimeout(resolve, leftMs)));
    try {
      await Promise.all(mains.map((f) => Promise.race([f.container.wait().catch(() => {}), waited])));
    } finally {
      clearTimeout(timer);
    }
  }
  await Promise.all([...mains, ...sidecars].map((f) => stopMember(state, f.container)));
}

/** Every container's exit code: the main one's from its outcome, the others' from the engine. */
async function ends(state: RunState, main: Pick<RunOutcome, 'exitCode'>) {
  return { [MAIN_CONTAINER]: { exitCode: main.exitCode }, ...(await memberEnds(state)) };
}

/**
 * The action's end when its main container exited 0: the first other main that did not makes it
 * fail with that exit code (the action is done when all its mains are).
 */
function mainsEnd(
  spec: RunState['req']['spec'],
  ended: RunOutcome,
  containers: Record<string, { exitCode: number | null }>,
): RunOutcome {
  const withEnds = { ...ended, containers };
  if (ended.reason !== 'exit' || ended.exitCode !== 0) return withEnds;
  const failed = alongside(spec).find((m) => m.role === 'main' && (containers[m.name]?.exitCode ?? 0) !== 0);
  return failed ? { ...withEnds, exitCode: containers[failed.name]!.exitCode } : withEnds;
}
