// The start phase: a container that is only created gets its filesystem mounted, its inputs staged,
// its files written, and is started, its stdin then written. One that runs or ran already is left
// as it is. An engine that cannot run the command ends the run as a shell would (an exit code).
import { ApplicationFailure } from '@temporalio/activity';
import { readFile, writeFile } from 'node:fs/promises';
import type { RunOutcome, StagedInput } from '../../spec/result.js';
import { FailureType } from '../../spec/failures.js';
import { formatBytes } from '../../spec/quantity.js';
import type { ContainerRequest } from '../types.js';
import { inputUnavailable, stageInputs, type InputObject } from '../inputs/inputs.js';
import { writeFiles } from './container-files.js';
import { isCommandFailure, status, withEngineRetries } from './engine-errors.js';
import type { EngineContainer } from './engine.js';
import type { RunDeps } from './run-deps.js';
import { knownOf, type RunState } from './run-state.js';
import { PEERS_FILE, replicaEnv } from '../gang/replica-env.js';

/** Starts the container when it is only created; an outcome instead when it ended without running. */
export async function startPhase(state: RunState): Promise<RunOutcome | undefined> {
  const { deps, req, name } = state;
  // The log's lookup (it also checks the artifacts bucket) ran while the container was created: a
  // bucket that is missing fails here, before the container starts; the workflow removes what was made.
  const shipper = (state.shipper = await state.hooks.log);
  const known = knownOf(state);
  shipper?.bind(known.id, state.redactor);
  if (known.status === 'created') {
    // After a crash between creating and starting, the filesystem may still need its mount.
    await (state.mounting ?? deps.disks?.mount(name, deps.diskBytes(req.spec)));
    if (deps.stopRequested.has(req.runId)) {
      await shipper?.finish();
      return { exitCode: null, reason: 'canceled', logTail: [], containerId: known.id, reattached: state.reattached };
    }
    // Staged (again, after a crash before the start) onto the container's own filesystem.
    const staging = new Date();
    state.staged = await stageOnto(deps, name, state.hooks.inputs ?? [], deps.diskBytes(req.spec));
    if (state.staged)
      state.inputsTiming = { step: 'inputs', startedAt: staging.toISOString(), ms: Date.now() - staging.getTime() };
    await writeFiles(state.container, req.spec, state.secrets, deps.host, replicaFiles(state));
    // The deadline counts from here: at most the start's own time later than the engine's StartedAt.
    const startingMs = Date.now();
    const failedToStart = await startContainer(state.container, req, deps.host);
    if (failedToStart !== undefined) {
      await shipper?.finish();
      const error = (await state.container.inspect()).State.Error;
      return {
        exitCode: failedToStart,
        reason: 'exit',
        logTail: error ? [error] : [],
        containerId: known.id,
        reattached: state.reattached,
        inputs: state.staged,
      };
    }
    state.known = { ...known, status: 'running', running: true, startedMs: startingMs };
  }
  state.started = true;
  return undefined;
}

/**
 * A gang replica's peers file, as its environment describes it. A read-only filesystem takes no
 * file from the engine: there the replica has its environment only (container-config.ts).
 */
function replicaFiles({ deps, req, gang }: RunState): { path: string; content: string }[] {
  if (!req.replica || deps.readOnlyRootfs) return [];
  return [{ path: PEERS_FILE, content: replicaEnv(req.replica, deps.host, gang?.base).peersFile }];
}

/** Stages the inputs onto the container's filesystem, and records what they became for a re-attach. */
async function stageOnto(
  deps: RunDeps,
  name: string,
  inputs: InputObject[],
  diskBytes: number,
): Promise<StagedInput[] | undefined> {
  if (!inputs.length) return undefined;
  if (!deps.disks || !deps.inputCache) throw new Error(`host ${deps.host} has no container disks to stage inputs onto`);
  const paths = deps.disks.paths(name);
  const staged = await stageInputs(inputs, paths.in, deps.inputCache, deps.host).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== 'ENOSPC') throw err;
    throw inputUnavailable(
      `the inputs do not fit the action's disk of ${formatBytes(diskBytes)} (outDisk + tmpDisk, which inputs share): raise resources.tmpDisk`,
    );
  });
  await writeFile(paths.inputs, JSON.stringify(staged));
  return staged;
}

/** What an earlier try staged for this container, recorded beside its disk (none without disks). */
export async function stagedEarlier(deps: RunDeps, name: string): Promise<StagedInput[] | undefined> {
  if (!deps.disks) return undefined;
  return readFile(deps.disks.paths(name).inputs, 'utf8').then(
    (text) => JSON.parse(text) as StagedInput[],
    () => undefined,
  );
}

/**
 * Starts the container, then writes the input to its stdin. The input is written after the start
 * so that the container reads while it is written: input larger than a pipe's buffer cannot block
 * a start that waits for it. Returns an exit code when the engine could not start the command.
 */
async function startContainer(
  container: EngineContainer,
  req: ContainerRequest,
  host: string,
): Promise<number | undefined> {
  const stdin =
    req.spec.input !== undefined ? await container.attach({ stream: true, stdin: true, hijack: true }) : undefined;
  try {
    await withEngineRetries(() => container.start());
  } catch (err) {
    (stdin as unknown as { destroy?: () => void })?.destroy?.();
    if (status(err) === 304) return undefined; // already started
    const message = (err as Error).message;
    if (/could not select device driver|nvidia|gpu/i.test(message) && req.spec.resources.gpus) {
      throw ApplicationFailure.create({
        type: FailureType.GpuUnavailable,
        nonRetryable: true,
        message: `host ${host} cannot give GPUs to containers (${message.trim()}); run it where GPUs are set up, or drop resources.gpus`,
      });
    }
    if (status(err) === 400 || isCommandFailure(message)) return startFailureExitCode(message);
    throw err;
  }
  if (stdin) await writeInput(stdin, req.spec.input);
  return undefined;
}

async function writeInput(stream: NodeJS.ReadWriteStream, input: unknown): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    stream.on('error', (err: NodeJS.ErrnoException) => {
      // A container that exits without reading all of its input closes the pipe: not our failure.
      if (err.code === 'EPIPE' || err.code === 'ECONNRESET') resolve();
      else reject(err);
    });
    stream.write(JSON.stringify(input) + '\n', (err) => {
      if (err) return;
      // Half-closing the hijacked connection closes the container's stdin (StdinOnce).
      stream.end(() => resolve());
    });
  });
}

/** The exit code `docker run` reports when the engine cannot start the command. */
export function startFailureExitCode(message: string): number {
  if (/executable file not found|no such file or directory/i.test(message)) return 127;
  if (/permission denied/i.test(message)) return 126;
  return 125;
}
