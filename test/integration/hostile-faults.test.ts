// Faults and hostile settings on the real stack: each ends in a terminal state with its own reason,
// within a bound, and leaves nothing behind (containers, disks, slots).
import { randomUUID } from 'node:crypto';
import {
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  ListObjectsV2Command,
} from '@aws-sdk/client-s3';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { InvalidSpecError, type ActionsClient } from '../../client/index.js';
import {
  busybox,
  expectNoLeftovers,
  keepHistory,
  useSuiteWorker,
  workerBehindS3Proxy,
  workerOfItsOwn,
} from '../support/actions.js';
import { containerStarts, docker, env, objectText, s3 } from '../support/env.js';
import { engineEvents } from '../support/engine-events.js';
import { LABEL } from '../../activities/container/labels.js';
import { parseImageRef, pullReference } from '../../spec/image.js';
import { WORKFLOW_TYPE } from '../../spec/workflow-api.js';

const cleanups: (() => Promise<unknown>)[] = [];
const suite = useSuiteWorker();
let client: ActionsClient;
beforeAll(() => {
  client = suite.client();
});
// Registered after the suite's check that nothing is left, so it runs before it.
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** Runs `fn` and returns its value with the milliseconds it took. */
async function timed<T>(fn: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const began = Date.now();
  const value = await fn();
  return { value, ms: Date.now() - began };
}

describe('settings the engine refuses', () => {
  it('more CPUs than the host has: no-host-fits at placement, naming the host and what it has', async () => {
    const since = Date.now();
    const handle = await client.start(busybox('true', { resources: { cpu: 64 } }));
    const { value: result, ms } = await timed(() => handle.result());
    expect(result).toMatchObject({ status: 'FAILED', reason: 'no-host-fits', exitCode: null });
    expect(result.message).toMatch(/: 64 cpu \(it has \d+\)/);
    expect(ms).toBeLessThan(20_000);
    expect(await containerStarts(result.runId, since)).toBe(0);
  });

  it("on a host that says it has more CPUs than it has: FAILED at once with the engine's words, no retries, nothing started", async () => {
    const { client: own } = await workerOfItsOwn('manycpu', { CAISSON_HOST_CPU: '128' }, cleanups);
    const since = Date.now();
    const handle = await own.start(busybox('true', { resources: { cpu: 64 } }));
    const { value: result, ms } = await timed(() => handle.result());
    expect(result).toMatchObject({ status: 'FAILED', reason: 'container-refused', attempts: 1 });
    expect(result.message).toMatch(/Range of CPUs is from 0\.01 to \d/);
    expect(result.message).toContain('refused to create the container');
    expect(ms).toBeLessThan(20_000);
    expect(await containerStarts(result.runId, since)).toBe(0);
  });
});

describe('the stop grace a caller passes', () => {
  it('cannot keep a container that ignores SIGTERM alive past its deadline (stopGraceSeconds -1)', async () => {
    const since = Date.now();
    const handle = await client.start(busybox("trap '' TERM; while true; do sleep 1; done", { timeout: '2s' }), {
      fleet: { stopGraceSeconds: -1 },
    });
    const { value: result, ms } = await timed(() => handle.result());
    expect(result).toMatchObject({ status: 'FAILED', reason: 'timeout', exitCode: 137 });
    expect(ms).toBeLessThan(20_000);
    // Timeout 2 s, grace clamped to 0: killed at once, whatever -1 would have meant. The engine's own
    // start and die times tell a zero grace (about 2 s) from the default 10 s (about 12 s).
    const events = await engineEvents(docker(), since, [`${LABEL.runId}=${result.runId}`], ['start', 'die']);
    const at = (action: string) => events.find((e) => e.action === action)!.time / 1e6;
    expect(at('die') - at('start')).toBeGreaterThan(1_500); // the timeout counts from just before the engine's start
    expect(at('die') - at('start')).toBeLessThan(2_000 + 4_000);
  });
});

describe('an artifacts bucket that cannot be written', () => {
  it('that does not exist fails the action before its container starts, naming the bucket', async () => {
    const since = Date.now();
    const bucket = `missing-${randomUUID().slice(0, 8)}`;
    const handle = await client.start(busybox('echo never > /out/x.txt', { artifacts: { bucket } }));
    const { value: result, ms } = await timed(() => handle.result());
    expect(result).toMatchObject({ status: 'FAILED', reason: 'artifacts-unavailable' });
    expect(result.message).toContain(`artifacts bucket "${bucket}" cannot be written (NoSuchBucket`);
    // result.json had nowhere to go either: the result says so rather than failing with a raw error.
    expect(result.message).toContain('result.json could not be stored');
    expect(result.resultUri).toBeUndefined();
    expect(ms).toBeLessThan(20_000);
    expect(await containerStarts(result.runId, since)).toBe(0);
  });

  it('that goes away while the container runs ends the action within seconds, container stopped', async () => {
    const store = s3();
    const bucket = `vanishing-${randomUUID().slice(0, 8)}`;
    await store.send(new CreateBucketCommand({ Bucket: bucket }));
    const handle = await client.start(
      busybox('while true; do echo tick; sleep 0.2; done', { artifacts: { bucket }, timeout: '5m' }),
    );
    // Its live log reaches the bucket: the run is under way.
    await vi.waitFor(
      async () =>
        expect((await store.send(new ListObjectsV2Command({ Bucket: bucket }))).KeyCount ?? 0).toBeGreaterThan(0),
      { timeout: 30_000, interval: 100 },
    );
    await emptyAndDelete(bucket);
    const { value: result, ms } = await timed(() => handle.result());
    expect(result).toMatchObject({ status: 'FAILED', reason: 'artifacts-unavailable' });
    expect(result.message).toContain('NoSuchBucket');
    expect(ms).toBeLessThan(30_000);
  });
});

describe('S3 credentials the server refuses', () => {
  it('end the action before its container starts, with reason artifacts-unavailable', async () => {
    const { client: own, host } = await workerOfItsOwn(
      's3refused',
      { AWS_SECRET_ACCESS_KEY: 'not-the-secret' },
      cleanups,
    );
    cleanups.push(() => expectNoLeftovers(host));
    const since = Date.now();
    const handle = await own.start(busybox('echo never > /out/x.txt'));
    const result = await handle.result();
    expect(result).toMatchObject({ status: 'FAILED', reason: 'artifacts-unavailable' });
    expect(result.message).toMatch(/cannot be written \(SignatureDoesNotMatch/);
    expect(result.message).toContain("give the worker's S3 credentials write access");
    expect(Date.now() - since).toBeLessThan(20_000);
    expect(await containerStarts(result.runId, since)).toBe(0);
  });
});

describe('an S3 outage while collecting', () => {
  it('is waited out: the action ends DONE, its container started once', async () => {
    const { client: own, proxy } = await workerBehindS3Proxy('s3outage', cleanups);
    // More 503s than the S3 client retries on its own: the host activity fails and its retry collects again.
    proxy.fail('PUT', /\/out\/runs\.txt$/, 8, 503);
    const since = Date.now();
    const result = await (await own.start(busybox('echo once >> /out/runs.txt'))).result();
    expect(result.status).toBe('DONE');
    expect(proxy.count('PUT', /\/out\/runs\.txt$/)).toBeGreaterThan(8);
    expect(await objectText(s3(), result.artifacts[0]!.uri)).toBe('once\n');
    expect(await containerStarts(result.runId, since)).toBe(1);
  });
});

describe('containers no worker watches', () => {
  it('are killed past deadline and grace by any worker of their host, and removed once their run is over', async () => {
    const { client: own, host } = await workerOfItsOwn('reaper', { CAISSON_RECONCILE_SECONDS: '1' }, cleanups);
    cleanups.push(() => expectNoLeftovers(host));
    // One action puts the image on the engine.
    expect((await (await own.start(busybox('true'))).result()).status).toBe('DONE');
    // A run that is alive (its workflow waits on a queue no worker serves), whose container's worker is gone…
    const live = await own.client.workflow.start(WORKFLOW_TYPE, {
      taskQueue: `nobody-${randomUUID()}`,
      workflowId: `orphan-${randomUUID()}`,
      args: [{ spec: busybox('sleep 600') }],
    });
    cleanups.push(() => live.terminate().catch(() => {}));
    const since = Date.now();
    const overdue = await orphanContainer(host, live.workflowId, live.firstExecutionRunId, 1000);
    // …and a run that no longer exists.
    const stray = await orphanContainer(host, `gone-${randomUUID()}`, randomUUID(), 600_000);
    await vi.waitFor(
      async () => {
        const left = await docker().listContainers({ all: true, filters: { label: [`${LABEL.host}=${host}`] } });
        const state = new Map(left.map((c) => [c.Names[0]!.slice(1), c.State]));
        expect(state.has(stray.name)).toBe(false); // its run is gone: removed
        expect(state.get(overdue.name)).toBe('exited'); // past deadline and grace: killed, kept while its run lives
      },
      { timeout: 45_000, interval: 200 },
    );
    const [died] = await engineEvents(docker(), since, [`${LABEL.runId}=${live.firstExecutionRunId}`], ['die']);
    const ranMs = died!.time / 1e6 - overdue.startedMs;
    // Deadline 1 s + grace 0 + the 5 s margin its own watcher gets; then at most a pass or two.
    expect(ranMs).toBeGreaterThanOrEqual(6000);
    expect(ranMs).toBeLessThan(30_000);
    await live.terminate();
  });
});

/** A running container labelled as a run's of `host`, started by no worker. */
async function orphanContainer(host: string, actionId: string, runId: string, timeoutMs: number) {
  const name = `caisson-${runId}-1-${host}`;
  const container = await docker().createContainer({
    name,
    Image: pullReference(parseImageRef(env('TEST_IMAGE_BUSYBOX'))!),
    Cmd: ['sleep', '600'],
    Labels: {
      [LABEL.actionId]: actionId,
      [LABEL.runId]: runId,
      [LABEL.attempt]: '1',
      [LABEL.host]: host,
      [LABEL.timeoutMs]: String(timeoutMs),
      [LABEL.stopGrace]: '0',
    },
    HostConfig: { NetworkMode: 'none' },
  });
  await container.start();
  const startedMs = Date.parse((await container.inspect()).State.StartedAt);
  return { name, startedMs };
}

describe('a large spec run many times', () => {
  it('20 attempts with ~1 MiB of env complete, and the history holds the spec about once', async () => {
    const bulk: Record<string, string> = {};
    for (let i = 0; i < 8; i++) bulk[`BIG${i}`] = String(i).repeat(120 << 10);
    const handle = await client.start(
      busybox('echo ${#BIG0} ${#BIG7}; exit 3', { env: bulk, retry: { attempts: 20, onExitCodes: [3] } }),
    );
    const result = await handle.result();
    // Every attempt's container got the whole env, read by the host from the run's history.
    expect(result).toMatchObject({
      status: 'FAILED',
      reason: 'exit',
      exitCode: 3,
      attempts: 20,
      logTail: ['122880 122880'],
    });
    const info = (await client.client.workflow.getHandle(handle.actionId).describe()).raw.workflowExecutionInfo;
    // The start holds ~0.94 MiB of env; 20 copies of it would be ~19 MiB.
    expect(Number(info?.historySizeBytes)).toBeLessThan(2 * 2 ** 20);
    keepHistory('large-spec', result);
  });
});

describe('an upload longer than the heartbeat timeout', () => {
  it('keeps the host activity alive: one try, DONE', async () => {
    const { client: own, proxy } = await workerBehindS3Proxy('slowupload', cleanups);
    // 400 MiB at 16 MiB/s: about 25 s of upload, against a heartbeat timeout of 15 s.
    proxy.limitUploads(16 << 20);
    const handle = await own.start(busybox('truncate -s 400M /out/big.bin'));
    const began = Date.now();
    const result = await handle.result();
    const took = Date.now() - began;
    try {
      expect(result.status).toBe('DONE');
      expect(result.artifacts).toEqual([expect.objectContaining({ path: 'big.bin', size: 400 << 20 })]);
      expect(took).toBeGreaterThan(20_000); // the upload was slow indeed
      const history = await own.client.workflow.getHandle(handle.actionId).fetchHistory();
      const tries = (history.events ?? [])
        .filter((e) => e.activityTaskStartedEventAttributes)
        .map((e) => e.activityTaskStartedEventAttributes!.attempt);
      // place, then execute: each started once (a heartbeat timeout would show as a second try).
      expect(tries).toEqual([1, 1]);
    } finally {
      const uri = new URL(result.artifacts[0]?.uri ?? 's3://none/none');
      await s3()
        .send(new DeleteObjectCommand({ Bucket: uri.host, Key: uri.pathname.slice(1) }))
        .catch(() => {});
    }
  });
});

describe('artifact prefixes S3 would refuse', () => {
  it('are spec errors naming artifacts.prefix', async () => {
    for (const prefix of ['team/./x', 'a//b', 'x/../y', `${'p/'.repeat(300)}`]) {
      const error = await client.start(busybox('true', { artifacts: { prefix } })).catch((e: unknown) => e);
      expect(error, prefix).toBeInstanceOf(InvalidSpecError);
      expect((error as InvalidSpecError).problems.map((p) => p.path)).toEqual(['artifacts.prefix']);
    }
  });
});

async function emptyAndDelete(bucket: string): Promise<void> {
  const store = s3();
  // The worker may put another segment between a listing and the delete: go round until it is gone.
  await vi.waitFor(
    async () => {
      const listed = await store.send(new ListObjectsV2Command({ Bucket: bucket }));
      const keys = (listed.Contents ?? []).map((o) => ({ Key: o.Key! }));
      if (keys.length) await store.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: keys } }));
      await store.send(new DeleteBucketCommand({ Bucket: bucket }));
    },
    { timeout: 10_000, interval: 50 },
  );
}
