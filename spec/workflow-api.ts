// The contract between callers (client, CLI, GitHub Action) and the action workflow.
import { defineQuery } from '@temporalio/workflow';
import { z } from 'zod';
import { ActionSpec, type Action } from './action.js';
import { ArrayMemberSchema } from './array.js';
import { GangMemberSchema } from './gang.js';
import type { EndReason, Phase, StepTiming } from './result.js';
import { once } from './shared.js';

export const WORKFLOW_TYPE = 'runAction';

/** The first argument of the action workflow. */
export const RunActionInputSchema = once('workflow-api/RunActionInputSchema', () =>
  z.object({
    spec: ActionSpec,
    member: ArrayMemberSchema.optional().describe(
      'Set for a child of an array: its place, told to the container as ACTION_INDEX and ACTION_COUNT.',
    ),
    replica: GangMemberSchema.optional().describe(
      "Set for a replica of a gang (started by the gang's workflow): its rank, the gang and its peers.",
    ),
  }),
);
export type RunActionInput = z.input<typeof RunActionInputSchema>;

/** The second argument: settings of the fleet, chosen by whoever starts the action (the client fills defaults). */
export const FleetOptionsSchema = once('workflow-api/FleetOptionsSchema', () =>
  z.object({
    hostTimeoutSeconds: z
      .number()
      .optional()
      .describe('Seconds a host may stay silent before the action is placed on another host (5-3600, default 60).'),
    maxPlacements: z
      .number()
      .optional()
      .describe('How many hosts an action may be placed on before it fails with reason no-host (1-10, default 3).'),
    stopGraceSeconds: z
      .number()
      .optional()
      .describe('Seconds between SIGTERM and SIGKILL when a container is stopped (0-300, default 10).'),
  }),
);
export type FleetOptions = z.infer<typeof FleetOptionsSchema>;

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
  /** A gang's replicas in its current attempt, by rank: each one's own action. */
  replicas?: { rank: number; actionId: string; host: string; phase: Phase }[];
}

/**
 * The queue where any worker writes result.json for a run that ended without its host writing it
 * (no host, cancelled while waiting): apart from the shared queue, whose activities a host takes
 * only when it has a free slot.
 */
export const resultsQueue = (taskQueue: string) => `${taskQueue}-results`;

/** What the fleet does when the starter leaves an option out. */
export const FLEET_DEFAULTS: Required<FleetOptions> = {
  hostTimeoutSeconds: 60,
  maxPlacements: 3,
  stopGraceSeconds: 10,
};

/** The range each fleet option is held to, whatever the starter passed (-1 must not disable a kill). */
const FLEET_BOUNDS: Record<keyof FleetOptions, { min: number; max: number }> = {
  hostTimeoutSeconds: { min: 5, max: 3600 },
  maxPlacements: { min: 1, max: 10 },
  stopGraceSeconds: { min: 0, max: 300 },
};

/** The starter's options within their bounds; a value that is not a finite number takes the default. */
export function fleetSettings(options: FleetOptions | undefined): Required<FleetOptions> {
  const settled = { ...FLEET_DEFAULTS };
  for (const key of Object.keys(FLEET_BOUNDS) as (keyof FleetOptions)[]) {
    const value = options && Object.hasOwn(options, key) ? options[key] : undefined;
    if (typeof value !== 'number' || !Number.isFinite(value)) continue;
    const { min, max } = FLEET_BOUNDS[key];
    settled[key] = Math.min(max, Math.max(min, Math.round(value)));
  }
  return settled;
}

/** The stop grace a host uses: clamped again there, since a request may come from anywhere. */
export const boundedStopGrace = (seconds: number): number =>
  fleetSettings({ stopGraceSeconds: seconds }).stopGraceSeconds;

/** Phase, host, attempt, exit code and step timings of the action, answered by the workflow. */
export const statusQuery = defineQuery<StatusView>('status');
/** The final log tail once the container has ended (the live tail rides on heartbeats). */
export const logsQuery = defineQuery<string[]>('logs');

/**
 * A spec up to this size (as JSON) rides along in every host activity call; a larger one leaves its
 * bulk (env, input, command, args) out, and the host reads it from the run's history: 20 attempts
 * of a 1 MiB spec then cost 1 MiB of history, not 21.
 */
export const INLINE_SPEC_BYTES = 64 << 10;

/** The spec as a host activity request carries it when it is large (ExecuteRequest.specElided). */
export function withoutBulk(spec: Action): Action {
  return { ...spec, env: {}, input: undefined, command: undefined, args: undefined };
}
