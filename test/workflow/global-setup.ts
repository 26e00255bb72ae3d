// The workflows bundled once for the whole workflow project, handed to every test file: bundling
// takes seconds of CPU, and each file would otherwise do it again.
import type { TestProject } from 'vitest/node';
import { bundleWorkflows } from '../support/workflow-bundle.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** The bundle of workflows/index.ts, as the worker bundles it (its preloaded modules included). */
    workflowCode: string;
  }
}

export default async function setup(project: TestProject) {
  project.provide('workflowCode', (await bundleWorkflows()).code);
}
