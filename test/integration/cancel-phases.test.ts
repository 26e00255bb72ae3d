// A cancel in each phase of an action: while it waits for a host, while its image is pulled, and
// while its /out is uploaded (while it runs: actions.test.ts, cancellation). Each ends CANCELED
// within its bound, with the container started at most once and nothing left behind.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { startExtraDockerd } from '../../harness/extra-dockerd.js';
import { LABEL } from '../../activities/container/labels.js';
import {
  busybox,
  expectNoLeftovers,
  keepHistory,
  s3Proxy,
  uploadStarted,
  useSuiteWorker,
  workerOfItsOwn,
} from '../support/actions.js';
import { engineEvents } from '../support/engine-events.js';
import { containerStarts } from '../support/env.js';
import { slowRegistry } from '../support/slow-registry.js';

const suite = useSuiteWorker();
const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

// Bound of each cancel: the action has ended 20 s after it.
const ENDS_WITHIN_MS = 20_000;

describe('a cancel', () => {
  it('while the action waits for a host: CANCELED, no host, nothing started', async () => {
    const since = Date.now();
    // Labels no host carries: it waits for one (the fleet's host timeout) until the cancel.
    const handle = await suite
      .client()
      .start(busybox('echo never', { placement: { require: { zone: `nowhere-${process.pid}` } } }));
    await vi.waitFor(async () => expect((await handle.status()).phase).toBe('PENDING'), {
      timeout: 15_000,
      interval: 100,
    });
    const canceledAt = Date.now();
    await handle.cancel();
    const result = await handle.result();
    expect(Date.now() - canceledAt).toBeLessThan(ENDS_WITHIN_MS);
    expect(result).toMatchObject({ status: 'CANCELED', reason: 'canceled', exitCode: null });
    expect(result.host).toBeUndefined();
    expect(await containerStarts(result.runId, since)).toBe(0);
    keepHistory('canceled-while-pending', result);
  });

  it('while the image is pulled: CANCELED, no container started', async () => {
    // An engine of its own, so that the image's layers are fetched (slowly) through the proxy.
    const dockerd = await startExtraDockerd({ name: 'cancelpull' });
    cleanups.push(() => dockerd.stop());
    const registry = await slowRegistry(100_000, cleanups);
    const { client, host } = await workerOfItsOwn(
      'cancelpull',
      {
        DOCKER_HOST: dockerd.socketHost,
        DOCKER_CONFIG: registry.dockerConfig,
        CAISSON_ALLOWED_IMAGES: registry.allowed,
      },
      cleanups,
    );
    const since = Date.now();
    const handle = await client.start({ image: registry.image, command: ['echo', 'never'] });
    await registry.pulling();
    const canceledAt = Date.now();
    await handle.cancel();
    const result = await handle.result();
    expect(Date.now() - canceledAt).toBeLessThan(ENDS_WITHIN_MS);
    expect(result).toMatchObject({ status: 'CANCELED', reason: 'canceled', host });
    expect(await engineEvents(dockerd.engine, since, [`${LABEL.runId}=${result.runId}`], ['start'])).toEqual([]);
    await vi.waitFor(async () => expect(await dockerd.engine.listContainers({ all: true })).toEqual([]), {
      timeout: 15_000,
      interval: 200,
    });
    await expectNoLeftovers(host);
    keepHistory('canceled-while-pulling', result);
  });

  it('while /out is uploaded: CANCELED with the exit code, one container start', async () => {
    const { proxy: storage, address } = await s3Proxy(cleanups);
    storage.limitUploads(1_000_000); // 8 MB take about 8 s
    const { client, host } = await workerOfItsOwn('cancelcollect', { AWS_ENDPOINT_URL_S3: address }, cleanups);
    const since = Date.now();
    const handle = await client.start(busybox('head -c 8000000 /dev/zero > /out/big.bin; echo written'));
    await uploadStarted(storage, '/out/big.bin');
    const canceledAt = Date.now();
    await handle.cancel();
    const result = await handle.result();
    expect(Date.now() - canceledAt).toBeLessThan(ENDS_WITHIN_MS);
    expect(result).toMatchObject({ status: 'CANCELED', reason: 'canceled', exitCode: 0, host });
    expect(await containerStarts(result.runId, since)).toBe(1);
    await expectNoLeftovers(host);
    keepHistory('canceled-while-collecting', result);
  });
});
