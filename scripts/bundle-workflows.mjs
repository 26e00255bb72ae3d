// Bundles the workflow code once at build time (build/workflow-bundle.js), so that a worker starts
// without running webpack (seconds and hundreds of MB at every start). The SDK's bundler also
// refuses Node built-ins reached from workflow code: a second guard after the lint rule.
import { bundleWorkflowCode } from '@temporalio/worker';
import { writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { preloadModulesFor } from '../build/worker/workflow-bundle-options.js';

const workflowsPath = fileURLToPath(new URL('../build/workflows/index.js', import.meta.url));
const out = fileURLToPath(new URL('../build/workflow-bundle.js', import.meta.url));
const { code } = await bundleWorkflowCode({ workflowsPath, preloadModules: preloadModulesFor(workflowsPath), logger: { trace() {}, debug() {}, info() {}, warn: console.warn, error: console.error, log() {} } });
await writeFile(out, code);
