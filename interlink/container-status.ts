// An action's state told as a Kubernetes container status. Each field is written twice where the
// two spellings differ: snake_case for interLink's published spec (exit_code, started_at), and
// Kubernetes' camelCase for its Go API server, which decodes v1.ContainerStatus (exitCode).
import type { Phase } from '../spec/result.js';

/** What the plugin knows of one container's action. */
export interface ActionState {
  /** False when no action has this id: the pod was never created here. */
  found: boolean;
  phase?: Phase;
  image?: string;
  attempts?: number;
  /** When the container of the current (or last) attempt started, RFC 3339. */
  startedAt?: string;
  finishedAt?: string;
  exitCode?: number | null;
  /** The action's end reason (exit, oom, timeout, deadline, canceled, …) and its plain words. */
  reason?: string;
  message?: string;
  /** A pod's: each container's exit code by its name in the action (null: it never ended). */
  containers?: Record<string, { exitCode: number | null }>;
}

/**
 * One container of a pod's action as a state of its own: while the action runs, all run; once it
 * ended, each has its own exit code, or, never having ended, the action's reason.
 */
export function memberState(state: ActionState, member: string): ActionState {
  if (!state.containers) return state;
  const end = state.containers[member];
  if (typeof end?.exitCode === 'number') return { ...state, exitCode: end.exitCode, reason: 'exit' };
  return { ...state, exitCode: null };
}

/** Kubernetes' reasons where one means the same; Caisson's own otherwise. */
function terminatedReason(state: ActionState): string {
  if (state.phase === 'CANCELED') return 'Canceled';
  switch (state.reason) {
    case 'exit':
      return state.exitCode === 0 ? 'Completed' : 'Error';
    case 'oom':
      return 'OOMKilled';
    case 'timeout':
    case 'deadline':
      return 'DeadlineExceeded';
    default:
      return state.reason ?? 'Error';
  }
}

/**
 * Kubernetes needs an exit code for every terminated container: the container's own when it ran;
 * 137 for one cancelled before it ran (as if killed) and 128 for one that could not run.
 */
function exitCodeOf(state: ActionState): number {
  if (typeof state.exitCode === 'number') return state.exitCode;
  return state.phase === 'CANCELED' ? 137 : 128;
}

const withTimes = (startedAt: string | undefined, finishedAt?: string) => ({
  ...(startedAt ? { started_at: startedAt, startedAt } : {}),
  ...(finishedAt ? { finished_at: finishedAt, finishedAt } : {}),
});

function stateOf(state: ActionState): Record<string, unknown> {
  if (!state.found) {
    return {
      waiting: {
        reason: 'NotFound',
        message: 'no action for this container: the pod was not created through this plugin',
      },
    };
  }
  switch (state.phase) {
    case 'PENDING':
      return { waiting: { reason: 'Pending', message: 'waiting for a host with free capacity' } };
    case 'PULLING':
      return { waiting: { reason: 'ContainerCreating', message: 'pulling the image' } };
    case 'RUNNING':
    case 'COLLECTING':
      return { running: withTimes(state.startedAt) };
    default: {
      const exitCode = exitCodeOf(state);
      return {
        terminated: {
          exit_code: exitCode,
          exitCode,
          reason: terminatedReason(state),
          ...(state.message ? { message: state.message } : {}),
          ...withTimes(state.startedAt, state.finishedAt),
        },
      };
    }
  }
}

export function containerStatus(name: string, state: ActionState): Record<string, unknown> {
  const status = stateOf(state);
  return {
    name,
    state: status,
    ready: 'running' in status,
    restartCount: Math.max(0, (state.attempts ?? 1) - 1),
    ...(state.image ? { image: state.image } : {}),
  };
}

/** A pod's status in both spellings: interLink's spec (uid) and its Go server's struct (UID, JID). */
export function podStatus(
  pod: { name: string; namespace: string; uid: string; jobId: string },
  containers: Record<string, unknown>[],
  initContainers: Record<string, unknown>[] = [],
) {
  return {
    name: pod.name,
    namespace: pod.namespace,
    uid: pod.uid,
    UID: pod.uid,
    JID: pod.jobId,
    containers,
    initContainers,
  };
}
