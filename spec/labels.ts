// Label and annotation maps: the one set of rules for names and values that host labels (placement)
// and an action's own labels share, and the bounds on an action's annotations (free text kept in
// the run's memo). Checked as own properties, so "__proto__" is an ordinary (refused) name.
import { z } from 'zod';

/** A label name or value ("zone", "a", "team", "vision"): as Kubernetes allows them, at most 63 characters. */
export const LABEL_PATTERN = /^[A-Za-z0-9]([A-Za-z0-9._/-]{0,61}[A-Za-z0-9])?$/;
const LABEL_RULE = '1-63 letters, digits, ".", "_", "/" or "-", starting and ending with a letter or digit';

/** A name that breaks the rules is reported with the rule, not zod's "Invalid key in record". */
const keyProblem = (issue: { code?: string; issues?: { message: string }[] }) =>
  issue.code === 'invalid_key' ? issue.issues?.[0]?.message : undefined;

/**
 * A map of labels, at most `max` of them. `listBytes` bounds the labels written as a JSON list of
 * "name=value" (how the ActionLabels search attribute holds them).
 */
export function labelMap(max: number, listBytes?: number) {
  return z
    .record(
      z.string().regex(LABEL_PATTERN, `a label name is ${LABEL_RULE}`),
      z.string().regex(LABEL_PATTERN, `a label value is ${LABEL_RULE}`),
      { error: keyProblem },
    )
    .refine((labels) => Object.keys(labels).length <= max, `at most ${max} labels`)
    .refine(
      (labels) => listBytes === undefined || utf8Bytes(JSON.stringify(labelPairs(labels))) <= listBytes,
      `the labels as "name=value" pairs take more than ${listBytes} bytes (the limit of one search attribute): use fewer or shorter labels`,
    );
}

/** "name=value" for each label, in name order: how they are searched (ActionLabels = 'team=vision'). */
export function labelPairs(labels: Record<string, string>): string[] {
  return Object.keys(labels)
    .sort()
    .map((name) => `${name}=${labels[name]}`);
}

/** The labels again from their "name=value" pairs (a name holds no "="). */
export function labelsFromPairs(pairs: readonly string[]): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq > 0) labels[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return labels;
}

/** Annotation names follow the label rules, longer (Kubernetes prefixes them with a domain). */
const ANNOTATION_NAME = /^[A-Za-z0-9]([A-Za-z0-9._/-]{0,251}[A-Za-z0-9])?$/;

const ANNOTATION_LIMITS = {
  count: 256,
  /** Names and values together, as Kubernetes bounds a pod's annotations: any pod's fit. */
  totalBytes: 256 << 10,
} as const;

const utf8Bytes = (text: string) => new TextEncoder().encode(text).length;

/** Free-text notes on an action (name → text), bounded in number and in bytes. */
export function annotationMap() {
  return z
    .record(
      z
        .string()
        .regex(
          ANNOTATION_NAME,
          'an annotation name is 1-253 letters, digits, ".", "_", "/" or "-", starting and ending with a letter or digit',
        ),
      z.string({ message: 'an annotation value is a string' }),
      { error: keyProblem },
    )
    .refine(
      (notes) => Object.keys(notes).length <= ANNOTATION_LIMITS.count,
      `at most ${ANNOTATION_LIMITS.count} annotations`,
    )
    .refine(
      (notes) =>
        Object.entries(notes).reduce((sum, [name, value]) => sum + utf8Bytes(name) + utf8Bytes(value), 0) <=
        ANNOTATION_LIMITS.totalBytes,
      `annotations hold more than ${ANNOTATION_LIMITS.totalBytes} bytes of names and values (256 KiB): put large data in an input`,
    );
}
