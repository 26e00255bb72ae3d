// A worker killed (SIGKILL) at each step of an action, and a worker of the same host started again:
// the action ends DONE with every artifact and exactly one container start (the engine's own
// record), and nothing is left. Bound of each case: the heartbeat timeout (15 s) after the kill,
// then the step again. The cases wait out that timeout at the same time: each has its own host,
// queue, cleanups and (where it counts requests) its own proxy, and looks only at its own run.
import { createHash, randomUUID } from 'node:crypto';
import { describe, expect, it, vi, type TestContext } from 'vitest';
import { CountingProxy } from '../../harness/counting-proxy.js';
import { startExtraDockerd } from '../../harness/extra-dockerd.js';
import { spawnWorker, type WorkerProcess } from '../../harness/worker-process.js';
import { LABEL } from '../../activities/container/labels.js';
import { HostDisks } from '../../activities/disks/host-disk.js';
import { removeContainer } from '../../activities/container/removal.js';
import { busybox, connectClient, expectNoLeftovers, s3Proxy, uploadStarted } from '../support/actions.js';
import { engineEvents } from '../support/engine-events.js';
import { containerStarts, docker, env, objectDigest, objectText, parseS3Uri, s3 } from '../support/env.js';
import { slowRegistry } from '../support/slow-registry.js';
import { HeadObjectCommand } from '@aws-sdk/client-s3';

type Cleanups = (() => Promise<unknown>)[];

/** A case's own cleanups, run last first when it ends (the cases run at once, so none are shared). */
function cleanupsOf(context: TestContext): Cleanups {
  const cleanups: Cleanups = [];
  context.onTestFinished(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });
  return cleanups;
}

/** A host: its name and queue, and how to start one of its workers (again) with extra settings. */
async function host(name: string, cleanups: Cleanups) {
  const taskQueue = `${name}-${randomUUID()}`;
  const hostName = `${name}-${process.pid}`;
  const client = await connectClient(taskQueue);
  cleanups.push(() => client.close());
  cleanups.push(() => expectNoLeftovers(hostName));
  const worker = async (extra: Record<string, string> = {}): Promise<WorkerProcess> => {
    const w = spawnWorker(name, {
      CAISSON_TASK_QUEUE: taskQueue,
      CAISSON_HOST: hostName,
      CAISSON_ALLOWED_IMAGES: `${env('TEST_REGISTRY')}/caisson/*`,
      ...extra,
    });
    cleanups.push(() => w.stop('SIGTERM'));
    await w.ready;
    return w;
  };
  return { client, host: hostName, worker };
}

/** Resolves once the action's execute is on its second try or later: a new worker took it up. */
async function retried(client: Awaited<ReturnType<typeof host>>['client'], actionId: string): Promise<void> {
  await vi.waitFor(
    async () => {
      const { raw } = await client.client.workflow.getHandle(actionId).describe();
      const execute = raw.pendingActivities?.find((a) => a.activityType?.name === 'execute');
      expect(execute?.attempt ?? 0).toBeGreaterThanOrEqual(2);
      expect(String(execute?.state)).toMatch(/STARTED|^2$/);
    },
    { timeout: 60_000, interval: 250 },
  );
}

describe.concurrent('a worker killed (SIGKILL), then a worker of its host started again', () => {
  it('while it pulls the image: DONE, pulled again, one container start', async (context) => {
    const cleanups = cleanupsOf(context);
    const { client, worker } = await host('crashpull', cleanups);
    // An engine of its own: the dev engine has the image's layers already, and would fetch none.
    const dockerd = await startExtraDockerd({ name: 'crashpull' });
    cleanups.push(() => dockerd.stop());
    const registry = await slowRegistry(100_000, cleanups);
    const settings = {
      DOCKER_HOST: dockerd.socketHost,
      DOCKER_CONFIG: registry.dockerConfig,
      CAISSON_ALLOWED_IMAGES: registry.allowed,
    };
    const first = await worker(settings);
    const since = Date.now();
    const handle = await client.start({ image: registry.image, command: ['echo', 'ran'] });
    await registry.pulling();
    await first.stop('SIGKILL');
    registry.proxy.limitDownloads(0);
    await worker(settings);
    const result = await handle.result();
    expect(result).toMatchObject({ status: 'DONE', exitCode: 0, logTail: ['ran'], attempts: 1 });
    expect(await engineEvents(dockerd.engine, since, [`${LABEL.runId}=${result.runId}`], ['start'])).toHaveLength(1);
    await vi.waitFor(async () => expect(await dockerd.engine.listContainers({ all: true })).toEqual([]), {
      timeout: 15_000,
      interval: 200,
    });
  });

  it('between creating the container and starting it: DONE, the same container started once', async (context) => {
    const cleanups = cleanupsOf(context);
    const { client, host: hostName, worker } = await host('crashcreated', cleanups);
    const engine = new CountingProxy({ socketPath: new URL(env('DOCKER_HOST')).pathname });
    const proxied = await engine.start('unix');
    cleanups.push(() => engine.stop());
    const start = engine.hold('POST', /^\/containers\/:id\/start$/);
    const first = await worker({ DOCKER_HOST: proxied });
    const since = Date.now();
    const handle = await client.start(busybox('echo started once > /out/once.txt; echo ran'));
    await start.arrived;
    await first.stop('SIGKILL');
    start.drop(); // the start never reached the engine
    const created = await docker().listContainers({
      all: true,
      filters: { label: [`${LABEL.actionId}=${handle.actionId}`, `${LABEL.host}=${hostName}`] },
    });
    expect(created.map((c) => c.State)).toEqual(['created']);

    await worker();
    const result = await handle.result();
    expect(result).toMatchObject({ status: 'DONE', exitCode: 0, logTail: ['ran'] });
    expect(result.artifacts.map((a) => a.path)).toEqual(['once.txt']);
    expect(await containerStarts(result.runId, since)).toBe(1);
    expect(await engineEvents(docker(), since, [`${LABEL.runId}=${result.runId}`], ['create'])).toHaveLength(1);
  });

  it('while the container runs: DONE, re-attached to the running container, one start, every artifact', async (context) => {
    const cleanups = cleanupsOf(context);
    const { client, worker } = await host('crashrunning', cleanups);
    const first = await worker();
    const since = Date.now();
    // Runs until told (USR1) to finish: the test tells it once the new worker has re-attached.
    const handle = await client.start(
      busybox(
        "trap 'echo finishing; echo late > /out/late.txt; exit 0' USR1; echo early > /out/early.txt; echo started; sleep 600 & wait",
        { timeout: '5m' },
      ),
    );
    await vi.waitFor(async () => expect(await handle.logTail()).toContain('started'), {
      timeout: 30_000,
      interval: 200,
    });
    await first.stop('SIGKILL');
    await worker();
    await retried(client, handle.actionId);
    const [container] = await docker().listContainers({ filters: { label: [`${LABEL.actionId}=${handle.actionId}`] } });
    expect(container?.State).toBe('running'); // it outlived its worker and is watched by the new one
    await docker().getContainer(container!.Id).kill({ signal: 'USR1' });

    const result = await handle.result();
    expect(result).toMatchObject({ status: 'DONE', exitCode: 0, logTail: ['started', 'finishing'] });
    expect(result.artifacts.map((a) => a.path).sort()).toEqual(['early.txt', 'late.txt']);
    expect(await objectText(s3(), result.artifacts.find((a) => a.path === 'late.txt')!.uri)).toBe('late\n');
    expect(await containerStarts(result.runId, since)).toBe(1);
  });

  it('while it uploads /out: DONE, collected again, the whole file, one start', async (context) => {
    const cleanups = cleanupsOf(context);
    const { client, worker } = await host('crashcollect', cleanups);
    const { proxy: storage, address: proxied } = await s3Proxy(cleanups);
    storage.limitUploads(1_000_000); // 8 MB take about 8 s
    const first = await worker({ AWS_ENDPOINT_URL_S3: proxied });
    const since = Date.now();
    const handle = await client.start(busybox('head -c 8000000 /dev/zero | tr "\\0" x > /out/big.txt; echo written'));
    await uploadStarted(storage, '/out/big.txt');
    await first.stop('SIGKILL');
    await worker();
    const result = await handle.result();
    expect(result).toMatchObject({ status: 'DONE', exitCode: 0, logTail: ['written'] });
    const big = result.artifacts.find((a) => a.path === 'big.txt')!;
    expect(await objectDigest(s3(), big.uri)).toEqual({
      sha256: createHash('sha256').update('x'.repeat(8_000_000)).digest('hex'),
      size: 8_000_000,
    });
    expect(await containerStarts(result.runId, since)).toBe(1);
  });

  it('after it stored result.json, before the workflow heard: DONE with the stored result, the containers already gone', async (context) => {
    const cleanups = cleanupsOf(context);
    const { client, worker } = await host('crashstored', cleanups);
    const { proxy: storage, address: proxied } = await s3Proxy(cleanups);
    const storing = storage.hold('PUT', /\/result\.json$/);
    const first = await worker({ AWS_ENDPOINT_URL_S3: proxied });
    const since = Date.now();
    const handle = await client.start(busybox('echo kept > /out/kept.txt; echo ran'));
    await storing.arrived;
    await first.stop('SIGKILL');
    storing.release(); // sent just before the crash: it is stored
    const key = parseS3Uri(`s3://${env('CAISSON_ARTIFACTS_BUCKET')}/actions/${handle.actionId}/result.json`);
    await vi.waitFor(() => s3().send(new HeadObjectCommand({ Bucket: key.bucket, Key: key.key })), {
      timeout: 15_000,
      interval: 100,
    });
    const stored = JSON.parse(await objectText(s3(), `s3://${key.bucket}/${key.key}`)) as {
      finishedAt: string;
      runId: string;
    };
    // The worker removes a finished run's containers (and their disks) right after storing its result.
    const disks = new HostDisks(env('CAISSON_DISKS_DIR'));
    for (const c of await docker().listContainers({
      all: true,
      filters: { label: [`${LABEL.actionId}=${handle.actionId}`] },
    })) {
      await removeContainer(docker(), disks, c);
    }

    const second = await worker();
    const result = await handle.result();
    expect(result).toMatchObject({
      status: 'DONE',
      exitCode: 0,
      logTail: ['ran'],
      runId: stored.runId,
      finishedAt: stored.finishedAt,
    });
    // The retry held nothing once it found the stored result: the worker's drain has nothing to wait for.
    const stopping = Date.now();
    await second.stop('SIGTERM');
    expect(Date.now() - stopping).toBeLessThan(15_000);
    expect(result.artifacts.map((a) => a.path)).toEqual(['kept.txt']);
    expect(await containerStarts(result.runId, since)).toBe(1);
  });
});
