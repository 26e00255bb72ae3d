// The workflow tests' Temporal: Java's time-skipping test server (scripts/test-server, fetched by
// scripts/install-deps), where a workflow's timers (a deadline, a retry's backoff) pass in an
// instant while no activity is under way (the server's time runs at its real pace while one is),
// with the product's search attributes registered as on a real server; and the real workflows,
// bundled once a run (test/workflow/global-setup.ts).
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { DefaultLogger, Runtime, type WorkflowBundle } from '@temporalio/worker';
import { temporal } from '@temporalio/proto';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, inject } from 'vitest';

const SERVER = fileURLToPath(new URL('../../scripts/test-server/temporal-test-server', import.meta.url));
const SERVER_LIB = fileURLToPath(new URL('../../.cache/test-server/lib', import.meta.url));

/** The product's search attributes (scripts/dev-env registers the same on the dev server). */
const SEARCH_ATTRIBUTES = {
  ActionStatus: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
  ActionImage: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
  ActionExitCode: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_INT,
  ActionHost: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
  ActionSource: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
  ActionTemplate: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
  ActionSchedule: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
  ActionLabels: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD_LIST,
};

/**
 * The SDK gives the server 5 s to answer, which a JVM may miss on a busy machine (test files run in
 * parallel in `npm run check`): a start that timed out is tried again, a little later each time.
 */
async function startServer(tries = 3): Promise<TestWorkflowEnvironment> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await TestWorkflowEnvironment.createTimeSkipping({
        server: { executable: { type: 'existing-path', path: SERVER } },
      });
    } catch (err) {
      if (attempt >= tries || !/did not start within/.test(String(err))) throw err;
      await new Promise((r) => setTimeout(r, attempt * 1000));
    }
  }
}

export interface WorkflowEnv {
  env: TestWorkflowEnvironment;
  bundle: WorkflowBundle;
}

/** A fresh time-skipping server and the run's bundle of the workflows; `env.teardown()` stops the server. */
export async function startWorkflowEnv(): Promise<WorkflowEnv> {
  if (!existsSync(SERVER_LIB)) throw new Error('the test server is not fetched: run scripts/test-server/fetch');
  // Workflow failures the tests provoke on purpose are logged by the SDK's core as warnings, and
  // the test server lacks capabilities the core warns about on every worker: errors only.
  Runtime.install({
    logger: new DefaultLogger('ERROR'),
    telemetryOptions: { logging: { filter: { core: 'ERROR', other: 'ERROR' } } },
  });
  const env = await startServer();
  const bundle = { code: inject('workflowCode') };
  await env.connection.operatorService.addSearchAttributes({
    namespace: env.namespace ?? 'default',
    searchAttributes: SEARCH_ATTRIBUTES,
  });
  return { env, bundle };
}

/** A server for the test file: started before its tests, stopped after them. */
export function workflowEnvForFile(): () => WorkflowEnv {
  let wf: WorkflowEnv | undefined;
  beforeAll(async () => {
    wf = await startWorkflowEnv();
  }, 60_000);
  afterAll(async () => {
    await wf?.env.teardown();
  });
  return () => {
    if (!wf) throw new Error('the workflow test server did not start');
    return wf;
  };
}
