// Bundles the workflow code once at build time (build/workflow-bundle.js), so that a worker starts
// without running webpack (seconds and hundreds of MB at every start). The SDK's bundler also
// refuses Node built-ins reached from workflow code: a second guard after the lint rule.
import { bundleWorkflowCode } from '@temporalio/worker';
import { writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import {
  preloadModulesFor,
  tracingInterceptorsFor,
  WORKFLOW_BUNDLE_KINDS,
  workflowBundleFile,
} from '../build/worker/workflow-bundle-options.js';

const workflowsPath = fileURLToPath(new URL('../build/workflows/index.js', import.meta.url));
const failureConverterPath = fileURLToPath(
  new URL('../build/common/connection/failure-converter.cjs', import.meta.url),
);
const logger = { trace() {}, debug() {}, info() {}, warn: console.warn, error: console.error, log() {} };
// Four bundles. Workflow failures are converted inside the bundle, so encrypted workers
// (CAISSON_CODEC_KEYS) take one whose failure converter moves messages and stack traces into
// encrypted payloads (common/connection/failure-converter.cts). Traced workers (CAISSON_OTEL) take
// one with the OpenTelemetry workflow interceptors (workflows/tracing-interceptors.ts); the others
// hold nothing of OpenTelemetry.
for (const kind of WORKFLOW_BUNDLE_KINDS) {
  const { code } = await bundleWorkflowCode({
    workflowsPath,
    preloadModules: preloadModulesFor(workflowsPath),
    logger,
    ...(kind.encodedFailures ? { failureConverterPath } : {}),
    ...(kind.traced ? { workflowInterceptorModules: [tracingInterceptorsFor(workflowsPath)] } : {}),
  });
  await writeFile(fileURLToPath(new URL(`../build/${workflowBundleFile(kind)}`, import.meta.url)), code);
}
