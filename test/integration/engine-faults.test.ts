// The Docker engine going away under actions, on an engine of the test's own: stopped and started
// again (an upgrade: SIGTERM), crashed (SIGKILL) while a container runs or while an image is
// pulled, and crashed for good. Each case names its bound and checks the outcome, the container
// starts the engine recorded, and that nothing is left.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { startExtraDockerd, type ExtraDockerd } from '../../harness/extra-dockerd.js';
import { busybox, expectNoLeftovers, keepHistory, workerOfItsOwn } from '../support/actions.js';
import { engineEvents } from '../support/engine-events.js';
import { docker, env } from '../support/env.js';
import { slowRegistry } from '../support/slow-registry.js';
import { spawnWorker } from '../../harness/worker-process.js';
import { LABEL } from '../../activities/container/labels.js';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function engineOfItsOwn(name: string): Promise<ExtraDockerd> {
  const dockerd = await startExtraDockerd({ name });
  cleanups.push(() => dockerd.stop());
  return dockerd;
}

const workerOn = (name: string, dockerd: ExtraDockerd, extra: Record<string, string> = {}) =>
  workerOfItsOwn(
    name,
    {
      DOCKER_HOST: dockerd.socketHost,
      DOCKER_CONFIG: env('DOCKER_CONFIG'),
      CAISSON_ALLOWED_IMAGES: `${env('TEST_REGISTRY')}/caisson/*`,
      ...extra,
    },
    cleanups,
  );

// Exits at once on SIGTERM, as a well-behaved program does, so the engine's shutdown is quick.
const LONG = "trap 'exit 143' TERM; echo started; sleep 600 & wait";

const startsOn = async (dockerd: ExtraDockerd, host: string, since: number) =>
  (await engineEvents(dockerd.engine, since, [`${LABEL.host}=${host}`], ['start'])).length;

const runningOn = (dockerd: ExtraDockerd, host: string, count: number) =>
  vi.waitFor(
    async () =>
      expect(
        await dockerd.engine.listContainers({ filters: { label: [`${LABEL.host}=${host}`], status: ['running'] } }),
      ).toHaveLength(count),
    { timeout: 60_000, interval: 200 },
  );

/** The engine ends up with no container, and the worker's host no disk. */
async function nothingLeft(dockerd: ExtraDockerd, host: string): Promise<void> {
  await vi.waitFor(async () => expect(await dockerd.engine.listContainers({ all: true })).toEqual([]), {
    timeout: 15_000,
    interval: 200,
  });
  await expectNoLeftovers(host);
}

describe('an engine that goes away while actions run', () => {
  // Bound: within 30 s of the engine answering again, each action has its outcome.
  it.each(['SIGTERM', 'SIGKILL'] as const)(
    'after %s and a start: engine-restarted within 30 s of the engine answering; a retry naming that reason runs again',
    async (signal) => {
      const dockerd = await engineOfItsOwn(`running-${signal.toLowerCase()}`);
      const { client, host } = await workerOn(`engine${signal.toLowerCase()}`, dockerd);
      const since = Date.now();
      const plain = await client.start(busybox(LONG, { timeout: '5m' }));
      const retried = await client.start(
        busybox(`if [ "$ACTION_ATTEMPT" = 1 ]; then ${LONG}; else echo again; fi`, {
          timeout: '5m',
          retry: { attempts: 2, onReasons: ['engine-restarted'] },
        }),
      );
      await runningOn(dockerd, host, 2);
      // The engine's event log does not outlive a crash: the starts before it are read now.
      const startsBefore = await startsOn(dockerd, host, since);
      await dockerd.kill(signal);
      await dockerd.start();
      const answeredAt = Date.now();

      const [first, second] = await Promise.all([plain.result(), retried.result()]);
      expect(Date.now() - answeredAt).toBeLessThan(30_000);
      expect(first).toMatchObject({ status: 'FAILED', reason: 'engine-restarted', attempts: 1 });
      expect(first.exitCode).toBeGreaterThanOrEqual(128); // stopped by a signal, not an exit of its own
      expect(first.message).toContain('the container engine stopped while it ran');
      expect(first.message).not.toMatch(/memory/i);
      expect(second).toMatchObject({ status: 'DONE', exitCode: 0, attempts: 2, logTail: ['again'] });
      if (signal === 'SIGKILL') {
        keepHistory('engine-restarted', first);
        keepHistory('engine-restarted-retried', second);
      }
      // One start per attempt: two before the fault, the retry's one after it.
      expect(startsBefore).toBe(2);
      expect(await startsOn(dockerd, host, answeredAt - 1000)).toBe(1);
      await nothingLeft(dockerd, host);
    },
  );
});

describe('an engine that goes away while it pulls the image', () => {
  // Bound: the pull is made again once the engine answers; the action is DONE, its container started once.
  it.each(['SIGTERM', 'SIGKILL'] as const)(
    'after %s and a start: pulled again, DONE, one container start',
    async (signal) => {
      const dockerd = await engineOfItsOwn(`pulling-${signal.toLowerCase()}`);
      // About 1 MB of layers at 100 kB/s: a pull of some seconds.
      const registry = await slowRegistry(100_000, cleanups);
      const { client, host } = await workerOn(`enginepull${signal.toLowerCase()}`, dockerd, {
        DOCKER_CONFIG: registry.dockerConfig,
        CAISSON_ALLOWED_IMAGES: registry.allowed,
      });
      const handle = await client.start({ image: registry.image, command: ['echo', 'pulled and ran'] });
      await registry.pulling();
      await dockerd.kill(signal);
      registry.proxy.limitDownloads(0); // the second pull at full speed
      await dockerd.start();
      const answeredAt = Date.now();
      const result = await handle.result();
      expect(result).toMatchObject({ status: 'DONE', exitCode: 0, logTail: ['pulled and ran'], attempts: 1 });
      expect(Date.now() - answeredAt).toBeLessThan(30_000);
      expect(await startsOn(dockerd, host, answeredAt - 1000)).toBe(1);
      await nothingLeft(dockerd, host);
    },
  );
});

describe('an engine that crashes and stays away', () => {
  // Bound: CAISSON_ENGINE_AWAY_SECONDS (3 s here) after the crash.
  it('with no placement left: FAILED with reason no-host, naming the host that went silent', async () => {
    const dockerd = await engineOfItsOwn('awaylast');
    const { client, host } = await workerOn('engineawaylast', dockerd, { CAISSON_ENGINE_AWAY_SECONDS: '3' });
    const handle = await client.start(busybox(LONG, { timeout: '5m' }), { fleet: { maxPlacements: 1 } });
    await runningOn(dockerd, host, 1);
    await dockerd.kill('SIGKILL');
    const crashedAt = Date.now();
    const result = await handle.result();
    expect(Date.now() - crashedAt).toBeLessThan(3_000 + 20_000);
    expect(result).toMatchObject({ status: 'FAILED', reason: 'no-host', exitCode: null, host });
    expect(result.message).toContain(`host ${host} went silent and the action was already placed 1 times`);
    keepHistory('no-host', result);
  });

  // Bound: CAISSON_ENGINE_AWAY_SECONDS (5 s here) after the crash, plus a placement.
  it('the action is placed on another host, and the lost host holds nothing for it', async () => {
    const dockerd = await engineOfItsOwn('away');
    const {
      client,
      host: lostHost,
      taskQueue,
      worker: lost,
    } = await workerOn('engineaway', dockerd, { CAISSON_ENGINE_AWAY_SECONDS: '5' });
    const handle = await client.start(busybox(LONG, { timeout: '5m' }));
    await runningOn(dockerd, lostHost, 1);
    // A second host on the same queue, on the dev engine, once the action runs on the first.
    const otherHost = `engineaway-other-${process.pid}`;
    const other = spawnWorker('engineaway-other', {
      CAISSON_TASK_QUEUE: taskQueue,
      CAISSON_HOST: otherHost,
      CAISSON_CAPACITY: '2',
    });
    cleanups.push(() => other.stop('SIGTERM'));
    await other.ready;
    await dockerd.kill('SIGKILL');
    const crashedAt = Date.now();

    await vi.waitFor(
      async () =>
        expect(
          await docker().listContainers({
            filters: {
              label: [`${LABEL.actionId}=${handle.actionId}`, `${LABEL.host}=${otherHost}`],
              status: ['running'],
            },
          }),
        ).toHaveLength(1),
      { timeout: 60_000, interval: 200 },
    );
    expect(Date.now() - crashedAt).toBeLessThan(40_000);
    // The lost host released the action's slot: its drain has nothing to wait for.
    const stopping = Date.now();
    await lost.stop('SIGTERM');
    expect(Date.now() - stopping).toBeLessThan(15_000);

    await handle.cancel();
    const result = await handle.result();
    expect(result).toMatchObject({ status: 'CANCELED', host: otherHost });
    await expectNoLeftovers(otherHost);
    // What the crashed engine left (its containerd still runs the first container) is the
    // harness's to remove: dockerd.stop().
  });
});
