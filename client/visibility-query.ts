// Visibility queries as the client builds them for list(): each filter a clause, every value quoted
// as a string literal, so that no value, however it came in, can change the query around it.
import { InvalidSpecError, specProblems } from '../spec/action.js';
import { labelMap, labelPairs } from '../spec/labels.js';

/** A string literal of Temporal's visibility query language: backslashes and quotes escaped. */
export function quoteValue(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

/**
 * `ActionLabels = 'team=vision' AND ActionLabels = 'exp=42'`: actions carrying every one of the
 * labels. A name or value that breaks the label rules could match no action, so it is refused
 * (InvalidSpecError naming `labels.<name>`) rather than answered with an empty list. An empty map
 * gives an empty string: no clause.
 */
export function labelsQuery(labels: Record<string, string>): string {
  const checked = labelMap(Number.MAX_SAFE_INTEGER).safeParse(labels);
  if (!checked.success)
    throw new InvalidSpecError(
      specProblems(checked.error).map((p) => ({ ...p, path: p.path === '(spec)' ? 'labels' : `labels.${p.path}` })),
    );
  return labelPairs(checked.data)
    .map((pair) => `ActionLabels = ${quoteValue(pair)}`)
    .join(' AND ');
}
