// How the workflow bundle is made, the same for the worker's pre-built bundle and for the replay
// tests that check it: the modules it preloads.
import { dirname, extname, join } from 'node:path';

/**
 * Modules evaluated once per worker and shared by all its workflows, instead of once per workflow:
 * zod, and spec/shared.ts, which keeps the spec's schemas built (see there). `workflowsPath` is the
 * workflows' index, built (.js) or source (.ts): spec/ is its sibling either way.
 */
export function preloadModulesFor(workflowsPath: string): string[] {
  return ['zod', join(dirname(dirname(workflowsPath)), 'spec', `shared${extname(workflowsPath)}`)];
}
