// Starting actions against the suite's worker, and checking that nothing is left on the host.
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { execFileSync } from 'node:child_process';
import { afterAll, afterEach, beforeAll, expect, inject, vi } from 'vitest';
import { ActionsClient, type ActionSpecInput } from '../../client/index.js';
import { temporalSettingsFromEnv } from '../../common/connection/temporal-connection.js';
import { spawnWorker } from '../../harness/worker-process.js';
import { CountingProxy } from '../../harness/counting-proxy.js';
import { LABEL } from '../../activities/container/labels.js';
import { docker, env } from './env.js';
import { sample, scrapeMetrics } from './metrics.js';

export async function connectClient(taskQueue = inject('taskQueue')): Promise<ActionsClient> {
  return ActionsClient.connect(temporalSettingsFromEnv(), taskQueue);
}

export function busybox(script: string, extra: Partial<ActionSpecInput> = {}): ActionSpecInput {
  return { image: process.env.TEST_IMAGE_BUSYBOX!, command: ['sh', '-c', script], timeout: '60s', ...extra };
}

/**
 * Containers of ours still on one host's engine (by the host label, so that other hosts' work
 * never counts), and volumes no container uses.
 */
export async function leftovers(
  host: string = inject('workerHost'),
): Promise<{ containers: string[]; volumes: string[] }> {
  const engine = docker();
  const containers = await engine.listContainers({
    all: true,
    filters: { label: [LABEL.actionId, `${LABEL.host}=${host}`] },
  });
  const { Volumes } = await engine.listVolumes({ filters: { dangling: ['true'] } });
  return { containers: containers.map((c) => c.Names[0] ?? c.Id), volumes: (Volumes ?? []).map((v) => v.Name) };
}

/**
 * Waits until the host has none of our containers, disks or (for the suite's worker) taken slots
 * left: a run's containers are removed right after
 * its host activity has returned, so "nothing left" holds a moment after the result, not at once.
 */
export async function expectNoLeftovers(host: string = inject('workerHost'), label?: string): Promise<void> {
  await vi.waitFor(
    async () => {
      const filters = { label: [LABEL.actionId, `${LABEL.host}=${host}`, ...(label ? [label] : [])] };
      const left = await docker().listContainers({ all: true, filters });
      expect(left.map((c) => c.Names[0] ?? c.Id)).toEqual([]);
      if (!label) expect(disksLeft(host)).toEqual([]);
      // The suite's own worker also reports its slots: every one is free again.
      if (host === inject('workerHost'))
        expect(sample(await scrapeMetrics(inject('metricsPort')), 'caisson_host_capacity_in_use', { host })).toBe(0);
    },
    { timeout: 15_000, interval: 100 },
  );
}

/** Mounts, folders and loop devices of containers' own filesystems on one host, as the kernel lists them. */
export function disksLeft(host: string): string[] {
  const dir = process.env.CAISSON_DISKS_DIR;
  if (!dir) return [];
  const ours = (path: string) => path.startsWith(`${dir}/`) && path.includes(`-${host}/`);
  const mounts = readFileSync('/proc/self/mounts', 'utf8')
    .split('\n')
    .map((line) => line.split(' ')[1] ?? '')
    .filter(ours);
  const folders = existsSync(dir) ? readdirSync(dir).filter((name) => name.endsWith(`-${host}`)) : [];
  const loops = readdirSync('/sys/block')
    .filter((name) => name.startsWith('loop'))
    .map((name) => {
      try {
        return readFileSync(`/sys/block/${name}/loop/backing_file`, 'utf8').trim();
      } catch {
        return ''; // not attached
      }
    })
    .filter(ours);
  return [...mounts.map((m) => `mount ${m}`), ...folders.map((f) => `folder ${f}`), ...loops.map((l) => `loop ${l}`)];
}

export const HISTORIES_DIR = fileURLToPath(new URL('../replay/histories', import.meta.url));

/**
 * Keeps the finished action's workflow history as a replay fixture when CAISSON_RECORD_HISTORIES
 * is set (`npm run record-histories`); the unit tier replays every kept history against the
 * current workflow code, so a change that breaks replay of such runs fails CI. One already kept is
 * never overwritten.
 */
export function keepHistory(name: string, run: { actionId: string; runId?: string }): void {
  if (!process.env.CAISSON_RECORD_HISTORIES) return;
  // A history kept once stays: it is the old code's, which later code must keep replaying. (Delete
  // the file to record it again, only together with patched() or a new workflow type.)
  if (existsSync(`${HISTORIES_DIR}/${name}.json`)) return;
  // The CLI's JSON is the format the SDK's replayer reads (and what operators export from a fleet).
  const json = execFileSync(
    env('TEMPORAL_CLI'),
    [
      'workflow',
      'show',
      '--workflow-id',
      run.actionId,
      ...(run.runId ? ['--run-id', run.runId] : []),
      '--output',
      'json',
      '--address',
      env('TEMPORAL_ADDRESS'),
    ],
    { maxBuffer: 64 << 20, encoding: 'utf8' },
  );
  mkdirSync(HISTORIES_DIR, { recursive: true });
  writeFileSync(`${HISTORIES_DIR}/${name}.json`, json);
}

/**
 * A worker with a queue and host of its own (capacity 2 unless `extra` says otherwise), and a client
 * for that queue; both are stopped by the cleanups the caller runs after its test.
 */
export async function workerOfItsOwn(
  name: string,
  extra: Record<string, string>,
  cleanups: (() => Promise<unknown>)[],
) {
  const taskQueue = `${name}-${randomUUID()}`;
  const host = `${name}-${process.pid}`;
  const worker = spawnWorker(name, {
    CAISSON_TASK_QUEUE: taskQueue,
    CAISSON_HOST: host,
    CAISSON_CAPACITY: '2',
    ...extra,
  });
  cleanups.push(() => worker.stop('SIGTERM'));
  await worker.ready;
  const client = await connectClient(taskQueue);
  cleanups.push(() => client.close());
  return { worker, client, host, taskQueue };
}

/**
 * For a test file on the suite's worker: a client connected before its tests and closed after
 * them, and after each test the check that nothing is left on the host. An afterEach the file
 * registers later runs before that check (vitest runs after-hooks last registered first).
 */
export function useSuiteWorker(): { client(): ActionsClient } {
  let client: ActionsClient | undefined;
  beforeAll(async () => {
    client = await connectClient();
  });
  afterAll(async () => {
    await client?.close();
  });
  afterEach(async () => {
    await expectNoLeftovers();
  });
  return {
    client() {
      if (!client) throw new Error('the suite client is connected in beforeAll; use it inside tests or later hooks');
      return client;
    },
  };
}

/** A CountingProxy in front of the real MinIO, stopped by the caller's cleanups; `address` is its endpoint. */
export async function s3Proxy(
  cleanups: (() => Promise<unknown>)[],
): Promise<{ proxy: CountingProxy; address: string }> {
  const endpoint = new URL(env('AWS_ENDPOINT_URL_S3'));
  const proxy = new CountingProxy({ host: endpoint.hostname, port: Number(endpoint.port) });
  const address = await proxy.start('tcp');
  cleanups.push(() => proxy.stop());
  return { proxy, address };
}

/** Resolves once a PUT of a key ending in `suffix` went through the proxy: that upload is under way. */
export function uploadStarted(proxy: CountingProxy, suffix: string): Promise<void> {
  return vi.waitFor(() => expect(proxy.requests.some((r) => r.startsWith('PUT ') && r.endsWith(suffix))).toBe(true), {
    timeout: 60_000,
    interval: 50,
  });
}

/**
 * A worker of its own whose S3 traffic goes through a CountingProxy in front of the real MinIO (to
 * count requests, inject faults or slow the link); the proxy, the worker and the check that the
 * host is left clean all go with the caller's cleanups.
 */
export async function workerBehindS3Proxy(
  name: string,
  cleanups: (() => Promise<unknown>)[],
  extra: Record<string, string> = {},
) {
  const { proxy, address } = await s3Proxy(cleanups);
  const worker = await workerOfItsOwn(name, { ...extra, AWS_ENDPOINT_URL_S3: address }, cleanups);
  cleanups.push(() => expectNoLeftovers(worker.host));
  return { ...worker, proxy };
}
