// Requests and answers of the activities. Workflows import these as types only.
import type { Action } from '../spec/action.js';
import type { ArrayMember } from '../spec/array.js';
import type { GangMember } from '../spec/gang.js';
import type { ActionResult, Collected, RunOutcome, StepTiming } from '../spec/result.js';

/** Identifies one run of an action; every container and object of the run carries it. */
export interface RunRef {
  actionId: string;
  /** Temporal's run id of the workflow execution. */
  runId: string;
}

/** What a host needs to decide whether the action runs there (runs started before resource placement send only the ref). */
export interface PlaceRequest extends RunRef {
  resources?: Action['resources'];
  placement?: Action['placement'];
  /** The spec's time limit: its ceiling is checked with the resources', before any fit. */
  timeout?: number;
  /** When the action began waiting for a host (ms since the epoch, the workflow's clock). */
  waitingSince?: number;
  /** How long a requirement no host up meets is waited for before the action ends no-host-fits. */
  waitForHostMs?: number;
  /**
   * One replica of a gang: held under its reservation's name (spec/gang.ts) instead of the run's,
   * with a port of the host's gang range; refused once `reserveUntil` (ms since the epoch) has
   * passed, and at once (NoHostFits) when the live fleet could never hold `replicas` of these.
   */
  gang?: { index: number; replicas: number; reserveUntil: number };
}

/** Gives back reservations a gang's run made (replicas placed in a round that did not place them all). */
export interface ReleaseRequest extends RunRef {
  /** Replica indexes whose reservations on this host go back. */
  indexes: number[];
}

export interface Placement {
  host: string;
  hostQueue: string;
  /** The GPU device ids the host gave the run (its own, never another running action's). */
  gpus?: string[];
  /** A gang replica: the host's address its peers reach, and the port it published for the replica. */
  address?: string;
  port?: number;
}

export interface ContainerRequest extends RunRef {
  attempt: number;
  spec: Action;
  stopGraceSeconds: number;
  /** GPU device ids the host gave the run at placement; the container gets exactly these. */
  gpuIds?: string[];
  /** A child of an array: its index and the array's size (ACTION_INDEX, ACTION_COUNT). */
  member?: ArrayMember;
  /** A replica of a gang: its rank, its gang and its peers (as its run was started with). */
  replica?: GangMember;
}

export interface ExecuteRequest extends ContainerRequest {
  /**
   * The spec's env, input, command and args were left out (a large spec): the host reads the whole
   * spec from the start of the run's history instead, so the history holds it once.
   */
  specElided?: true;
  /** The workflow was asked to cancel before this attempt began. */
  canceled: boolean;
  /** When the action started, and the steps before this attempt: both go into result.json. */
  startedAt: string;
  timings: StepTiming[];
}

/** Another attempt is due under the spec's retry policy, or the run is over and this is its result. */
export type ExecuteAnswer =
  { again: true; outcome: RunOutcome; digest?: string; timings: StepTiming[] } | { again: false; result: ActionResult };

export interface CollectRequest extends RunRef {
  attempt: number;
  spec: Action;
  /** Whether /out is uploaded (spec.collect against the outcome); logs always are. */
  includeOut: boolean;
}

/** What collecting produced: the result's own shape for it (spec/result.ts). */
export type CollectAnswer = Collected;

export interface FinalizeRequest {
  result: ActionResult;
  bucket?: string;
  prefix?: string;
}
