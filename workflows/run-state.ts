// The one record of an action run as the workflow goes: what it was started with (RunContext, fixed
// once its spec is checked) and what it has come to (RunState, changed by each phase). The status
// query reads the state, so it answers what the workflow last decided.
import type { Placement } from '../activities/types.js';
import type { Action } from '../spec/action.js';
import type { ActionResult, Ending, Phase, RunOutcome, StepTiming } from '../spec/result.js';
import type { ReplicaOutcome } from '../spec/gang.js';
import type { FleetOptions, RunActionInput, StatusView } from '../spec/workflow-api.js';
import type { HostSteps } from './activity-proxies.js';

export interface RunContext {
  readonly actionId: string;
  readonly runId: string;
  readonly input: RunActionInput;
  readonly fleet: Required<FleetOptions>;
  readonly startedAt: Date;
  readonly spec: Action;
  /** The spec as host requests carry it: without its bulk when elided (the host reads it from history). */
  readonly carried: Action;
  readonly elided: boolean;
}

export interface RunState {
  /** PENDING, RUNNING, then the result's status (the rules: spec/result.ts). */
  phase: Phase;
  /** What the run waits for while PENDING, in plain words. */
  waitingFor?: string;
  /** How many times it was placed, the latest placement and the steps on its host. */
  placements: number;
  placement?: Placement;
  host?: HostSteps;
  /** The attempt on the current host (each host starts again at 1). */
  attempt: number;
  /** The latest attempt that called for another: how it ended, and the image it ran. */
  outcome?: RunOutcome;
  digest?: string;
  /** The result the host wrote once an attempt was the last. */
  hostResult?: ActionResult;
  /** Why the run ended without its host's result, when it did. */
  ended?: Ending;
  /** A cancel reached the run; cleared again when it was the deadline's, not a caller's. */
  canceled: boolean;
  deadlinePassed: boolean;
  timings: StepTiming[];
  logTail: string[];
  /** What the run ended with. */
  result?: ActionResult;
  /** A gang (spec.replicas): its attempt and its replicas' actions and ends (workflows/gang.ts). */
  gang?: GangState;
}

export interface GangState {
  /** The gang's attempt (each runs every replica again, placed anew). */
  attempt: number;
  /** The replicas of the current attempt, by rank, once all are placed. */
  replicas: { rank: number; actionId: string; host: string; phase: Phase }[];
  /** How the current attempt's replicas ended, by rank. */
  ends: ReplicaOutcome[];
}

export function newRunState(): RunState {
  return {
    phase: 'PENDING',
    placements: 0,
    attempt: 0,
    canceled: false,
    deadlinePassed: false,
    timings: [],
    logTail: [],
  };
}

/** What the status query answers: the state as a caller sees it. */
export function statusView(actionId: string, image: string, state: RunState): StatusView {
  return {
    actionId,
    phase: state.phase,
    image,
    attempt: state.attempt,
    placements: state.placements,
    timings: state.result?.timings ?? state.timings,
    waitingFor: state.phase === 'PENDING' ? state.waitingFor : undefined,
    host: state.placement?.host,
    exitCode: state.result?.exitCode,
    reason: state.result?.reason,
    ...(state.gang ? { replicas: state.gang.replicas.map((r) => ({ ...r })) } : {}),
  };
}
