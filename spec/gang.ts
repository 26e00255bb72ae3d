// Gangs: `replicas: N` with `gang: true` runs N copies of one spec as one action that is placed
// whole or not at all, told each replica its rank and its peers, and retried as one. The gang's
// workflow places every replica (a reservation on a host each), then starts one child action per
// replica ("<gang id>-replica-<rank>") that runs where its reservation is. These are the pieces
// both sides read: the workflow, which writes a replica's place into its child's start, and the
// host, which reads it back from that start and checks it before running anything.
import { z } from 'zod';
import type { ActionResult, ActionStatus, ReplicaEnd } from './result.js';
import { once } from './shared.js';

/** The most replicas one gang runs. */
export const MAX_REPLICAS = 64;

/** One replica as its peers reach it: the host it runs on, that host's address and the port it publishes. */
const GangPeerSchema = once('gang/GangPeerSchema', () =>
  z
    .object({
      rank: z.number().int().nonnegative().max(MAX_REPLICAS),
      host: z.string().min(1).max(253),
      address: z.string().min(1).max(64),
      port: z.number().int().min(1).max(65535),
    })
    .strict(),
);
export type GangPeer = z.infer<typeof GangPeerSchema>;

/** What a replica's child action is started with: its rank, the gang it belongs to, and every peer. */
export const GangMemberSchema = once('gang/GangMemberSchema', () =>
  z
    .object({
      /** The replica's rank (RANK), 0 to count - 1. */
      index: z
        .number()
        .int()
        .nonnegative()
        .max(MAX_REPLICAS - 1),
      /** The gang's size (WORLD_SIZE). */
      count: z.number().int().min(2).max(MAX_REPLICAS),
      /** The gang's action id and the run id of its workflow: its reservations are named after the run. */
      gangId: z.string().min(1).max(200),
      gangRunId: z.string().min(1).max(100),
      /** The gang's attempt (1 first): a failed gang runs again whole. */
      attempt: z.number().int().min(1).max(20),
      /** Every replica, by rank, as the gang's placements gave them. */
      peers: z.array(GangPeerSchema).max(MAX_REPLICAS),
      /** The queue of the host this replica was placed on, and the GPU ids that host gave it. */
      hostQueue: z.string().min(1).max(1000),
      gpus: z.array(z.string().min(1).max(200)).max(64).optional(),
    })
    .strict()
    .superRefine((m, ctx) => {
      if (m.index >= m.count) ctx.addIssue({ code: 'custom', path: ['index'], message: 'index is below count' });
      if (m.peers.length !== m.count || m.peers.some((p, i) => p.rank !== i)) {
        ctx.addIssue({ code: 'custom', path: ['peers'], message: 'peers lists every replica once, by rank' });
      }
    }),
);
export type GangMember = z.infer<typeof GangMemberSchema>;

/** The name of replica `index`'s reservation on the host it was placed on (the capacity's key until its child runs). */
export const gangReservation = (gangRunId: string, index: number): string => `gang:${gangRunId}:${index}`;

/** The child action of replica `index` in the gang's attempt `attempt`. */
export const replicaActionId = (gangId: string, index: number, attempt: number): string =>
  attempt === 1 ? `${gangId}-replica-${index}` : `${gangId}-replica-${index}-try-${attempt}`;

/** Artifacts and skipped entries a gang's result lists, over all replicas (as an action's result does). */
const LISTED_ARTIFACTS = 1000;
const LISTED_SKIPPED = 100;

/** A replica's end as the gang's workflow saw it: its result when it has one. */
export interface ReplicaOutcome {
  rank: number;
  actionId: string;
  host?: string;
  status: ActionStatus;
  result?: ActionResult;
  /** Why it ended, when it has no result (a failure before its host wrote one). */
  message?: string;
  /** It was stopped because another replica failed first (or the gang was cancelled). */
  stoppedByGang?: boolean;
}

export function replicaEnd(o: ReplicaOutcome): ReplicaEnd {
  return {
    rank: o.rank,
    actionId: o.actionId,
    ...(o.host ? { host: o.host } : {}),
    status: o.status,
    exitCode: o.result?.exitCode ?? null,
    reason: o.result?.reason ?? (o.status === 'CANCELED' ? 'canceled' : 'error'),
    message: o.result?.message ?? o.message ?? o.status,
    ...(o.result?.resultUri ? { resultUri: o.result.resultUri } : {}),
  };
}

/** The replica that made the gang fail: the first to fail on its own, not one the gang stopped. */
export function firstFailed(outcomes: ReplicaOutcome[]): ReplicaOutcome | undefined {
  return outcomes.find((o) => o.status === 'FAILED' && !o.stoppedByGang) ?? outcomes.find((o) => o.status === 'FAILED');
}

/** What a gang's result says of its replicas' ends, the rest (timings, ids) filled in by the caller. */
export function gangVerdict(
  outcomes: ReplicaOutcome[],
  canceled: boolean,
): Pick<ActionResult, 'status' | 'exitCode' | 'reason' | 'message'> {
  const n = outcomes.length;
  if (canceled) {
    return {
      status: 'CANCELED',
      exitCode: null,
      reason: 'canceled',
      message: `canceled; its ${n} replicas were stopped`,
    };
  }
  const failed = firstFailed(outcomes);
  if (!failed && outcomes.every((o) => o.status === 'DONE')) {
    return { status: 'DONE', exitCode: 0, reason: 'exit', message: `all ${n} replicas exited 0` };
  }
  const culprit = failed ?? outcomes.find((o) => o.status !== 'DONE')!;
  const end = replicaEnd(culprit);
  return {
    status: 'FAILED',
    exitCode: end.exitCode,
    reason: end.reason,
    message: `replica ${culprit.rank}${culprit.host ? ` (on ${culprit.host})` : ''}: ${end.message}; the other replicas were stopped`,
  };
}

/**
 * Each replica's /out under "replica-<rank>/" (so that a download puts them side by side), the
 * first LISTED_ARTIFACTS of them all; the totals count every file.
 */
export function gangArtifacts(
  outcomes: ReplicaOutcome[],
): Pick<ActionResult, 'artifacts' | 'artifactTotals' | 'skipped' | 'skippedTotal'> {
  const artifacts: ActionResult['artifacts'] = [];
  const skipped: ActionResult['skipped'] = [];
  let files = 0;
  let bytes = 0;
  let skippedTotal = 0;
  for (const o of outcomes) {
    const r = o.result;
    if (!r) continue;
    const folder = `replica-${o.rank}`;
    for (const a of r.artifacts) {
      if (artifacts.length < LISTED_ARTIFACTS) artifacts.push({ ...a, path: `${folder}/${a.path}` });
    }
    for (const s of r.skipped) {
      if (skipped.length < LISTED_SKIPPED) skipped.push({ ...s, path: `${folder}/${s.path}` });
    }
    files += r.artifactTotals.files;
    bytes += r.artifactTotals.bytes;
    skippedTotal += r.skippedTotal ?? r.skipped.length;
  }
  return { artifacts, artifactTotals: { files, bytes }, skipped, ...(skippedTotal ? { skippedTotal } : {}) };
}
