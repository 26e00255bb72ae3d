// A pod's metadata labels and annotations as the labels and annotations of each of its actions.
// A label or annotation that breaks the spec's rules is refused by name (422), never dropped: the
// pod would otherwise run without what its owner searches it by.
import { ActionLabels, Annotations, specProblems, type ActionSpecInput } from '../spec/action.js';
import type { PodRequest } from './requests.js';

/**
 * Annotations under the prefixes of Kubernetes and interLink ("kubectl.kubernetes.io/…",
 * "interlink.eu/pod-ip") are written by that machinery about the pod, not by its owner about the
 * work: they are not copied (the last applied configuration alone can be a whole pod again).
 */
const MACHINERY_PREFIX = /^(?:[^/]+\.)?(?:kubernetes\.io|k8s\.io|interlink\.eu)\//;

type Report = (loc: (string | number)[], msg: string) => void;

/** The pod's labels and owner's annotations as spec fields, each only when there are any. */
export function podMetadata(pod: PodRequest, report: Report): Pick<ActionSpecInput, 'labels' | 'annotations'> {
  const labels = pod.metadata.labels ?? {};
  const annotations = Object.fromEntries(
    Object.entries(pod.metadata.annotations ?? {}).filter(([name]) => !MACHINERY_PREFIX.test(name)),
  );
  const fields: Pick<ActionSpecInput, 'labels' | 'annotations'> = {};
  for (const [field, map, schema] of [
    ['labels', labels, ActionLabels],
    ['annotations', annotations, Annotations],
  ] as const) {
    if (!Object.keys(map).length) continue;
    const checked = schema.safeParse(map);
    if (checked.success) fields[field] = checked.data;
    else for (const p of specProblems(checked.error)) report(['metadata', field, ...pathOf(p.path)], p.message);
  }
  return fields;
}

/** A problem's path as loc parts; "(spec)" (the whole map) adds none. A label name may hold "." so it stays whole. */
const pathOf = (path: string): string[] => (path === '(spec)' ? [] : [path]);
