// How the workflow bundle is made, the same for the worker's pre-built bundle and for the replay
// tests that check it: the modules it preloads.
import { dirname, extname, join } from 'node:path';

/**
 * Modules evaluated once per worker and shared by all its workflows, instead of once per workflow:
 * spec/shared.ts, which keeps the spec's schemas built (see there). zod itself is not listed: the
 * bundler drops a preload of a package that declares itself free of side effects (zod does), and
 * the SDK deep-freezes what is preloaded, while zod installs members on its classes' prototypes as
 * it works. `workflowsPath` is the workflows' index, built (.js) or source (.ts): spec/ is its
 * sibling either way.
 */
export function preloadModulesFor(workflowsPath: string): string[] {
  return [join(dirname(dirname(workflowsPath)), 'spec', `shared${extname(workflowsPath)}`)];
}
