// Recorded histories of representative runs (test/replay/histories, kept by the integration tests
// with `npm run record-histories`) replay against the current workflow code. A change that would
// make a running action take a different path on replay fails here, before it reaches a fleet:
// such a change needs patched() or a new workflow type.
import { bundleWorkflowCode, DefaultLogger, Runtime, Worker } from '@temporalio/worker';
import { preloadModulesFor, tracingInterceptorsFor } from '../../worker/workflow-bundle-options.js';
import { DeterminismViolationError } from '@temporalio/workflow';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { makeWorkflowExporter } from '@temporalio/interceptors-opentelemetry/lib/worker/index.js';
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { Resource } from '@opentelemetry/resources';

const HISTORIES = fileURLToPath(new URL('../replay/histories', import.meta.url));
const OUTCOMES = [
  'canceled',
  'done',
  'failed',
  'host-lost',
  'retry-on-exit-code',
  'timeout',
  // Refused by the host's policy; its deadline passing while it runs and while it waits for a host;
  // out of placements; a spec read from history; an engine crash (ended, and retried); a run
  // started by a schedule; an array past maxFailures; a sweep that picked its best child.
  'refused',
  'deadline',
  'deadline-while-pending',
  'no-host',
  'large-spec',
  'engine-restarted',
  'engine-restarted-retried',
  'schedule-run',
  'array-max-failures',
  'array-sweep',
  // A cancel while waiting for a host, while pulling and while collecting (while running: canceled),
  // and an array's run that continued as new.
  'canceled-while-pending',
  'canceled-while-pulling',
  'canceled-while-collecting',
  'array-continued-as-new',
  // A gang placed whole across two hosts, and one run again whole after a replica was killed.
  'gang-done',
  'gang-retried',
];
// Runs of today's shape. (Runs of the per-step shape, before the "one-host-activity" marker, are
// no longer served: docs/development.md.)
const REPRESENTATIVE = OUTCOMES;
const quiet = { trace() {}, debug() {}, info() {}, warn() {}, error() {}, log() {} };

const history = (name: string): unknown => JSON.parse(readFileSync(`${HISTORIES}/${name}.json`, 'utf8'));

/**
 * The workflow id a history ran under, where the workflow's commands depend on it (an array names
 * its children after itself): read from its first child's id; other histories replay under any id.
 */
function workflowIdOf(name: string): string | undefined {
  const events = (
    history(name) as { events: { startChildWorkflowExecutionInitiatedEventAttributes?: { workflowId?: string } }[] }
  ).events;
  const child = events.find((e) => e.startChildWorkflowExecutionInitiatedEventAttributes)
    ?.startChildWorkflowExecutionInitiatedEventAttributes?.workflowId;
  // An array's children are "<id>-<index>", a gang's "<id>-replica-<rank>[-try-<n>]".
  const gang = /-replica-\d+(-try-\d+)?$/;
  return child && (gang.test(child) ? child.replace(gang, '') : child.replace(/-\d+$/, ''));
}

let workflowBundle: { code: string };
beforeAll(async () => {
  // The expected nondeterminism below is logged by the SDK's core as a warning: errors only.
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  // Bundled as the worker's is: with the modules it preloads (a module kept across workflows must
  // not change what a replay decides).
  const workflowsPath = fileURLToPath(new URL('../../workflows/index.ts', import.meta.url));
  workflowBundle = await bundleWorkflowCode({
    workflowsPath,
    preloadModules: preloadModulesFor(workflowsPath),
    logger: quiet,
  });
}, 60_000);

describe('workflow replay', () => {
  it('has a recorded history of each representative run', () => {
    const names = readdirSync(HISTORIES)
      .filter((f) => f.endsWith('.json'))
      .map((f) => f.replace(/\.json$/, ''));
    expect(names.sort()).toEqual(expect.arrayContaining(REPRESENTATIVE));
  });

  it.each(REPRESENTATIVE)(
    'replays the %s history with the current workflow code',
    async (name) => {
      await expect(
        Worker.runReplayHistory({ workflowBundle, replayName: name }, history(name), workflowIdOf(name)),
      ).resolves.toBeUndefined();
    },
    60_000,
  );

  it('replays every history, one after another in one worker, sharing the preloaded schemas', async () => {
    // One replay worker runs them all in one reusable context: the second and later workflows use
    // the spec's schemas the first one built (spec/shared.ts), invalid specs and failures included.
    const all = [...REPRESENTATIVE, ...REPRESENTATIVE].map((name, i) => ({
      workflowId: workflowIdOf(name) ?? `${name}-${i}`,
      history: history(name),
    }));
    const errors: string[] = [];
    let replayed = 0;
    for await (const result of Worker.runReplayHistories({ workflowBundle, replayName: 'all' }, all)) {
      replayed++;
      if (result.error) errors.push(`${result.workflowId}: ${String(result.error)}`);
    }
    expect(errors).toEqual([]);
    expect(replayed).toBe(all.length);
  }, 120_000);

  it('replays every history with the tracing interceptors, as a worker with CAISSON_OTEL set runs them', async () => {
    // Tracing turned on over open runs: their histories, recorded untraced, replay to the same
    // decisions in the traced bundle (scripts/bundle-workflows.mjs builds it the same way).
    const workflowsPath = fileURLToPath(new URL('../../workflows/index.ts', import.meta.url));
    const traced = await bundleWorkflowCode({
      workflowsPath,
      preloadModules: preloadModulesFor(workflowsPath),
      workflowInterceptorModules: [tracingInterceptorsFor(workflowsPath)],
      logger: quiet,
    });
    const exporter = makeWorkflowExporter(new SimpleSpanProcessor(new InMemorySpanExporter()), new Resource({}));
    const all = REPRESENTATIVE.map((name) => ({ workflowId: workflowIdOf(name) ?? name, history: history(name) }));
    const errors: string[] = [];
    const options = { workflowBundle: traced, replayName: 'traced', sinks: { exporter } };
    for await (const result of Worker.runReplayHistories(options, all)) {
      if (result.error) errors.push(`${result.workflowId}: ${String(result.error)}`);
    }
    expect(errors).toEqual([]);
  }, 120_000);

  it('fails replay when the workflow takes other steps than the history recorded', async () => {
    const changed = await bundleWorkflowCode({
      workflowsPath: fileURLToPath(new URL('../fixtures/changed-workflow.ts', import.meta.url)),
      logger: quiet,
    });
    await expect(
      Worker.runReplayHistory({ workflowBundle: changed, replayName: 'changed' }, history('done')),
    ).rejects.toBeInstanceOf(DeterminismViolationError);
  }, 60_000);
});
