// How the workflow bundles are made, the same for the worker's pre-built bundles and for the replay
// tests that check them: the modules they preload, the tracing interceptors of the traced ones, and
// the file each kind is built into.
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

/** The workflow interceptors of the traced bundles (workflows/tracing-interceptors.ts), beside the workflows' index. */
export function tracingInterceptorsFor(workflowsPath: string): string {
  return join(dirname(workflowsPath), `tracing-interceptors${extname(workflowsPath)}`);
}

/** The ways a worker runs workflows: failures encoded (CAISSON_CODEC_KEYS) or not, traced (CAISSON_OTEL) or not. */
export interface WorkflowBundleKind {
  encodedFailures: boolean;
  traced: boolean;
}

/**
 * Every kind, one bundle each, for scripts/bundle-workflows.mjs (which imports the built module,
 * so that static analysis of the sources does not see this use).
 * @public
 */
export const WORKFLOW_BUNDLE_KINDS: readonly WorkflowBundleKind[] = [false, true].flatMap((encodedFailures) =>
  [false, true].map((traced) => ({ encodedFailures, traced })),
);

/** The pre-built bundle of one kind, a file name in build/. */
export function workflowBundleFile(kind: WorkflowBundleKind): string {
  return `workflow-bundle${kind.encodedFailures ? '-encoded' : ''}${kind.traced ? '-traced' : ''}.js`;
}
