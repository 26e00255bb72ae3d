// Gangs: `replicas: N` with `gang: true` runs N copies of one spec as one action that is placed
// whole or not at all, told each replica its rank and its peers, and retried as one. The gang's
// workflow places every replica (a reservation on a host each), then starts one child action per
// replica ("<gang id>-replica-<rank>") that runs where its reservation is. These are the pieces
// both sides read: the workflow, which writes a replica's place into its child's start, and the
// host, which reads it back from that start and checks it before running anything.
import { z } from 'zod';
import { once } from './shared.js';

/** The most replicas one gang runs. */
export const MAX_REPLICAS = 64;

/** One replica as its peers reach it: the host it runs on, that host's address and the port it publishes. */
export const GangPeerSchema = once('gang/GangPeerSchema', () =>
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
      index: z.number().int().nonnegative().max(MAX_REPLICAS - 1),
      /** The gang's size (WORLD_SIZE). */
      count: z.number().int().min(2).max(MAX_REPLICAS),
      /** The gang's action id and the run id of its workflow: its reservations are named after the run. */
      gangId: z.string().min(1).max(200),
      gangRunId: z.string().min(1).max(100),
      /** The gang's attempt (1 first): a failed gang runs again whole. */
      attempt: z.number().int().min(1).max(20),
      /** Every replica, by rank: empty when the spec's network is "none". */
      peers: z.array(GangPeerSchema).max(MAX_REPLICAS),
    })
    .strict()
    .superRefine((m, ctx) => {
      if (m.index >= m.count) ctx.addIssue({ code: 'custom', path: ['index'], message: 'index is below count' });
      if (m.peers.length && (m.peers.length !== m.count || m.peers.some((p, i) => p.rank !== i))) {
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
