// The containers of a pod of several as the spec's `containers` map: the first of spec.containers
// is the action's top-level container ("main"); every other one is a main container too (Kubernetes
// waits for all of a pod's containers), and the init containers run first, in their order. What a
// member cannot carry (its own files, user or GPUs: the host gives those to the top-level one
// alone) is refused by name, never dropped.
import type { ActionSpecInput } from '../spec/action.js';
import { MAIN_CONTAINER } from '../spec/containers.js';
import type { PodRequest } from './requests.js';

/**
 * The annotation that names, in a pod's action, the Kubernetes name of its first container (its
 * "main"), so that a log request by container name finds it with nothing kept in the plugin.
 */
export const FIRST_CONTAINER_ANNOTATION = 'interlink-plugin/first-container';

export type Report = (loc: (string | number)[], msg: string) => void;
type Members = NonNullable<ActionSpecInput['containers']>;

/** The spec's rule for a member's name, said here so that the problem names the pod's field. */
const MEMBER_NAME = /^[a-z0-9]([a-z0-9-]{0,30}[a-z0-9])?$/;

/** A pod of one container and no init container: that container's action, as it always was. */
export const isSingle = (pod: PodRequest): boolean =>
  pod.spec.containers.length === 1 && !pod.spec.init_containers?.length;

/** The name a pod's container has in its action: "main" for the first of a pod of several. */
export function memberName(pod: PodRequest, container: string): string {
  return !isSingle(pod) && pod.spec.containers[0]?.name === container ? MAIN_CONTAINER : container;
}

/** Where a container of the pod is, as the loc of a problem (first the containers, then the init ones). */
export function containerLoc(pod: PodRequest, index: number): (string | number)[] {
  const mains = pod.spec.containers.length;
  return index < mains ? ['spec', 'containers', index] : ['spec', 'init_containers', index - mains];
}

/**
 * The `containers` map of the pod's action from each container's own spec (`specs`, in the order
 * of containerLoc), checked against the top-level one (`main`).
 */
export function podMembers(pod: PodRequest, main: ActionSpecInput, specs: ActionSpecInput[], report: Report): Members {
  const members: Members = {};
  specs.forEach((spec, index) => {
    if (index === 0) return;
    const at = containerLoc(pod, index);
    const name = (index < pod.spec.containers.length ? pod.spec.containers : (pod.spec.init_containers ?? []))[
      at[2] as number
    ]!.name;
    if (!MEMBER_NAME.test(name) || name === MAIN_CONTAINER)
      report(
        [...at, 'name'],
        `in a pod of several containers each but the first is named by 1-32 lowercase letters, digits or "-" (not "${MAIN_CONTAINER}")`,
      );
    if (spec.files?.length)
      report(
        [...at, 'volume_mounts'],
        'configMap and secret volumes are mounted into the first container of a pod only',
      );
    if (spec.secrets?.length) report([...at, 'env'], 'secrets are given to the first container of a pod only');
    if (spec.user !== main.user)
      report([...at, 'security_context', 'run_as_user'], "every container of a pod runs as the first one's user");
    if (spec.pullPolicy !== main.pullPolicy)
      report([...at, 'image_pull_policy'], "every container of a pod is pulled under the first one's imagePullPolicy");
    if (spec.resources?.gpus) report([...at, 'resources'], 'GPUs are given to the first container of a pod only');
    const { cpu, memory } = spec.resources ?? {};
    members[name] = {
      image: spec.image,
      ...(spec.command ? { command: spec.command } : {}),
      ...(spec.args ? { args: spec.args } : {}),
      ...(spec.env ? { env: spec.env } : {}),
      ...(spec.workingDir ? { workingDir: spec.workingDir } : {}),
      resources: { ...(cpu !== undefined ? { cpu } : {}), ...(memory !== undefined ? { memory } : {}) },
      role: index < pod.spec.containers.length ? 'main' : 'init',
    };
  });
  return members;
}
