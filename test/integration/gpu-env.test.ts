// GPUs and an image that asks for all of them: on an engine with the NVIDIA driver's hook faked
// (device requests reach real containers), an image whose ENV says NVIDIA_VISIBLE_DEVICES=all
// sees only what the host decided: the one GPU the run was given, or "void" when it asked for
// none. Read from /proc/1/environ, the environment exactly as the runtime handed it over (every
// entry, duplicates included), which is what NVIDIA's hook reads.
import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { ActionsClient } from '../../client/index.js';
import { LABEL } from '../../activities/container/labels.js';
import { startExtraDockerd, type ExtraDockerd } from '../../harness/extra-dockerd.js';
import { spawnWorker, type WorkerProcess } from '../../harness/worker-process.js';
import { busybox, connectClient } from '../support/actions.js';
import { docker, env } from '../support/env.js';

let gpuEngine: ExtraDockerd;
let image: string;
const started: WorkerProcess[] = [];
const clients: ActionsClient[] = [];

/** busybox with `ENV NVIDIA_VISIBLE_DEVICES=all`, as many CUDA images have, pushed to the test registry. */
async function pushImageAskingForAll(): Promise<string> {
  const engine = docker();
  const repo = `${env('TEST_REGISTRY')}/caisson/gpu-env-all`;
  const container = await engine.createContainer({ Image: env('TEST_IMAGE_BUSYBOX'), Cmd: ['true'] });
  try {
    await container.commit({ repo, tag: '1', changes: ['ENV NVIDIA_VISIBLE_DEVICES=all'] });
  } finally {
    await container.remove();
  }
  const stream = await engine.getImage(`${repo}:1`).push({
    authconfig: {
      username: env('TEST_REGISTRY_USERNAME'),
      password: env('TEST_REGISTRY_PASSWORD'),
      serveraddress: env('TEST_REGISTRY'),
    },
  });
  const events = await new Promise<{ error?: string }[]>((resolve, reject) =>
    engine.modem.followProgress(stream, (err: Error | null, out: unknown[]) =>
      err ? reject(err) : resolve(out as never),
    ),
  );
  const failed = events.find((e) => e.error);
  if (failed) throw new Error(`push ${repo}: ${failed.error}`);
  return `${repo}:1`;
}

beforeAll(async () => {
  [gpuEngine, image] = await Promise.all([
    startExtraDockerd({ name: 'gpu-env', fakeNvidiaHook: true, readyTimeoutMs: 30_000 }),
    pushImageAskingForAll(),
  ]);
}, 90_000);
afterEach(async () => {
  for (const c of clients.splice(0)) await c.close();
  await Promise.all(started.splice(0).map((w) => w.stop('SIGKILL')));
});
afterAll(async () => {
  await gpuEngine?.stop();
});

/** The NVIDIA_VISIBLE_DEVICES entries of the container's first process, as the runtime gave them. */
const PRINT_GPU_ENV = "tr '\\0' '\\n' < /proc/1/environ | grep '^NVIDIA_VISIBLE_DEVICES='";

describe('NVIDIA_VISIBLE_DEVICES', () => {
  it("is always the host's: the GPU given, or void; never the image's all", async () => {
    const taskQueue = `gpu-env-${randomUUID()}`;
    const host = `gpu-env-${process.pid}`;
    const worker = spawnWorker('gpu-env', {
      CAISSON_TASK_QUEUE: taskQueue,
      CAISSON_HOST: host,
      CAISSON_CAPACITY: '2',
      DOCKER_HOST: gpuEngine.socketHost,
      CAISSON_GPUS: 'fake0,fake1',
      CAISSON_DISKS_DIR: 'off',
    });
    started.push(worker);
    await worker.ready;
    const client = await connectClient(taskQueue);
    clients.push(client);

    const [withGpu, without] = await Promise.all([
      client.start(busybox(PRINT_GPU_ENV, { image, resources: { gpus: 1 } })).then((h) => h.result()),
      client.start(busybox(PRINT_GPU_ENV, { image })).then((h) => h.result()),
    ]);
    expect(withGpu.status, withGpu.message).toBe('DONE');
    expect(withGpu.gpus).toHaveLength(1);
    // The engine's driver adds its own entry for the device request: the same value as the host's.
    expect(withGpu.logTail.length).toBeGreaterThan(0);
    expect(new Set(withGpu.logTail)).toEqual(new Set([`NVIDIA_VISIBLE_DEVICES=${withGpu.gpus![0]}`]));
    expect(without.status, without.message).toBe('DONE');
    expect(without.gpus ?? []).toEqual([]);
    expect(without.logTail).toEqual(['NVIDIA_VISIBLE_DEVICES=void']);

    // Nothing of the runs is left on the GPU engine.
    await vi.waitFor(
      async () =>
        expect(
          await gpuEngine.engine.listContainers({ all: true, filters: { label: [`${LABEL.host}=${host}`] } }),
        ).toEqual([]),
      { timeout: 15_000, interval: 200 },
    );
  });
});
