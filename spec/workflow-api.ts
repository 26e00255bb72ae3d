// The contract between callers (client, CLI, GitHub Action) and the action workflow.
import { defineQuery } from '@temporalio/workflow';
import type { ActionSpecInput } from './action.js';
import type { EndReason, Phase, StepTiming } from './result.js';

export const WORKFLOW_TYPE = 'runAction';

export interface RunActionInput {
  spec: ActionSpecInput;
}

/** Settings of the fleet, chosen by whoever starts the action (the client fills defaults). */
export interface FleetOptions {
  /** Seconds a host may stay silent before the action is placed on another host. */
  hostTimeoutSeconds?: number;
  /** How many hosts an action may be placed on before it fails with reason no-host. */
  maxPlacements?: number;
  /** Seconds between SIGTERM and SIGKILL when a container is stopped. */
  stopGraceSeconds?: number;
}

export interface StatusView {
  actionId: string;
  phase: Phase;
  /** What the action waits for right now, in plain words, when it waits. */
  waitingFor?: string;
  host?: string;
  image: string;
  attempt: number;
  placements: number;
  exitCode?: number | null;
  reason?: EndReason;
  timings: StepTiming[];
}

/**
 * The queue where any worker writes result.json for a run that ended without its host writing it
 * (no host, cancelled while waiting): apart from the shared queue, whose activities a host takes
 * only when it has a free slot.
 */
export const resultsQueue = (taskQueue: string) => `${taskQueue}-results`;

/** What the fleet does when the starter leaves an option out. */
export const FLEET_DEFAULTS: Required<FleetOptions> = { hostTimeoutSeconds: 60, maxPlacements: 3, stopGraceSeconds: 10 };

/** Phase, host, attempt, exit code and step timings of the action, answered by the workflow. */
export const statusQuery = defineQuery<StatusView>('status');
/** The final log tail once the container has ended (the live tail rides on heartbeats). */
export const logsQuery = defineQuery<string[]>('logs');
