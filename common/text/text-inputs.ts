// Spec fields written as text on a command line or in a GitHub Action input, turned into the values
// the spec schema checks. Shared by the CLI and the Action so both read the same text the same way.
import { parseData } from './data-file.js';

/** "KEY=VALUE" pairs; throws naming the first pair without "=" or with an empty key. */
export function parseEnvPairs(pairs: readonly string[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new Error(`${JSON.stringify(pair)}: write KEY=VALUE`);
    env[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return env;
}

/** Labels as "team=vision,exp=42" or one "name=value" per line (a label value holds no "," or space). */
export function parseLabelList(text: string): Record<string, string> {
  return parseEnvPairs(text.split(/[\s,]+/).filter(Boolean));
}

/**
 * Annotations as one "name=value" per line, or a YAML or JSON map (`note: "text, with anything"`):
 * a first line that starts "name=" is the first form (no name holds "=" or ":"). A value of the map
 * that is a number or boolean is taken as its text.
 */
export function parseAnnotationText(text: string, name: string): Record<string, string> {
  const lines = text
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean);
  if (/^[^:={}[\]"']+=/.test(lines[0] ?? '')) return parseEnvPairs(lines);
  const data = parseData(text, name);
  if (!data || typeof data !== 'object' || Array.isArray(data))
    throw new Error('annotations are a YAML or JSON map, or one name=value per line');
  const notes: Record<string, string> = {};
  for (const [key, value] of Object.entries(data)) {
    if (typeof value === 'object' && value !== null)
      throw new Error(`${key}: an annotation is text, not a map or list`);
    notes[key] = String(value ?? '');
  }
  return notes;
}

/** "all", a count ("2"), or device ids ("0,1" or "GPU-uuid"). */
export function parseGpus(text: string): number | 'all' | string[] {
  const trimmed = text.trim();
  if (trimmed === 'all') return 'all';
  if (/^\d+$/.test(trimmed)) return Number(trimmed);
  return trimmed
    .split(',')
    .map((id) => id.trim())
    .filter(Boolean);
}

const MERGED = ['env', 'resources', 'placement', 'artifacts', 'labels', 'annotations'];

/** Fields given on a command line or as Action inputs over a spec file's: `over` on top of `base`: a field of `over` replaces base's; the maps named in MERGED merge one level deep. */
export function mergeSpecs(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const merged = { ...base };
  for (const [key, value] of Object.entries(over)) {
    const below = merged[key];
    merged[key] =
      MERGED.includes(key) && below && typeof below === 'object' && value && typeof value === 'object'
        ? { ...(below as object), ...(value as object) }
        : value;
  }
  return merged;
}

/**
 * Inputs written as "FROM=TO": FROM is "s3://bucket/key" (a prefix when it ends in "/") or
 * "action:ID/PATH" (what an earlier action stored: "action:build-7/out/model.bin"); TO is the path
 * under /in. Split at the last "=", since an S3 key may hold one.
 */
export function parseInputPairs(
  pairs: readonly string[],
): { from?: string; fromAction?: string; path?: string; to: string }[] {
  return pairs.map((pair) => {
    const eq = pair.lastIndexOf('=');
    if (eq <= 0) throw new Error(`${JSON.stringify(pair)}: write s3://bucket/key=/in/PATH or action:ID/PATH=/in/PATH`);
    const from = pair.slice(0, eq);
    const to = pair.slice(eq + 1);
    const action = /^action:([^/]+)\/(.+)$/.exec(from);
    return action ? { fromAction: action[1]!, path: action[2]!, to } : { from, to };
  });
}
