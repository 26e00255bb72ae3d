// The create phase: the run's container is found (made by an earlier try of this attempt) or made,
// with its own filesystem mounted meanwhile. Every host path the run needs is checked first.
import { ApplicationFailure } from '@temporalio/activity';
import type { RunOutcome } from '../../spec/result.js';
import type { ContainerRequest } from '../types.js';
import type { ContainerDisk } from '../disks/host-disk.js';
import { FailureType } from '../../spec/failures.js';
import { checkInputTargets } from '../inputs/inputs.js';
import { PathOutsideRoot } from '../trust/contained-path.js';
import { refusedByHost } from '../trust/refused.js';
import { filePaths } from './container-files.js';
import { containerOptions, type EgressProxy } from './container-config.js';
import { openRunProxy } from './run-proxy.js';
import { openRunGang } from './run-gang.js';
import type { GangAttachment } from '../gang/gang-host.js';
import { isPod } from '../../spec/containers.js';
import { mainRequest } from './pod-config.js';
import { createSized, engineMaySize } from './sizing.js';
import { engineMessage, status, withEngineRetries } from './engine-errors.js';
import type { ContainerEngine, EngineContainer } from './engine.js';
import type { RunDeps } from './run-deps.js';
import type { Known, RunState } from './run-state.js';

/**
 * Every host path the run will need, checked before anything is made: inputs' targets under /in,
 * files' paths, and the container's disk folder (named after the run). A refusal names the field.
 */
export function checkHostPaths(deps: RunDeps, req: ContainerRequest, name: string): void {
  checkInputTargets(req.spec, deps.host);
  filePaths(req.spec, deps.host);
  // The engine unpacks files into the container's filesystem, which this policy makes read-only.
  if (deps.readOnlyRootfs && req.spec.files.length) {
    throw refusedByHost(
      deps.host,
      'files',
      "this host's containers have a read-only filesystem (policy readOnlyRootfs): write them from the command into /tmp or /tmp_disk instead",
    );
  }
  try {
    deps.disks?.paths(name);
  } catch (err) {
    if (err instanceof PathOutsideRoot)
      throw refusedByHost(deps.host, 'runId', `the container's disk folder ${err.message}`);
    throw err;
  }
}

/**
 * Finds the container an earlier try made, or makes it (state.known either way). Returns an
 * outcome instead when the attempt has ended already.
 */
export async function findOrCreate(state: RunState): Promise<RunOutcome | undefined> {
  const { deps, req } = state;
  // Before the container: its address on the gang's network is fixed, and its relays listen first.
  state.gang = await openRunGang(deps, req);
  // A first try has no container to find: it creates at once, and a conflict means it has one after all.
  if (!state.hooks.firstTry) {
    state.known = await inspectKnown(state).catch((err) => {
      if (status(err) !== 404) throw err;
      return undefined;
    });
    // Its engine went away while it ran and came back without it: the attempt ended there, and the
    // spec's retry policy says whether another follows. It is never started again under this attempt.
    if (!state.known && deps.engineLost.has(req.runId)) {
      return { exitCode: null, reason: 'engine-restarted', logTail: [], containerId: '', reattached: 1 };
    }
  }
  if (!state.known) await create(state);
  return undefined;
}

/** What the engine knows of the container; asking it means the container was there to find. */
async function inspectKnown(state: RunState): Promise<Known> {
  const info = await state.container.inspect();
  state.reattached = 1;
  // The container's environment names its proxy's port: the proxy is brought back there.
  await openRunProxy(state.deps, state.req, state.name, info.Config?.Labels);
  return {
    id: info.Id,
    status: info.State.Status,
    running: info.State.Running,
    startedMs: Date.parse(info.State.StartedAt),
    measured: !info.HostConfig.ReadonlyRootfs && !info.HostConfig.StorageOpt?.size,
  };
}

/** Makes the container, its filesystem mounted meanwhile (see HostDisks.prepare). */
async function create(state: RunState): Promise<void> {
  const { deps, req, name } = state;
  const proxy = await openRunProxy(deps, req, name);
  const disk = deps.disks ? await deps.disks.prepare(name, deps.owner) : undefined;
  const mounting = deps.disks?.mount(name, deps.diskBytes(req.spec));
  mounting?.catch(() => {}); // awaited by the start phase
  state.mounting = mounting;
  const make = () => createContainer(state.engine, deps, req, name, state.secrets, disk, proxy, state.gang);
  const created = await make()
    .catch(async (err: unknown) => {
      // The engine looked at the bind sources just as the filesystem was mounted over them, before
      // /out and /tmp_disk were made again on it: once the mount is done they are there to stay.
      if (!(mounting && err instanceof ApplicationFailure && /bind source path does not exist/.test(err.message)))
        throw err;
      await mounting;
      return make();
    })
    .catch(async (err: unknown) => {
      // No container holds the filesystem made for it: remove it now, nothing else would.
      await mounting?.catch(() => {});
      await deps.disks?.remove(name).catch(() => {});
      throw err;
    });
  if (!created) {
    state.known = await inspectKnown(state);
    return;
  }
  state.container = created.container;
  state.known = {
    id: created.container.id,
    status: 'created',
    running: false,
    startedMs: 0,
    measured: !deps.readOnlyRootfs && !created.sized,
  };
}

/** The container made, or undefined when an earlier try made it meanwhile (a name conflict). */
async function createContainer(
  engine: ContainerEngine,
  deps: RunDeps,
  req: ContainerRequest,
  name: string,
  secrets: Record<string, string>,
  disk?: ContainerDisk,
  proxy?: EgressProxy,
  gang?: GangAttachment,
): Promise<{ container: EngineContainer; sized: boolean } | undefined> {
  // A pod's main container gets its share of the action's cpu and memory (pod-config.ts).
  const made = isPod(req.spec) ? mainRequest(req) : req;
  const options = containerOptions(deps, made, name, secrets, await engineMaySize(engine), disk, proxy, gang);
  try {
    return await withEngineRetries(() => createSized(engine, options));
  } catch (err) {
    if (status(err) === 409) return undefined; // created meanwhile by an earlier try: re-attach to it
    // The engine refuses the settings themselves (more CPUs than the host has, say): no retry helps.
    if (status(err) === 400) throw containerRefused(deps.host, err);
    throw err;
  }
}

function containerRefused(host: string, err: unknown): ApplicationFailure {
  const said = engineMessage(err);
  return ApplicationFailure.create({
    type: FailureType.ContainerRefused,
    nonRetryable: true,
    message: `the container engine of host ${host} refused to create the container: ${said}; change the spec (resources, user, workingDir) to what this host allows`,
  });
}
