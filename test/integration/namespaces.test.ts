// Two namespaces, one engine, one host name: workers of each count, reconcile and remove only the
// containers of their own. Without that, a worker's reconcile looks up the other namespace's run in
// its own namespace, finds no such run, and removes a running container.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ActionsClient } from '../../client/index.js';
import { temporalSettingsFromEnv } from '../../common/connection/temporal-connection.js';
import { busybox, expectNoLeftovers, workerOfItsOwn } from '../support/actions.js';
import { docker, env } from '../support/env.js';
import { engineEvents } from '../support/engine-events.js';
import { LABEL } from '../../activities/container/labels.js';

const SECOND = 'caisson-second';
const SEARCH_ATTRIBUTES = [
  'ActionStatus=Keyword',
  'ActionImage=Keyword',
  'ActionExitCode=Int',
  'ActionHost=Keyword',
  'ActionSource=Keyword',
  'ActionTemplate=Keyword',
  'ActionSchedule=Keyword',
];
const cleanups: (() => Promise<unknown>)[] = [];
const host = `shared-host-${process.pid}`;
/** How often the engine started a container of this action since `since`. */
const starts = async (actionId: string, since: number) =>
  (await engineEvents(docker(), since, [`${LABEL.actionId}=${actionId}`], ['start'])).length;

const temporal = (...args: string[]) =>
  execFileSync(env('TEMPORAL_CLI'), ['operator', ...args, '--address', env('TEMPORAL_ADDRESS')], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });

beforeAll(async () => {
  // The dev server keeps its database between runs: the namespace may be there already.
  try {
    temporal('namespace', 'create', '--namespace', SECOND);
  } catch (err) {
    if (!String((err as { stderr?: string }).stderr).includes('already')) throw err;
  }
  // A new namespace reaches every part of the server within a few seconds: retried until it has.
  await vi.waitFor(
    () => {
      const known = temporal('search-attribute', 'list', '--namespace', SECOND);
      for (const sa of SEARCH_ATTRIBUTES) {
        const [name, type] = sa.split('=') as [string, string];
        if (!known.includes(name))
          temporal('search-attribute', 'create', '--namespace', SECOND, '--name', name, '--type', type);
      }
      const listed = temporal('search-attribute', 'list', '--namespace', SECOND);
      for (const sa of SEARCH_ATTRIBUTES) expect(listed).toContain(sa.split('=')[0]);
    },
    { timeout: 60_000, interval: 1000 },
  );
}, 90_000);
afterAll(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe('workers of two namespaces on one engine, under one host name', () => {
  it("each one's running action survives the other's reconcile, and nothing is left", async () => {
    const since = Date.now();
    const fast = { CAISSON_HOST: host, CAISSON_RECONCILE_SECONDS: '1' };
    const first = await workerOfItsOwn('ns-default', fast, cleanups);
    const a = await first.client.start(busybox('sleep 10; echo from-default'));
    // The first namespace's container runs before the second namespace's worker starts.
    await vi.waitFor(async () => expect(await starts(a.actionId, since)).toBe(1), { timeout: 30_000, interval: 100 });

    const second = await workerOfItsOwn('ns-second', { ...fast, TEMPORAL_NAMESPACE: SECOND }, cleanups);
    const secondClient = await ActionsClient.connect(
      { ...temporalSettingsFromEnv(), namespace: SECOND },
      second.taskQueue,
    );
    cleanups.push(() => secondClient.close());
    const b = await secondClient.start(busybox('sleep 6; echo from-second'));
    await vi.waitFor(async () => expect(await starts(b.actionId, since)).toBe(1), { timeout: 30_000, interval: 100 });
    // Both containers carry whose they are.
    const labels = (await docker().listContainers({ filters: { label: [`${LABEL.host}=${host}`] } })).map(
      (c) => c.Labels[LABEL.namespace],
    );
    expect(labels.sort()).toEqual([SECOND, 'default']);
    // And so do their disks, where the worker can make them.
    const disksDir = process.env.CAISSON_DISKS_DIR;
    if (disksDir) {
      const owners = readdirSync(disksDir)
        .filter((name) => name.endsWith(`-${host}`))
        .map(
          (name) =>
            (JSON.parse(readFileSync(join(disksDir, name, 'owner.json'), 'utf8')) as { namespace: string }).namespace,
        );
      expect(owners.sort()).toEqual([SECOND, 'default']);
    }

    // Each worker reconciled every second meanwhile, each seeing the other's container under its host name.
    const [resultA, resultB] = await Promise.all([a.result(), b.result()]);
    expect(resultA).toMatchObject({ status: 'DONE', logTail: ['from-default'], attempts: 1 });
    expect(resultB).toMatchObject({ status: 'DONE', logTail: ['from-second'], attempts: 1 });
    expect(await starts(a.actionId, since)).toBe(1);
    expect(await starts(b.actionId, since)).toBe(1);
    await expectNoLeftovers(host);
  }, 120_000);
});
