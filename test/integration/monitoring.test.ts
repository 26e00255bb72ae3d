// What operators see without Docker access: metrics, search attributes, queries and metadata.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ActionsClient } from '../../client/index.js';
import { freePort } from '../../harness/free-port.js';
import { spawnWorker, type WorkerProcess } from '../../harness/worker-process.js';
import { busybox, connectClient } from '../support/actions.js';
import { sample, scrapeMetrics } from '../support/metrics.js';

// A worker of this file's own, on its own queue and metrics port: the deltas below count only the
// actions started here, whatever else runs against the same server.
const taskQueue = `monitoring-${randomUUID()}`;
const host = `monitoring-${process.pid}`;
let metricsPort: number;
let worker: WorkerProcess;
let client: ActionsClient;
beforeAll(async () => {
  metricsPort = await freePort();
  worker = spawnWorker('monitoring', {
    CAISSON_TASK_QUEUE: taskQueue,
    CAISSON_HOST: host,
    CAISSON_CAPACITY: '4',
    CAISSON_METRICS_PORT: String(metricsPort),
  });
  await worker.ready;
  client = await connectClient(taskQueue);
});
afterAll(async () => {
  await client?.close();
  await worker?.stop('SIGTERM');
});

const scrape = () => scrapeMetrics(metricsPort);

describe('metrics', () => {
  it('serves SDK and product metrics, and the counters move as actions finish', async () => {
    const before = await scrape();
    const done = await (await client.start(busybox('echo hello > /out/h.txt'))).result();
    const failed = await (await client.start(busybox('exit 3'))).result();
    expect([done.status, failed.status]).toEqual(['DONE', 'FAILED']);
    const after = await scrape();
    expect(after).toMatch(/^temporal_\w+/m);
    const finished = (text: string, status: string, reason: string) =>
      sample(text, 'caisson_actions_finished', { status, reason }) +
      sample(text, 'caisson_actions_finished_total', { status, reason });
    expect(finished(after, 'DONE', 'exit') - finished(before, 'DONE', 'exit')).toBe(1);
    expect(finished(after, 'FAILED', 'exit') - finished(before, 'FAILED', 'exit')).toBe(1);
    const uploaded = (text: string) =>
      sample(text, 'caisson_bytes_uploaded', {}) + sample(text, 'caisson_bytes_uploaded_total', {});
    expect(uploaded(after) - uploaded(before)).toBeGreaterThanOrEqual(6);
    expect(sample(after, 'caisson_host_capacity', { host })).toBe(4);
    // One observation per step of each of the two actions: the histogram's count moves by 2 for "run".
    const runSteps = (text: string) =>
      sample(text, 'caisson_step_duration_count', { step: 'run' }) +
      sample(text, 'caisson_step_duration_seconds_count', { step: 'run' });
    expect(runSteps(after) - runSteps(before)).toBe(2);
  });
});

describe('search attributes and queries', () => {
  it('filter by status and image, and the status query tells phase, host and steps', async () => {
    const handle = await client.start(busybox('exit 7', { source: 'monitoring-test' }));
    const result = await handle.result();
    expect(result.exitCode).toBe(7);
    const status = await handle.status();
    expect(status).toMatchObject({ phase: 'FAILED', host, exitCode: 7, reason: 'exit' });
    expect(status.timings.map((t) => t.step)).toContain('run');
    // Visibility is eventually consistent: the list shows the action once the server has indexed it.
    await expect
      .poll(
        async () => {
          const found = await client.list({
            status: 'FAILED',
            image: process.env.TEST_IMAGE_BUSYBOX,
            since: new Date(Date.now() - 600_000),
          });
          return found.find((a) => a.actionId === handle.actionId);
        },
        { timeout: 15_000, interval: 300 },
      )
      .toMatchObject({ status: 'FAILED', host, exitCode: 7 });
    const description = await client.client.workflow.getHandle(handle.actionId).describe();
    expect(description.typedSearchAttributes.get({ name: 'ActionExitCode', type: 'INT' } as never)).toBe(7);
    expect(description.typedSearchAttributes.get({ name: 'ActionSource', type: 'KEYWORD' } as never)).toBe(
      'monitoring-test',
    );
    expect(await description.staticSummary()).toContain('exit 7');
  });

  it('list by labels finds exactly the actions carrying them, and status shows labels and annotations', async () => {
    const run = randomUUID().slice(0, 8);
    const vision = await client.start(
      busybox('true', { labels: { run, team: 'vision' }, annotations: { note: 'first try, with "quotes"' } }),
    );
    const audio = await client.start(busybox('true', { labels: { run, team: 'audio' } }));
    await Promise.all([vision.result(), audio.result()]);
    // Visibility is eventually consistent: poll until the server has indexed both.
    const ids = async (labels: Record<string, string>) => (await client.list({ labels })).map((a) => a.actionId).sort();
    await expect
      .poll(() => ids({ run }), { timeout: 15_000, interval: 300 })
      .toEqual([vision.actionId, audio.actionId].sort());
    expect(await ids({ run, team: 'vision' })).toEqual([vision.actionId]);
    expect((await client.list({ labels: { run, team: 'audio' } }))[0]).toMatchObject({
      actionId: audio.actionId,
      labels: { run, team: 'audio' },
    });
    expect(await vision.status()).toMatchObject({
      phase: 'DONE',
      labels: { run, team: 'vision' },
      annotations: { note: 'first try, with "quotes"' },
    });
    expect((await audio.status()).annotations).toBeUndefined();
  });

  it('refuses a bad label by its field, at start and in a list filter', async () => {
    await expect(client.start(busybox('true', { labels: { team: 'has space' } }))).rejects.toThrow(
      /labels\.team: a label value is 1-63 letters/,
    );
    await expect(client.list({ labels: { 'bad name': 'x' } })).rejects.toThrow(/labels\.bad name: a label name is/);
  });
});
