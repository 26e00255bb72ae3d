// Arrays on the real stack: one start runs N child actions of one spec, each an ordinary action
// "<array>-<index>" told ACTION_INDEX and ACTION_COUNT and given its item on stdin, at most
// `parallelism` at once (read from the engine's own events), stopping new starts past maxFailures;
// a sweep picking its best child from their JSON outputs; and 200 items through continue-as-new.
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, inject, it, vi } from 'vitest';
import { keptOutputs, type ArrayResult } from '../../client/index.js';
import { caisson } from '../support/cli.js';
import { inputVars, records, runDist, runnerFiles } from '../support/bundled-action.js';
import { LABEL } from '../../activities/container/labels.js';
import { busybox, keepHistory, useSuiteWorker } from '../support/actions.js';
import { engineEvents, mostAtOnce } from '../support/engine-events.js';
import { docker, env, objectText, s3 } from '../support/env.js';

const suite = useSuiteWorker();

describe('an array', () => {
  it('of 20 with parallelism 3 never runs more than 3 at once; past maxFailures 1 it starts no more, and the running finish', async () => {
    const since = Date.now();
    const items = Array.from({ length: 20 }, (_, i) => ({ n: i, fail: i === 2 || i === 5 }));
    const script =
      'in=$(cat); echo "$ACTION_INDEX/$ACTION_COUNT $in"; case "$in" in *\'"fail":true\'*) exit 1;; esac; sleep 1';
    const handle = await suite
      .client()
      .startArray(busybox(script), { items, parallelism: 3, maxFailures: 1 }, { actionId: `array-${randomUUID()}` });
    const result = await handle.result();
    expect(result).toMatchObject({ status: 'FAILED', reason: 'max-failures', count: 20 });
    expect(result.byStatus.FAILED).toBe(2);
    expect(result.byStatus.CANCELED).toBe(0);
    expect(result.byStatus.NOT_STARTED).toBeGreaterThan(0);
    expect(result.byStatus.DONE + result.byStatus.FAILED + result.byStatus.NOT_STARTED).toBe(20);
    expect(result.children[2]).toMatchObject({
      index: 2,
      actionId: `${handle.actionId}-2`,
      status: 'FAILED',
      exitCode: 1,
    });
    expect(result.children[0]).toMatchObject({
      status: 'DONE',
      exitCode: 0,
      resultUri: expect.stringMatching(new RegExp(`/${handle.actionId}-0/result\\.json$`)),
    });
    // Each child is an ordinary action with its item as input and its place in its env.
    const first = await suite.client().attach(`${handle.actionId}-0`).result();
    expect(await objectText(s3(), first.logs!.stdout)).toBe('0/20 {"n":0,"fail":false}\n');
    const events = (await engineEvents(docker(), since, [LABEL.actionId])).filter((e) =>
      e.labels[LABEL.actionId]?.startsWith(`${handle.actionId}-`),
    );
    expect(events.filter((e) => e.action === 'start').length).toBe(20 - result.byStatus.NOT_STARTED);
    expect(mostAtOnce(events)).toBe(3);
    keepHistory('array-max-failures', handle);
  });

  it('as a 12-point sweep picks the child with the lowest loss, with every output kept', async () => {
    // loss(i) = (i - 7)² + 1: child 7 is best, with 1.
    const script = 'echo "{\\"loss\\": $(( (ACTION_INDEX - 7) * (ACTION_INDEX - 7) + 1 ))}"';
    const handle = await suite
      .client()
      .startArray(
        busybox(script, { output: 'json' }),
        { count: 12, parallelism: 4, outputs: true, objective: { pointer: '/loss', goal: 'minimize' } },
        { actionId: `sweep-${randomUUID()}` },
      );
    const result = await handle.result();
    expect(result).toMatchObject({ status: 'DONE', reason: 'done', byStatus: { DONE: 12 } });
    expect(result.best).toEqual({ index: 7, id: `${handle.actionId}-7`, value: 1 });
    expect(result.objective).toEqual({ pointer: '/loss', goal: 'minimize', withValue: 12, withoutValue: 0 });
    expect(keptOutputs(result).get(0)).toEqual({ loss: 50 });
    expect(result.children.map((c) => c.value)).toEqual([50, 37, 26, 17, 10, 5, 2, 1, 2, 5, 10, 17]);
    keepHistory('array-sweep', handle);
  });

  it('runs from the CLI (--array-count) and from the bundled Action (array-items), summarised in their outputs', async () => {
    const ran = await caisson(
      'run',
      '--array-count',
      '3',
      '--parallelism',
      '2',
      '--json',
      env('TEST_IMAGE_BUSYBOX'),
      '--',
      'sh',
      '-c',
      'echo "$ACTION_INDEX of $ACTION_COUNT"',
    );
    expect(ran.code).toBe(0);
    const result = JSON.parse(ran.stdout) as ArrayResult;
    expect(result).toMatchObject({ status: 'DONE', count: 3, byStatus: { DONE: 3 } });
    expect((await suite.client().attach(`${result.actionId}-2`).result()).logTail).toEqual(['2 of 3']);

    const dir = mkdtempSync(join(tmpdir(), 'caisson-array-action-'));
    try {
      const files = runnerFiles(dir);
      const step = await runDist({
        ...files,
        ...inputVars({
          'temporal-address': env('TEMPORAL_ADDRESS'),
          'task-queue': inject('taskQueue'),
          'codec-keys': env('CAISSON_CODEC_KEYS'),
          image: env('TEST_IMAGE_BUSYBOX'),
          command: 'sh\n-c',
          args: 'grep -q \'"ok":true\'',
          'array-items': '[{"ok": true}, {"ok": false}, {"ok": true}]',
          'action-id': `gha-array-${randomUUID()}`,
        }),
      });
      expect(step.code).not.toBe(0); // one child FAILED: the step fails
      const outputs = records(readFileSync(files.GITHUB_OUTPUT, 'utf8'));
      expect(outputs).toMatchObject({ status: 'FAILED', reason: 'children-failed' });
      expect(JSON.parse(outputs.children!)).toEqual({ DONE: 2, FAILED: 1, CANCELED: 0, NOT_STARTED: 0 });
      expect(JSON.parse(outputs['children-list']!)[1]).toEqual({ index: 1, status: 'FAILED', exitCode: 1 });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('whose children return large results continues as new before its history grows large', async () => {
    // 1000 files with 200-character names: each child's result lists ~600 KB of artifacts. A run
    // starts no more children past 4 MiB (about 7 ended, 4 more running): 14 need a second run.
    const script = 'i=0; while [ $i -lt 1000 ]; do : > /out/$(printf "%0200d" $i); i=$((i+1)); done';
    const handle = await suite
      .client()
      .startArray(busybox(script), { count: 14, parallelism: 4 }, { actionId: `array-heavy-${randomUUID()}` });
    const result = await handle.result();
    expect(result).toMatchObject({ status: 'DONE', byStatus: { DONE: 14 } });
    const runs: number[] = [];
    for await (const w of suite.client().client.workflow.list({ query: `WorkflowId = '${handle.actionId}'` }))
      runs.push(w.historySize ?? 0);
    expect(runs.length).toBeGreaterThan(1);
    for (const bytes of runs) expect(bytes).toBeLessThan(8 << 20);
  }, 300_000);

  // Two runs' worth on the dev server, which suggests continue-as-new past 1,000 events (about 120
  // trivial children; scripts/dev-env). The parent's own bound, 500 children a run, is proven by the
  // workflow tests (a 501-child array with stubs); the 2,000-item array is a benchmark (npm run bench).
  it('of 200 trivial items completes through continue-as-new, every child DONE', async () => {
    const handle = await suite
      .client()
      .startArray(busybox('true'), { count: 200, parallelism: 8 }, { actionId: `array-big-${randomUUID()}` });
    const result = await handle.result();
    expect(result).toMatchObject({
      status: 'DONE',
      reason: 'done',
      count: 200,
      byStatus: { DONE: 200, FAILED: 0, CANCELED: 0, NOT_STARTED: 0 },
    });
    expect(result.children).toHaveLength(200);
    // Up to 1,000 children each is listed in full, with its id and result.json.
    expect(result.children[199]).toEqual({
      index: 199,
      status: 'DONE',
      exitCode: 0,
      actionId: `${handle.actionId}-199`,
      resultUri: expect.stringMatching(new RegExp(`/${handle.actionId}-199/result\\.json$`)),
    });
    // The parent continues as new when the server suggests it: at least two runs, none of them long.
    // Visibility is updated just after a run closes: the last run's length may read 0 for a moment.
    const events = await vi.waitFor(
      async () => {
        const lengths: number[] = [];
        for await (const w of suite.client().client.workflow.list({ query: `WorkflowId = '${handle.actionId}'` }))
          lengths.push(w.historyLength ?? 0);
        expect(lengths.every((n) => n > 0)).toBe(true);
        return lengths;
      },
      { timeout: 15_000, interval: 250 },
    );
    expect(events.length).toBeGreaterThanOrEqual(2);
    expect(events.length).toBeLessThanOrEqual(4);
    for (const length of events) {
      expect(length).toBeGreaterThan(20); // each run started children (the last may start only a few)
      expect(length).toBeLessThan(1500); // past 1,000 it starts none, and at most 8 are running
    }
    // A run that continued as new, for the replay set (trivial children keep its history small).
    for await (const w of suite
      .client()
      .client.workflow.list({ query: `WorkflowId = '${handle.actionId}' AND ExecutionStatus = 'ContinuedAsNew'` })) {
      keepHistory('array-continued-as-new', { actionId: handle.actionId, runId: w.runId });
      break;
    }
  }, 300_000); // about a minute on 2 cores: bounded well above
});
