// The host's image cache: a tag is pulled once per pull window (concurrent runs share the pull), a
// digest on the host is never pulled again, and pullPolicy is honoured. Pulls are counted from the
// engine's own events.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ActionsClient } from '../../client/index.js';
import { spawnWorker, type WorkerProcess } from '../../harness/worker-process.js';
import { pullReference, parseImageRef } from '../../spec/image.js';
import { busybox, connectClient, expectNoLeftovers } from '../support/actions.js';
import { engineEvents } from '../support/engine-events.js';
import { docker, env } from '../support/env.js';

const taskQueue = `images-${randomUUID()}`;
const host = `images-${process.pid}`;
let worker: WorkerProcess;
let client: ActionsClient;
beforeAll(async () => {
  worker = spawnWorker('images', {
    CAISSON_TASK_QUEUE: taskQueue,
    CAISSON_HOST: host,
    CAISSON_CAPACITY: '4',
    CAISSON_PULL_WINDOW: '600',
  });
  await worker.ready;
  client = await connectClient(taskQueue);
});
afterAll(async () => {
  await expectNoLeftovers(host);
  await client?.close();
  await worker?.stop('SIGTERM');
});

const image = () => env('TEST_IMAGE_BUSYBOX');
const pullsSince = async (since: number, reference: string) =>
  (await engineEvents(docker(), since, [], ['pull'], 'image')).filter((e) => e.id === reference).length;

describe('the image cache', () => {
  it('pulls a tag once for concurrent runs and again not within the pull window', async () => {
    const since = Date.now();
    const results = await Promise.all([1, 2, 3].map(async () => (await client.start(busybox('true'))).result()));
    expect(results.map((r) => r.status)).toEqual(['DONE', 'DONE', 'DONE']);
    expect((await (await client.start(busybox('true'))).result()).status).toBe('DONE');
    expect(await pullsSince(since, pullReference(parseImageRef(image())!))).toBe(1);
  });

  it('pulls every time with pullPolicy always, and not at all with if-not-present or a digest on the host', async () => {
    const tag = pullReference(parseImageRef(image())!);
    let since = Date.now();
    const always = await (await client.start(busybox('true', { pullPolicy: 'always' }))).result();
    expect(always.status).toBe('DONE');
    expect(await pullsSince(since, tag)).toBe(1);

    since = Date.now();
    expect((await (await client.start(busybox('true', { pullPolicy: 'if-not-present' }))).result()).status).toBe(
      'DONE',
    );
    const byDigest = `${image().replace(/:[^:/]+$/, '')}@${always.imageDigest}`;
    const digestRun = await (await client.start({ ...busybox('true'), image: byDigest })).result();
    expect(digestRun).toMatchObject({ status: 'DONE', imageDigest: always.imageDigest });
    expect(await pullsSince(since, tag)).toBe(0);
    expect(
      (await engineEvents(docker(), since, [], ['pull'], 'image')).filter((e) => e.id.includes('@sha256:')),
    ).toEqual([]);
  });

  it('pulls again, on the next try, a tag the host lost within the pull window', async () => {
    const tag = pullReference(parseImageRef(image())!);
    // Pulled (or known) within the window: the worker trusts the host's copy without asking.
    expect((await (await client.start(busybox('true'))).result()).status).toBe('DONE');
    // An operator removes it behind the worker's back.
    await docker().getImage(image()).remove({ force: true });
    const since = Date.now();
    const again = await (await client.start(busybox('true'))).result();
    expect(again.status, again.message).toBe('DONE');
    expect(await pullsSince(since, tag)).toBe(1);
  });

  it('runs only what the host has with pullPolicy never, and says so when it lacks the image', async () => {
    const since = Date.now();
    const missing = `${env('TEST_REGISTRY')}/caisson/busybox:never-pulled-${randomUUID().slice(0, 8)}`;
    const result = await (await client.start(busybox('true', { image: missing, pullPolicy: 'never' }))).result();
    expect(result).toMatchObject({ status: 'FAILED', reason: 'image-not-found' });
    expect(result.message).toContain('pullPolicy is "never"');
    expect((await engineEvents(docker(), since, [], ['pull'], 'image')).length).toBe(0);
  });
});
