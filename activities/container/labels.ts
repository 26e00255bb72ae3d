// How the product recognises its own containers on a host: by labels, never by guessing from names.
import type { RunRef } from '../types.js';

export const LABEL = {
  actionId: 'caisson.action-id',
  runId: 'caisson.run-id',
  attempt: 'caisson.attempt',
  host: 'caisson.host',
  /** The container's time limit and stop grace: any worker of the host can enforce its deadline. */
  timeoutMs: 'caisson.timeout-ms',
  stopGrace: 'caisson.stop-grace',
  /** What the run holds on its host (JSON: cpu, memory, disk, GPU ids): a restarted worker counts it again. */
  held: 'caisson.held',
  /** The Temporal namespace and host queue of the worker that made the container (see Owner). */
  namespace: 'caisson.namespace',
  queue: 'caisson.queue',
  /** The port of an egress container's proxy: a re-attaching worker starts it there again. */
  egressPort: 'caisson.egress-port',
  /** A pod's container other than its main one (spec.containers): its name there. It holds nothing of its own. */
  container: 'caisson.container',
} as const;

/**
 * The workers a container belongs to: one host of one fleet (its queue) in one namespace. Workers
 * of several namespaces may share an engine, even under one host name: each counts, reconciles and
 * removes only the containers of its own.
 */
export interface Owner {
  host: string;
  namespace: string;
  /** The host's own task queue ("<queue>@<host>"). */
  queue: string;
}

export function ownerLabels(owner: Owner): Record<string, string> {
  return { [LABEL.host]: owner.host, [LABEL.namespace]: owner.namespace, [LABEL.queue]: owner.queue };
}

/** Whether the container is the owner's: its host, and its namespace and queue (a container made before these labels has neither, and counts as the host's). */
export function ownedBy(labels: Record<string, string>, owner: Owner): boolean {
  return (
    labels[LABEL.host] === owner.host &&
    (labels[LABEL.namespace] ?? owner.namespace) === owner.namespace &&
    (labels[LABEL.queue] ?? owner.queue) === owner.queue
  );
}

/**
 * Deterministic, so that creating the container twice collides instead of starting a second one.
 * The host is part of it: a run placed again elsewhere never mistakes the container of the host
 * it left for its own, even where two hosts share an engine.
 */
export function containerName(ref: RunRef, attempt: number, host: string): string {
  return `caisson-${ref.runId}-${attempt}-${host}`;
}

/** A pod's other container: named after the run's main one, so a retry finds each of them too. */
export function memberContainerName(mainName: string, member: string): string {
  return `${mainName}-${member}`;
}

export function runFilter(ref: RunRef, attempt?: number): { label: string[] } {
  const label = [`${LABEL.runId}=${ref.runId}`];
  if (attempt) label.push(`${LABEL.attempt}=${attempt}`);
  return { label };
}
