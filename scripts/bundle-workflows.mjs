// Bundles the workflow code once at build time (build/workflow-bundle.js), so that a worker starts
// without running webpack (seconds and hundreds of MB at every start). The SDK's bundler also
// refuses Node built-ins reached from workflow code: a second guard after the lint rule.
import { bundleWorkflowCode } from '@temporalio/worker';
import { writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { preloadModulesFor } from '../build/worker/workflow-bundle-options.js';

const workflowsPath = fileURLToPath(new URL('../build/workflows/index.js', import.meta.url));
const failureConverterPath = fileURLToPath(
  new URL('../build/common/connection/failure-converter.cjs', import.meta.url),
);
const logger = { trace() {}, debug() {}, info() {}, warn: console.warn, error: console.error, log() {} };
// Two bundles: workflow failures are converted inside the bundle, so encrypted workers (CAISSON_CODEC_KEYS)
// take the one whose failure converter moves messages and stack traces into encrypted payloads
// (common/connection/failure-converter.cts); the other keeps them as they are.
for (const [file, options] of [
  ['workflow-bundle.js', {}],
  ['workflow-bundle-encoded.js', { failureConverterPath }],
]) {
  const { code } = await bundleWorkflowCode({
    workflowsPath,
    preloadModules: preloadModulesFor(workflowsPath),
    logger,
    ...options,
  });
  await writeFile(fileURLToPath(new URL(`../build/${file}`, import.meta.url)), code);
}
