// A pod's other containers (spec.containers) on the engine: each found by its deterministic name
// (made by an earlier try of the attempt) or made, started only while it is merely created, and
// stopped or read once the main containers have ended. Nothing here starts a container twice.
import { boundedStopGrace } from '../../spec/workflow-api.js';
import { extraMembers, type PodMember } from '../../spec/containers.js';
import { memberContainerName } from './labels.js';
import { memberOptions } from './pod-config.js';
import { startFailureExitCode } from './start.js';
import { createSized, engineMaySize } from './sizing.js';
import { isCommandFailure, status, withEngineRetries } from './engine-errors.js';
import type { EngineContainer } from './engine.js';
import type { RunState } from './run-state.js';

/** A member as found or made: by name, with the engine's status of it when looked at. */
export interface FoundMember {
  member: PodMember;
  container: EngineContainer;
  status: string;
}

/** The member's container, made unless an earlier try made it. `joins`: the main container's name. */
export async function ensureMember(state: RunState, member: PodMember, joins?: string): Promise<FoundMember> {
  const name = memberContainerName(state.name, member.name);
  const container = state.engine.container(name);
  const found = await statusOf(container);
  if (found) return { member, container, status: found };
  const disk = state.deps.disks!.paths(state.name);
  const options = memberOptions(state.deps, state.req, member, {
    name,
    joins,
    engineSizes: await engineMaySize(state.engine),
    disk,
  });
  try {
    const made = await withEngineRetries(() => createSized(state.engine, options));
    return { member, container: made.container, status: 'created' };
  } catch (err) {
    if (status(err) !== 409) throw err;
    // Made meanwhile by an earlier try: re-attach to it.
    return { member, container, status: (await statusOf(container)) ?? 'created' };
  }
}

/** The engine's status of the container; undefined when there is none. */
async function statusOf(container: EngineContainer): Promise<string | undefined> {
  try {
    return (await container.inspect()).State.Status;
  } catch (err) {
    if (status(err) === 404) return undefined;
    throw err;
  }
}

/**
 * Starts a member that is only created (one that runs or ran already is left as it is). Returns
 * the exit code a shell would give when the engine could not run its command.
 */
export async function startMember(found: FoundMember): Promise<number | undefined> {
  if (found.status !== 'created') return undefined;
  try {
    await withEngineRetries(() => found.container.start());
    found.status = 'running';
    return undefined;
  } catch (err) {
    if (status(err) === 304) return undefined; // already started
    const message = (err as Error).message;
    if (status(err) === 400 || isCommandFailure(message)) return startFailureExitCode(message);
    throw err;
  }
}

/** Asks a member to stop: SIGTERM, then SIGKILL after the run's stop grace. */
export async function stopMember(state: RunState, container: EngineContainer): Promise<void> {
  await container.stop({ t: boundedStopGrace(state.req.stopGraceSeconds) }).catch((err: unknown) => {
    if (status(err) !== 304 && status(err) !== 404) throw err;
  });
}

/** Each member's exit code by name: null for one that never started, or is still running. */
export async function memberEnds(state: RunState): Promise<Record<string, { exitCode: number | null }>> {
  const ends: Record<string, { exitCode: number | null }> = {};
  for (const member of extraMembers(state.req.spec)) {
    const container = state.engine.container(memberContainerName(state.name, member.name));
    const info = await container.inspect().catch((err: unknown) => {
      if (status(err) === 404) return undefined;
      throw err;
    });
    // One the engine could not start stays created, with the exit code a shell would give.
    const ended = info && !info.State.Running && (info.State.Status !== 'created' || info.State.ExitCode !== 0);
    ends[member.name] = { exitCode: ended ? info.State.ExitCode : null };
  }
  return ends;
}
