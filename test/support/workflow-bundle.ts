// The real workflows bundled as the worker bundles them (with the modules it preloads), for the
// workflow tests: done once a run by test/workflow/global-setup.ts.
import { bundleWorkflowCode, type WorkflowBundle } from '@temporalio/worker';
import { fileURLToPath } from 'node:url';
import { preloadModulesFor } from '../../worker/workflow-bundle-options.js';

const WORKFLOWS = fileURLToPath(new URL('../../workflows/index.ts', import.meta.url));
const quiet = { trace() {}, debug() {}, info() {}, warn() {}, error() {}, log() {} };

export const bundleWorkflows = (): Promise<WorkflowBundle> =>
  bundleWorkflowCode({ workflowsPath: WORKFLOWS, preloadModules: preloadModulesFor(WORKFLOWS), logger: quiet });
