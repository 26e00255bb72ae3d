// A pod's pull and restart policies as the action's: imagePullPolicy as `pullPolicy`, and
// restartPolicy as `retry`. Kubernetes restarts without end; an action's attempts are bounded, so
// OnFailure and Always both retry a failed run a few times, and a run that succeeded is not rerun.
import type { ActionSpecInput } from '../spec/action.js';
import type { Container, PodRequest } from './requests.js';
import type { Report } from './pod-members.js';

const PULL_POLICIES = { Always: 'always', IfNotPresent: 'if-not-present', Never: 'never' } as const;
/** The attempts of a pod whose restartPolicy restarts a failed container. */
const RESTART_ATTEMPTS = 3;
const ANY_FAILURE = Array.from({ length: 255 }, (_, i) => i + 1);

/** The container's imagePullPolicy as the spec's pullPolicy (none when it sets none). */
export function pullPolicyOf(container: Container, report: Report): Pick<ActionSpecInput, 'pullPolicy'> {
  const policy = container.image_pull_policy;
  if (policy == null) return {};
  if (policy in PULL_POLICIES) return { pullPolicy: PULL_POLICIES[policy as keyof typeof PULL_POLICIES] };
  report(['image_pull_policy'], `imagePullPolicy is Always, IfNotPresent or Never, not "${policy}"`);
  return {};
}

/** The pod's restartPolicy as the spec's retry: Never (or none) is one attempt. */
export function retryOf(pod: PodRequest, report: Report): Pick<ActionSpecInput, 'retry'> {
  const policy = pod.spec.restart_policy;
  if (policy == null || policy === 'Never') return {};
  if (policy === 'OnFailure' || policy === 'Always')
    return { retry: { attempts: RESTART_ATTEMPTS, onExitCodes: ANY_FAILURE, onReasons: ['oom', 'engine-restarted'] } };
  report(['spec', 'restart_policy'], `restartPolicy is Never, OnFailure or Always, not "${policy}"`);
  return {};
}
