// Values built once and kept for the process, whoever asks again.
//
// For the workflows this matters: the SDK's reusable V8 context evaluates the workflow bundle's
// modules again for each new workflow (its module cache is per workflow), and building zod and the
// spec's schemas was half of what a new workflow costs the worker (a DONE history replayed as a new
// workflow: 18-23 ms without, 10-13 ms with, on 2 cores). This module is preloaded (the bundle's
// preloadModules, worker/workflow-bundle-options.ts): one instance serves every workflow of the
// worker, so each schema is built once. (zod's modules are still evaluated for each workflow,
// about 3 ms; see workflow-bundle-options.ts for why they are not preloaded.) Schemas hold nothing of a
// workflow (pure functions and constants); parsing only reads them. The map is not exported, so
// the SDK's deep freeze of preloaded modules leaves it alone: zod sets some members of a schema
// lazily, which a frozen schema would refuse.
const built = new Map<string, unknown>();

/** `build()`'s value, built at the first call for this key and returned as it is after that. */
export function once<T>(key: string, build: () => T): T {
  if (built.has(key)) return built.get(key) as T;
  const value = build();
  built.set(key, value);
  return value;
}
