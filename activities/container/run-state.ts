// The one record a run's phases hand on to each other (create → start → watch → outcome): what is
// known of the container and what each phase left for the next.
import type { ContainerRequest } from '../types.js';
import type { StagedInput, StepTiming } from '../../spec/result.js';
import type { LogShipper } from '../logs/log-shipper.js';
import { LineTail } from '../logs/log-stream.js';
import type { Redactor } from '../logs/redaction.js';
import type { ContainerEngine, EngineContainer } from './engine.js';
import type { RunDeps, RunHooks } from './run-deps.js';
import type { GangAttachment } from '../gang/gang-host.js';

/**
 * What is known of the container: from the engine when it existed, else from creating it.
 * `measured`: the worker bounds its own filesystem (neither read-only nor sized by the engine).
 */
export interface Known {
  id: string;
  status: string;
  running: boolean;
  startedMs: number;
  measured: boolean;
}

export interface RunState {
  readonly deps: RunDeps;
  readonly req: ContainerRequest;
  readonly hooks: RunHooks;
  readonly engine: ContainerEngine;
  /** The container's name, derived from the run and attempt: a retry finds the same one. */
  readonly name: string;
  /** Breaks of the engine's connection after this count are this run's concern (engine-watch.ts). */
  readonly epoch: number;
  readonly secrets: Record<string, string>;
  readonly redactor: Redactor;
  /** The last lines of the log, carried in heartbeats. */
  readonly tail: LineTail;
  /** By name until this try creates it, then by id. */
  container: EngineContainer;
  known?: Known;
  /** 1 once the container was found on the engine rather than made by this try. */
  reattached: 0 | 1;
  /** The container's own filesystem being mounted while the engine creates the container. */
  mounting?: Promise<unknown>;
  shipper?: LogShipper;
  /** The container was started (by this try or an earlier one): the engine may stop it from now on. */
  started: boolean;
  staged?: StagedInput[];
  inputsTiming?: StepTiming;
  /** A gang replica's place on its gang's network (network "gang"), opened by the create phase. */
  gang?: GangAttachment;
}

export function newRunState(
  fields: Pick<RunState, 'deps' | 'req' | 'hooks' | 'engine' | 'name' | 'epoch' | 'secrets' | 'redactor'>,
): RunState {
  const { redactor } = fields;
  return {
    ...fields,
    tail: new LineTail(20, 400, (line) => redactor.text(line), redactor.window),
    container: fields.engine.container(fields.name),
    reattached: 0,
    started: false,
  };
}

/** The known container, once the create phase has found or made it. */
export function knownOf(state: RunState): Known {
  if (!state.known) throw new Error(`container ${state.name} is not known yet`);
  return state.known;
}
