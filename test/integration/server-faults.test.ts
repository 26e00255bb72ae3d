// The servers every action relies on, gone while one runs: the Temporal server killed (SIGKILL)
// while the container runs and while /out is uploaded, MinIO stopped for 20 s during the upload of
// a 200 MiB /out, and the registry down during a pull. Each is brought back as an operator would
// (scripts/dev-env up), and the action ends DONE with every byte and exactly one container start
// (bound: 60 s after the server is back), or, for a registry that stays down, FAILED with reason
// registry-unreachable (bound: CAISSON_REGISTRY_WAIT_SECONDS).
import { createHash } from 'node:crypto';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { LABEL } from '../../activities/container/labels.js';
import { busybox, expectNoLeftovers, s3Proxy, uploadStarted, workerOfItsOwn } from '../support/actions.js';
import type { ActionHandle, ActionResult } from '../../client/index.js';
import { bringBack, takeDown } from '../support/dev-services.js';
import { containerStarts, docker, env, objectDigest, s3 } from '../support/env.js';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  // Whatever failed, the servers the next tests need are up again.
  await bringBack();
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const BACK_WITHIN_MS = 60_000;
// Runs until told (USR1) to finish, writing a file on the way out.
const UNTIL_TOLD = "trap 'echo finishing; echo late > /out/late.txt; exit 0' USR1; echo started; sleep 600 & wait";

/** Brings the servers back, then the action's result: DONE with `logTail`, within the bound. */
async function doneOnceBack(handle: ActionHandle, logTail: string[]): Promise<ActionResult> {
  await bringBack();
  const backAt = Date.now();
  const result = await handle.result();
  expect(Date.now() - backAt).toBeLessThan(BACK_WITHIN_MS);
  expect(result).toMatchObject({ status: 'DONE', exitCode: 0, logTail });
  return result;
}

async function tell(actionId: string): Promise<void> {
  const [container] = await docker().listContainers({ filters: { label: [`${LABEL.actionId}=${actionId}`] } });
  expect(container?.State).toBe('running');
  await docker().getContainer(container!.Id).kill({ signal: 'USR1' });
}

describe('the Temporal server killed', () => {
  it('while the container runs: DONE once it is back, one container start', async () => {
    const { client, host } = await workerOfItsOwn('temporalkill', {}, cleanups);
    cleanups.push(() => expectNoLeftovers(host));
    const since = Date.now();
    const handle = await client.start(busybox(UNTIL_TOLD, { timeout: '5m' }));
    await vi.waitFor(async () => expect(await handle.logTail()).toContain('started'), {
      timeout: 30_000,
      interval: 200,
    });
    await takeDown('temporal', 'SIGKILL');
    await tell(handle.actionId); // the container ends while the server is away
    const result = await doneOnceBack(handle, ['started', 'finishing']);
    expect(result.artifacts.map((a) => a.path)).toEqual(['late.txt']);
    expect(await containerStarts(result.runId, since)).toBe(1);
  });

  it('while /out is uploaded: DONE once it is back, the whole file, one container start', async () => {
    const { proxy: storage, address: proxied } = await s3Proxy(cleanups);
    storage.limitUploads(1_000_000); // 8 MB take about 8 s
    const { client, host } = await workerOfItsOwn('temporalcollect', { AWS_ENDPOINT_URL_S3: proxied }, cleanups);
    cleanups.push(() => expectNoLeftovers(host));
    const since = Date.now();
    const handle = await client.start(busybox('head -c 8000000 /dev/zero | tr "\\0" y > /out/big.txt; echo written'));
    await uploadStarted(storage, '/out/big.txt');
    await takeDown('temporal', 'SIGKILL');
    storage.limitUploads(0);
    const result = await doneOnceBack(handle, ['written']);
    const big = result.artifacts.find((a) => a.path === 'big.txt')!;
    expect(await objectDigest(s3(), big.uri)).toEqual({
      sha256: createHash('sha256').update('y'.repeat(8_000_000)).digest('hex'),
      size: 8_000_000,
    });
    expect(await containerStarts(result.runId, since)).toBe(1);
  });
});

describe('MinIO stopped during the upload of a 200 MiB /out', () => {
  it('and started again 20 s later: DONE, nothing lost, one container start', async () => {
    const { proxy: storage, address: proxied } = await s3Proxy(cleanups);
    storage.limitUploads(20_000_000); // 200 MiB take about 10 s: MinIO goes while it is under way
    const { client, host } = await workerOfItsOwn('miniostop', { AWS_ENDPOINT_URL_S3: proxied }, cleanups);
    cleanups.push(() => expectNoLeftovers(host));
    const since = Date.now();
    const handle = await client.start(
      busybox('head -c 209715200 /dev/zero | tr "\\0" z > /out/big.bin; echo small > /out/small.txt; echo written', {
        resources: { outDisk: '300Mi' },
      }),
    );
    await uploadStarted(storage, '/out/big.bin');
    await takeDown('minio', 'SIGTERM');
    // The outage itself: 20 s without MinIO, as the fault is stated, not a wait for something.
    await new Promise((r) => setTimeout(r, 20_000));
    storage.limitUploads(0);
    const result = await doneOnceBack(handle, ['written']);
    expect(result.artifacts.map((a) => a.path).sort()).toEqual(['big.bin', 'small.txt']);
    const big = result.artifacts.find((a) => a.path === 'big.bin')!;
    const expected = createHash('sha256');
    const block = Buffer.alloc(1 << 20, 'z');
    for (let i = 0; i < 200; i++) expected.update(block);
    expect(await objectDigest(s3(), big.uri)).toEqual({ sha256: expected.digest('hex'), size: 209_715_200 });
    expect(await containerStarts(result.runId, since)).toBe(1);
  }, 240_000);
});

describe('the registry down during a pull', () => {
  it('for good: FAILED with reason registry-unreachable after CAISSON_REGISTRY_WAIT_SECONDS, no container made', async () => {
    const { client, host } = await workerOfItsOwn('registrydown', { CAISSON_REGISTRY_WAIT_SECONDS: '5' }, cleanups);
    await takeDown('registry', 'SIGTERM');
    const started = Date.now();
    // "always": the engine asks the registry even though it has the image.
    const result = await (await client.start(busybox('echo never', { pullPolicy: 'always' }))).result();
    expect(Date.now() - started).toBeLessThan(5_000 + 20_000);
    expect(result).toMatchObject({ status: 'FAILED', reason: 'registry-unreachable', exitCode: null });
    expect(result.message).toContain(
      `the registry ${env('TEST_REGISTRY')} of image ${env('TEST_IMAGE_BUSYBOX')} did not answer for 5 s`,
    );
    expect(await docker().listContainers({ all: true, filters: { label: [`${LABEL.host}=${host}`] } })).toEqual([]);
  });

  it('for a few seconds: tried again until it answers, DONE', async () => {
    const { client, host } = await workerOfItsOwn('registryback', { CAISSON_REGISTRY_WAIT_SECONDS: '60' }, cleanups);
    cleanups.push(() => expectNoLeftovers(host));
    await takeDown('registry', 'SIGTERM');
    const since = Date.now();
    const handle = await client.start(busybox('echo pulled', { pullPolicy: 'always' }));
    // The outage itself: 3 s, as the fault is stated.
    await new Promise((r) => setTimeout(r, 3_000));
    await bringBack();
    const result = await handle.result();
    expect(result).toMatchObject({ status: 'DONE', exitCode: 0, logTail: ['pulled'] });
    expect(await containerStarts(result.runId, since)).toBe(1);
  });
});
