// Requests and answers of the activities. Workflows import these as types only.
import type { Action } from '../spec/action.js';
import type { Artifact, ActionResult, RunOutcome } from '../spec/result.js';

/** Identifies one run of an action; every container and object of the run carries it. */
export interface RunRef {
  actionId: string;
  /** Temporal's run id of the workflow execution. */
  runId: string;
}

export interface Placement {
  host: string;
  hostQueue: string;
}

export interface PullRequest extends RunRef {
  image: string;
}

export interface PullAnswer {
  digest?: string;
}

export interface ContainerRequest extends RunRef {
  attempt: number;
  spec: Action;
  stopGraceSeconds: number;
}

export interface CollectRequest extends RunRef {
  attempt: number;
  spec: Action;
  /** Whether /out is uploaded (spec.collect against the outcome); logs always are. */
  includeOut: boolean;
}

export interface CollectAnswer {
  artifacts: Artifact[];
  skipped: { path: string; why: string }[];
  /** Every uploaded file counts here, also those past the listed ones. */
  totals: { files: number; bytes: number };
  logs: { stdout: string; stderr: string; bytes: number };
  /** stdout parsed as JSON when spec.output is "json". */
  output?: unknown;
  outputError?: string;
}

export interface FinalizeRequest {
  result: ActionResult;
  bucket?: string;
  prefix?: string;
}

export type { RunOutcome };
