// The outcome phase: how the container ended, read from the engine once it has stopped, and why
// (deadline, disk budget, OOM kill, stop asked for, the engine's own shutdown, or its own exit).
import type { EndReason, RunOutcome } from '../../spec/result.js';
import type { ContainerRequest } from '../types.js';
import { LineTail, demux } from '../logs/log-stream.js';
import type { Redactor } from '../logs/redaction.js';
import type { EngineContainer, InspectInfo } from './engine.js';
import { overBudget } from './rootfs-watch.js';
import { stagedEarlier } from './start.js';
import type { RunDeps } from './run-deps.js';
import { knownOf, type RunState } from './run-state.js';
import type { Watched } from './watch.js';

export async function outcome(state: RunState, watched: Watched): Promise<RunOutcome> {
  const { deps, req, shipper, name } = state;
  const { rootfsBudget } = watched;
  // The live log's end is written while the run is collected (execute awaits shipper.ended()
  // before result.json, so a follower still sees end.json first); a failed write fails the try there.
  if (shipper && !shipper.complete) shipper.finish().catch(() => {});
  // The layer is measured once more at the end: a writer faster than the samples is judged too.
  const ended = await state.container.inspect(rootfsBudget !== undefined ? { size: true } : {});
  const endState = ended.State;
  const rootfsFull =
    rootfsBudget !== undefined ? overBudget(rootfsBudget, watched.rootfsOver.bytes, ended.SizeRw) : undefined;
  const ranFor = Date.parse(endState.FinishedAt) - Date.parse(endState.StartedAt);
  // After a re-attach the deadline may have passed while no worker watched: judge by the clock too.
  const timedOut = watched.timedOut || (endState.ExitCode !== 0 && ranFor >= req.spec.timeout);
  // A re-attached follow read only what was not shipped yet: the tail comes from the engine.
  const lines = state.reattached ? await lastLines(state.container, state.redactor) : state.tail.lines();
  const diskFull = deps.disks && (await deps.disks.full(name)) ? { bytes: deps.diskBytes(req.spec) } : undefined;
  // A re-attached run staged its inputs in an earlier try, which recorded them beside the disk.
  const staged = state.staged ?? (req.spec.inputs.length ? await stagedEarlier(deps, name) : undefined);
  return {
    diskFull,
    ...(rootfsFull ? { rootfsFull } : {}),
    ...(staged?.length ? { inputs: staged, inputsTiming: state.inputsTiming } : {}),
    exitCode: endState.ExitCode,
    reason: endReason(deps, req, endState, { timedOut, rootfsFull: rootfsFull !== undefined }),
    startedAt: endState.StartedAt,
    finishedAt: endState.FinishedAt,
    peakMemoryBytes: watched.usage.peakMemoryBytes,
    cpuSeconds: watched.usage.cpuSeconds,
    logTail: lines,
    containerId: knownOf(state).id,
    reattached: state.reattached,
  };
}

/** Why the container ended, the worker's own stops first: they explain a signal exit or an OOM. */
function endReason(
  deps: Pick<RunDeps, 'stopRequested' | 'engineLost'>,
  req: Pick<ContainerRequest, 'runId'>,
  ended: Pick<InspectInfo['State'], 'ExitCode' | 'OOMKilled'>,
  stopped: { timedOut: boolean; rootfsFull: boolean },
): EndReason {
  if (stopped.timedOut) return 'timeout';
  if (stopped.rootfsFull) return 'disk-full';
  if (ended.OOMKilled) return 'oom';
  if (deps.stopRequested.has(req.runId)) return 'canceled';
  // Killed by a signal (or left dead, 255) after its engine went away here: the engine stopped it.
  if (deps.engineLost.has(req.runId) && ended.ExitCode >= 128) return 'engine-restarted';
  return 'exit';
}

/** The last lines of a container's log, masked. */
export async function lastLines(container: EngineContainer, redactor: Redactor): Promise<string[]> {
  const tail = new LineTail(20, 400, (line) => redactor.text(line), redactor.window);
  const logs = await container.logs({ follow: false, stdout: true, stderr: true, tail: 20 });
  await demux([logs], {}, (stream, payload) => tail.push(stream, payload));
  return tail.lines();
}
