// Actions on Temporal Schedules, driven by the `caisson schedule` commands on the real stack: each
// run is an ordinary action named after the schedule and its time; trigger, pause, unpause and
// delete do what they say; the skip overlap policy skips a run due while the last one runs; a short
// interval starts runs by itself; a schedule of arrays starts an array each time.
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import type { ActionSummary, ScheduleRun } from '../../client/index.js';
import { caisson } from '../support/cli.js';
import { busybox, keepHistory, useSuiteWorker } from '../support/actions.js';
import { env } from '../support/env.js';

const suite = useSuiteWorker();
const made: string[] = [];
const named = (prefix: string) => {
  const id = `${prefix}-${randomUUID().slice(0, 8)}`;
  made.push(id);
  return id;
};
afterAll(async () => {
  for (const id of made)
    await suite
      .client()
      .schedules()
      .delete(id)
      .catch(() => {});
});

/** The runs of a schedule, as `caisson list --schedule` finds them, once there are `count`. */
async function runsOf(id: string, count: number): Promise<ActionSummary[]> {
  let runs: ActionSummary[] = [];
  await expect
    .poll(async () => (runs = await suite.client().list({ schedule: id })).length, { timeout: 30_000, interval: 250 })
    .toBeGreaterThanOrEqual(count);
  return runs;
}

describe('caisson schedule', () => {
  it('creates a schedule whose triggered run is an ordinary action; shows, pauses, unpauses and deletes it', async () => {
    const id = named('nightly');
    const created = await caisson(
      'schedule',
      'create',
      id,
      '--cron',
      '0 3 * * *',
      '--timezone',
      'Europe/Zurich',
      '--memory',
      '32Mi',
      env('TEST_IMAGE_BUSYBOX'),
      '--',
      'sh',
      '-c',
      'echo scheduled run; echo x > /out/x.txt',
    );
    expect(created.stderr).toBe('');
    expect(created.code).toBe(0);
    expect((await caisson('schedule', 'trigger', id)).code).toBe(0);
    const [run] = await runsOf(id, 1);
    expect(run!.actionId).toMatch(new RegExp(`^${id}-\\d{4}-\\d\\d-\\d\\dT`));
    const result = await suite.client().attach(run!.actionId).result();
    expect(result.status).toBe('DONE');
    expect(result.artifacts.map((a) => a.path)).toEqual(['x.txt']);
    keepHistory('schedule-run', result);

    const shown = await caisson('schedule', 'show', id);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toContain(`${id}  active`);
    expect(shown.stdout).toContain('when       cron 0 3 * * * (Europe/Zurich)');
    expect(shown.stdout).toMatch(/next {7}\d{4}-\d\d-\d\dT0[12]:00:00\.000Z/); // 03:00 in Zurich
    expect(shown.stdout).toMatch(new RegExp(`ran {8}\\S+ {2}DONE {2}${run!.actionId}`));

    expect((await caisson('schedule', 'pause', id, '--note', 'holiday')).code).toBe(0);
    expect(JSON.parse((await caisson('schedule', 'show', id, '--json')).stdout)).toMatchObject({
      paused: true,
      note: 'holiday',
    });
    expect((await caisson('schedule', 'list')).stdout).toMatch(new RegExp(`^${id} +paused \\(holiday\\)`, 'm'));
    expect((await caisson('schedule', 'unpause', id)).code).toBe(0);
    expect(JSON.parse((await caisson('schedule', 'show', id, '--json')).stdout)).toMatchObject({ paused: false });

    expect((await caisson('schedule', 'delete', id)).code).toBe(0);
    const gone = await caisson('schedule', 'show', id);
    expect(gone.code).toBe(125);
    expect(gone.stderr).toContain(`no schedule named ${id}`);
  });

  it('skips a run due while the last one still runs, under overlap skip', async () => {
    const id = named('overlap');
    const created = await caisson(
      'schedule',
      'create',
      id,
      '--cron',
      '0 3 1 1 *',
      '--overlap',
      'skip',
      env('TEST_IMAGE_BUSYBOX'),
      '--',
      'sh',
      '-c',
      'trap "exit 143" TERM; sleep 60 & wait',
    );
    expect(created.code).toBe(0);
    await caisson('schedule', 'trigger', id);
    const [run] = await runsOf(id, 1);
    const handle = suite.client().attach(run!.actionId);
    await expect.poll(async () => (await handle.status()).phase, { timeout: 15_000, interval: 100 }).toBe('RUNNING');
    expect((await caisson('schedule', 'trigger', id)).code).toBe(0);
    await expect
      .poll(async () => (await suite.client().schedules().describe(id)).skippedByOverlap, {
        timeout: 15_000,
        interval: 200,
      })
      .toBe(1);
    expect(await suite.client().list({ schedule: id })).toHaveLength(1);
    await handle.cancel();
    expect((await handle.result()).status).toBe('CANCELED');
  });

  it('with a short interval starts runs by itself, each with its own id', async () => {
    const id = named('every');
    expect(
      (await caisson('schedule', 'create', id, '--every', '2s', env('TEST_IMAGE_BUSYBOX'), '--', 'true')).code,
    ).toBe(0);
    const runs = await runsOf(id, 2);
    await suite.client().schedules().delete(id);
    expect(new Set(runs.map((r) => r.actionId)).size).toBe(runs.length);
    for (const r of runs) expect((await suite.client().attach(r.actionId).result()).status).toBe('DONE');
  });

  it('runs a template on a schedule, and takes changes to its timing and its spec', async () => {
    const id = named('templated');
    expect(
      (
        await caisson(
          'template',
          'register',
          fileURLToPath(new URL('../../examples/templates/greeting.yaml', import.meta.url)),
        )
      ).code,
    ).toBe(0);
    const created = await caisson(
      'schedule',
      'create',
      id,
      '--cron',
      '0 3 * * *',
      '--template',
      'greeting@1.0.0',
      '--input',
      '{"name": "Cron"}',
    );
    expect(created.stderr).toBe('');
    await caisson('schedule', 'trigger', id);
    const [first] = await runsOf(id, 1);
    expect(await suite.client().attach(first!.actionId).result()).toMatchObject({
      status: 'DONE',
      output: { message: 'Hello, Cron!' },
    });
    expect(first!.template).toBe('greeting@1.0.0');

    expect((await caisson('schedule', 'update', id, '--every', '1h')).code).toBe(0);
    expect((await caisson('schedule', 'show', id)).stdout).toContain('when       every 1h');
    expect((await caisson('schedule', 'update', id, env('TEST_IMAGE_BUSYBOX'), '--', 'echo', 'changed')).code).toBe(0);
    await caisson('schedule', 'trigger', id);
    const runs = await runsOf(id, 2);
    const second = runs.find((r) => r.actionId !== first!.actionId)!;
    expect((await suite.client().attach(second.actionId).result()).logTail).toEqual(['changed']);
    expect((await caisson('schedule', 'show', id)).stdout).toContain('when       every 1h');
  });

  it('refuses a bad timing or spec before creating anything', async () => {
    const id = named('bad');
    const neither = await caisson('schedule', 'create', id, env('TEST_IMAGE_BUSYBOX'));
    expect(neither.code).toBe(125);
    expect(neither.stderr).toContain('give the schedule --cron EXPRESSION (repeatable) or --every DURATION');
    const badSpec = await caisson(
      'schedule',
      'create',
      id,
      '--every',
      '1h',
      '--memory',
      '1',
      'registry.example/Not An Image',
    );
    expect(badSpec.code).toBe(125);
    expect(badSpec.stderr).toContain('resources.memory: memory must be at least 6Mi');
    expect(badSpec.stderr).toContain('image: not an image reference');
    const badCron = await caisson('schedule', 'create', id, '--cron', 'every tuesday', env('TEST_IMAGE_BUSYBOX'));
    expect(badCron.code).toBe(125);
    expect(badCron.stderr).toContain(`cannot create schedule ${id}`);
    expect((await caisson('schedule', 'list')).stdout).not.toContain(id);
  });

  it('of arrays: a triggered run is an array (here a sweep) whose children are named after the run', async () => {
    const id = named('sweep');
    const schedules = suite.client().schedules();
    const spec = busybox('echo "{\\"score\\": $ACTION_INDEX}"', { output: 'json' });
    const array = { count: 3, parallelism: 3, objective: { pointer: '/score', goal: 'maximize' as const } };
    await schedules.create(id, spec, { cron: ['0 3 * * *'], array });
    expect((await schedules.list()).map((s) => s.scheduleId)).toContain(id);
    await schedules.trigger(id);
    let run: ScheduleRun | undefined;
    await expect
      .poll(async () => (run = (await schedules.describe(id)).recent[0]), { timeout: 30_000, interval: 250 })
      .toBeDefined();
    expect(run!.actionId).toMatch(new RegExp(`^${id}-\\d{4}-\\d\\d-\\d\\dT`));
    const result = await suite.client().attachArray(run!.actionId).result();
    expect(result).toMatchObject({ status: 'DONE', count: 3, best: { index: 2, id: `${run!.actionId}-2`, value: 2 } });
    expect(await suite.client().attach(`${run!.actionId}-0`).result()).toMatchObject({ output: { score: 0 } });
    expect((await schedules.describe(id)).array).toEqual(array);
    // A new spec keeps the array options.
    await schedules.update(id, { spec: busybox('echo "{\\"score\\": 1}"', { output: 'json' }) });
    expect((await schedules.describe(id)).array).toEqual(array);
    // An array that could not run is refused before the schedule changes.
    await expect(schedules.update(id, { options: { array: { count: 0 } } })).rejects.toThrow(
      /array\.count: count is at least 1/,
    );
    expect((await schedules.describe(id)).array).toEqual(array);
  });

  it('of arrays from the CLI: schedule create takes the array and sweep flags as run does', async () => {
    const id = named('cli-sweep');
    const created = await caisson(
      'schedule',
      'create',
      id,
      '--cron',
      '0 3 * * *',
      '--paused',
      '--array-count',
      '4',
      '--parallelism',
      '2',
      '--objective',
      '/loss:minimize',
      '--output',
      'json',
      env('TEST_IMAGE_BUSYBOX'),
      '--',
      'true',
    );
    expect(created.code, created.stderr).toBe(0);
    expect((await suite.client().schedules().describe(id)).array).toEqual({
      count: 4,
      parallelism: 2,
      objective: { pointer: '/loss', goal: 'minimize' },
    });
    const bad = await caisson(
      'schedule',
      'create',
      named('cli-bad'),
      '--every',
      '1h',
      '--array-count',
      '2',
      '--objective',
      '/x:down',
      env('TEST_IMAGE_BUSYBOX'),
    );
    expect(bad.code).toBe(125);
    expect(bad.stderr).toMatch(/--objective \/x:down: write POINTER:minimize or POINTER:maximize/);
  });
});
