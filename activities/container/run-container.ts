// Runs one attempt of an action in a container, or re-attaches to it. The container's name is
// derived from the run and attempt, so a retried activity (after a worker crash) finds the same
// container — running, finished or not yet started — and never starts a second one.
//
// A run goes through phases, each a module of its own that hands one record (run-state.ts) on to
// the next: create (create.ts: found or made), start (start.ts), watch (watch.ts: until it
// stops) and outcome (outcome.ts: how it ended). They reach the engine through engine.ts only;
// dockerode is adapted to it here, for the worker's callers. A spec with `containers` runs as a
// pod (pod.ts): the same phases for its main container, its other containers around them.
import type Docker from 'dockerode';
import type { RunOutcome } from '../../spec/result.js';
import type { ContainerRequest } from '../types.js';
import { resolveSecrets } from '../trust/secrets.js';
import { Redactor } from '../logs/redaction.js';
import { containerName } from './labels.js';
import { engineGone } from './engine-watch.js';
import type { ContainerEngine, CreateOptions } from './engine.js';
import { dockerContainer, dockerEngine } from './docker-engine.js';
import { watchRootfs as watchRootfsOf } from './rootfs-watch.js';
import { checkHostPaths, findOrCreate } from './create.js';
import { startPhase } from './start.js';
import { watch } from './watch.js';
import { outcome } from './outcome.js';
import { stopRunContainer } from './stop.js';
import { createSized as createSizedOn, engineMaySize as engineMaySizeOf } from './sizing.js';
import { newRunState, type RunState } from './run-state.js';
import { closeRunProxy } from './run-proxy.js';
import { isPod } from '../../spec/containers.js';
import { runPod } from './pod.js';
import type { RunDeps, RunHooks } from './run-deps.js';

export type { RunDeps, RunHooks } from './run-deps.js';
export { ENGINE_LOG_FILES, DEFAULT_LOG_SIZE, engineLogFileBytes } from './log-limits.js';
export { containerEnv, gpuDevices, rootfsHostConfig } from './container-config.js';
export { driverCannotSize, refusesStorageOpt } from './sizing.js';
export {
  ROOTFS_SAMPLE_MS,
  ROOTFS_STOPPING_SAMPLE_MS,
  nextRootfsSample,
  overBudget,
  rootfsVerdict,
} from './rootfs-watch.js';

/** Whether this Docker client's engine may bound a container's own filesystem (sizing.ts). */
export const engineMaySize = (docker: Docker): Promise<boolean> => engineMaySizeOf(dockerEngine(docker));

/** Creates a container on this Docker client's engine, sized where it can be (sizing.ts). */
export const createSized = (docker: Docker, options: CreateOptions) => createSizedOn(dockerEngine(docker), options);

/** Samples a Docker container's own filesystem against its budget (rootfs-watch.ts). */
export const watchRootfs = (
  container: Docker.Container,
  budget: number,
  graceSeconds: number,
  over: { bytes?: number },
) => watchRootfsOf(dockerContainer(container), budget, graceSeconds, over);

/** Runs the attempt's container on `engine` (the worker's Docker engine unless told otherwise). */
export async function runContainer(
  deps: RunDeps,
  req: ContainerRequest,
  hooks: RunHooks,
  engine: ContainerEngine = dockerEngine(deps.docker),
): Promise<RunOutcome> {
  let state: RunState | undefined;
  try {
    state = await openRun(engine, deps, req, hooks);
    if (isPod(req.spec)) return await runPod(state);
    return (await findOrCreate(state)) ?? (await startPhase(state)) ?? (await outcome(state, await watch(state)));
  } catch (err) {
    // Only a container that had started can have been stopped by its engine going away: one lost
    // before its start is started by the retry (its engine keeps it as created).
    if (engineGone(err) && state?.started) deps.engineLost.add(req.runId);
    throw err;
  } finally {
    // The container has stopped, or a later try finds it and starts its proxy again.
    if (state) await closeRunProxy(deps, state.name);
  }
}

/** Checks the run's host paths and resolves its secrets: nothing is made before both pass. */
async function openRun(engine: ContainerEngine, deps: RunDeps, req: ContainerRequest, hooks: RunHooks) {
  const name = containerName(req, req.attempt, deps.host);
  checkHostPaths(deps, req, name);
  // A break of the engine's connection from here on is this run's concern (engine-watch.ts).
  const epoch = deps.engine.epoch;
  deps.capacity.touch(req.runId);
  const secrets = hooks.secrets ?? (await resolveSecrets(req.spec.secrets, deps.secretsDir, deps.env, deps.host));
  const redactor = new Redactor(Object.values(secrets));
  return newRunState({ deps, req, hooks, engine, name, epoch, secrets, redactor });
}

/** Asks the run's container to stop (SIGTERM, then SIGKILL after the grace period). */
export async function stopContainer(deps: RunDeps, req: ContainerRequest): Promise<void> {
  await stopRunContainer(dockerEngine(deps.docker), deps, req);
}
