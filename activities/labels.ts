// How the product recognises its own containers on a host: by labels, never by guessing from names.
import type { RunRef } from './types.js';

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
} as const;

/**
 * Deterministic, so that creating the container twice collides instead of starting a second one.
 * The host is part of it: a run placed again elsewhere never mistakes the container of the host
 * it left for its own, even where two hosts share an engine.
 */
export function containerName(ref: RunRef, attempt: number, host: string): string {
  return `caisson-${ref.runId}-${attempt}-${host}`;
}

export function runFilter(ref: RunRef, attempt?: number): { label: string[] } {
  const label = [`${LABEL.runId}=${ref.runId}`];
  if (attempt) label.push(`${LABEL.attempt}=${attempt}`);
  return { label };
}
