// Spec fields written as text on a command line or in a GitHub Action input, turned into the values
// the spec schema checks. Shared by the CLI and the Action so both read the same text the same way.

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

/** "all", a count ("2"), or device ids ("0,1" or "GPU-uuid"). */
export function parseGpus(text: string): number | 'all' | string[] {
  const trimmed = text.trim();
  if (trimmed === 'all') return 'all';
  if (/^\d+$/.test(trimmed)) return Number(trimmed);
  return trimmed.split(',').map((id) => id.trim()).filter(Boolean);
}

const MERGED = ['env', 'resources', 'placement', 'artifacts'];

/** Fields given on a command line or as Action inputs over a spec file's: `over` on top of `base`: a field of `over` replaces base's; the maps named in MERGED merge one level deep. */
export function mergeSpecs(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const merged = { ...base };
  for (const [key, value] of Object.entries(over)) {
    const below = merged[key];
    merged[key] =
      MERGED.includes(key) && below && typeof below === 'object' && value && typeof value === 'object' ? { ...(below as object), ...(value as object) } : value;
  }
  return merged;
}
