// Placement by what actions ask and what hosts have, on real workers: cpu/memory fit and no-fit,
// GPUs given out exclusively by device id (an engine with the NVIDIA driver's hook faked, so the
// device request reaches real containers), labels required and preferred, and hosts drained by the
// operator's CLI or by SIGTERM.
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { ActionsClient } from '../../client/index.js';
import { LABEL } from '../../activities/container/labels.js';
import { FleetRegistry, type HostRecord } from '../../common/storage/fleet-registry.js';
import { startExtraDockerd, type ExtraDockerd } from '../../harness/extra-dockerd.js';
import { spawnWorker, type WorkerProcess } from '../../harness/worker-process.js';
import { busybox, connectClient, expectNoLeftovers } from '../support/actions.js';
import { engineEvents, mostAtOnce } from '../support/engine-events.js';
import { docker, env, s3 } from '../support/env.js';

const CLI = fileURLToPath(new URL('../../build/cli/main.js', import.meta.url));
const started: { worker: WorkerProcess; host: string }[] = [];
const clients: ActionsClient[] = [];
let gpuEngine: ExtraDockerd;

beforeAll(async () => {
  gpuEngine = await startExtraDockerd({ name: 'gpu', fakeNvidiaHook: true, readyTimeoutMs: 30_000 });
}, 60_000);
afterEach(async () => {
  for (const c of clients.splice(0)) await c.close();
  const workers = started.splice(0);
  for (const { host } of workers) await expectNoLeftovers(host);
  await Promise.all(workers.map((w) => w.worker.stop('SIGKILL')));
});
afterAll(async () => {
  await gpuEngine?.stop();
});

function host(
  name: string,
  taskQueue: string,
  extra: Record<string, string> = {},
): { worker: WorkerProcess; host: string } {
  const host = `${name}-${process.pid}`;
  const worker = spawnWorker(name, {
    CAISSON_TASK_QUEUE: taskQueue,
    CAISSON_HOST: host,
    CAISSON_CAPACITY: '4',
    ...extra,
  });
  const entry = { worker, host };
  started.push(entry);
  return entry;
}

async function client(taskQueue: string): Promise<ActionsClient> {
  const c = await connectClient(taskQueue);
  clients.push(c);
  return c;
}

function cli(args: string[], taskQueue: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) =>
    execFile(
      process.execPath,
      [CLI, ...args],
      { env: { ...process.env, CAISSON_TASK_QUEUE: taskQueue }, timeout: 60_000 },
      (error, stdout, stderr) =>
        resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    ),
  );
}

describe('resources', () => {
  it('an action bigger than every host ends no-host-fits at once, naming what each host lacks', async () => {
    const taskQueue = `fit-${randomUUID()}`;
    const small = host('small', taskQueue, { CAISSON_HOST_CPU: '2', CAISSON_HOST_MEMORY: '1Gi' });
    await small.worker.ready;
    const c = await client(taskQueue);
    const since = Date.now();
    const result = await (await c.start(busybox('true', { resources: { memory: '2Gi', cpu: 4 } }))).result();
    expect(result).toMatchObject({ status: 'FAILED', reason: 'no-host-fits', exitCode: null });
    expect(result.message).toContain(`${small.host}: 4 cpu (it has 2), 2Gi memory (it has 1Gi)`);
    expect(Date.now() - since).toBeLessThan(15_000);
  });

  it('one that fits a busy host waits, saying for what, and runs when the memory is free', async () => {
    const taskQueue = `busy-${randomUUID()}`;
    const h = host('busy', taskQueue, { CAISSON_HOST_MEMORY: '1Gi' });
    await h.worker.ready;
    const c = await client(taskQueue);
    const since = Date.now();
    // Two of 600Mi on a host of 1Gi (and four slots): never both at once.
    const first = await c.start(busybox('sleep 3', { resources: { memory: '600Mi' } }));
    await vi.waitFor(async () => expect((await first.status()).phase).toBe('RUNNING'), {
      timeout: 20_000,
      interval: 100,
    });
    const second = await c.start(busybox('true', { resources: { memory: '600Mi' } }));
    await vi.waitFor(
      async () => expect((await second.status()).waitingFor).toBe('a host with free capacity for 600Mi memory'),
      { timeout: 10_000, interval: 100 },
    );
    expect((await Promise.all([first.result(), second.result()])).map((r) => r.status)).toEqual(['DONE', 'DONE']);
    expect(mostAtOnce(await engineEvents(docker(), since, [`${LABEL.host}=${h.host}`]))).toBe(1);
  });
});

describe('GPUs', () => {
  it('are given by device id, never the same one to two running actions, and the ids are in the result', async () => {
    const taskQueue = `gpu-${randomUUID()}`;
    const g = host('gpu', taskQueue, {
      DOCKER_HOST: gpuEngine.socketHost,
      CAISSON_GPUS: 'fake0,fake1',
      CAISSON_DISKS_DIR: 'off',
    });
    await g.worker.ready;
    const c = await client(taskQueue);
    const since = Date.now();
    // Three at once on two GPUs: the third waits for a free one.
    const handles = await Promise.all(
      [1, 2, 3].map(() => c.start(busybox('echo "sees $NVIDIA_VISIBLE_DEVICES"; sleep 2', { resources: { gpus: 1 } }))),
    );
    const results = await Promise.all(handles.map((h) => h.result()));
    for (const r of results) {
      expect(r.status).toBe('DONE');
      expect(r.gpus).toHaveLength(1);
      // What the container saw is what the engine was asked for: the id the host gave it.
      expect(r.logTail).toEqual([`sees ${r.gpus![0]}`]);
    }
    expect(new Set(results.map((r) => r.gpus![0]))).toEqual(new Set(['fake0', 'fake1']));
    // In the engine's own order of starts and exits: two at once at most, never sharing a device.
    const events = await engineEvents(gpuEngine.engine, since, [`${LABEL.host}=${g.host}`]);
    expect(mostAtOnce(events)).toBe(2);
    const holding = new Map<string, string[]>();
    for (const e of events) {
      if (e.action === 'die') holding.delete(e.id);
      if (e.action !== 'start') continue;
      const gpus = (JSON.parse(e.labels[LABEL.held]!) as { gpus: string[] }).gpus;
      for (const others of holding.values()) expect(others.filter((id) => gpus.includes(id))).toEqual([]);
      holding.set(e.id, gpus);
    }
    expect(events.filter((e) => e.action === 'start')).toHaveLength(3);

    const tooMany = await (await c.start(busybox('true', { resources: { gpus: 3 } }))).result();
    expect(tooMany).toMatchObject({ status: 'FAILED', reason: 'no-host-fits' });
    expect(tooMany.message).toContain('3 GPUs (it has 2)');
  });
});

describe('spread and bin-pack', () => {
  /** Four long actions started one after another on two hosts of three slots: where each landed. */
  async function fourInARow(mode: 'spread' | 'binpack'): Promise<{ hosts: string[]; a: string; b: string }> {
    const taskQueue = `${mode}-${randomUUID()}`;
    const a = host(`${mode}-a`, taskQueue, { CAISSON_PLACEMENT: mode, CAISSON_CAPACITY: '3' });
    const b = host(`${mode}-b`, taskQueue, { CAISSON_PLACEMENT: mode, CAISSON_CAPACITY: '3' });
    await Promise.all([a.worker.ready, b.worker.ready]);
    const c = await client(taskQueue);
    const hosts: string[] = [];
    const handles = [];
    for (let i = 0; i < 4; i++) {
      // Long enough to be still running when cancelled however slowly the four are placed (a
      // loaded machine took over 6 s); a short stop grace, so that the cancels end quickly.
      const handle = await c.start(busybox('sleep 50'), { fleet: { stopGraceSeconds: 1 } });
      handles.push(handle);
      // Placed (the next one is offered knowing where this one went).
      await vi.waitFor(async () => expect((await handle.status()).host).toBeTruthy(), {
        timeout: 20_000,
        interval: 50,
      });
      hosts.push((await handle.status()).host!);
    }
    for (const h of handles) await h.cancel();
    for (const h of handles) expect((await h.result()).status).toBe('CANCELED');
    return { hosts, a: a.host, b: b.host };
  }

  it('spread: consecutive actions go to the emptier host', async () => {
    const { hosts, a, b } = await fourInARow('spread');
    expect(hosts).toEqual([a, b, a, b]);
  });

  it('bin-pack: consecutive actions fill one host before the other gets any', async () => {
    const { hosts, a, b } = await fourInARow('binpack');
    expect(hosts).toEqual([a, a, a, b]);
  });
});

describe('labels', () => {
  it('a required label no host carries ends no-host-fits after the fleet host timeout; one a host carries runs there', async () => {
    const taskQueue = `labels-${randomUUID()}`;
    const a = host('zone-a', taskQueue, { CAISSON_HOST_LABELS: 'zone=a,disk=nvme' });
    await a.worker.ready;
    const c = await client(taskQueue);
    const since = Date.now();
    const missing = await (
      await c.start(busybox('true', { placement: { require: { zone: 'b' } } }), { fleet: { hostTimeoutSeconds: 5 } })
    ).result();
    expect(missing).toMatchObject({ status: 'FAILED', reason: 'no-host-fits' });
    expect(missing.message).toContain(`${a.host}: label zone=b (it has zone=a)`);
    expect(Date.now() - since).toBeGreaterThanOrEqual(5_000);
    expect(Date.now() - since).toBeLessThan(30_000);
    const found = await (
      await c.start(busybox('true', { placement: { require: { zone: 'a', disk: 'nvme' } } }))
    ).result();
    expect(found).toMatchObject({ status: 'DONE', host: a.host });
  });

  it('a preferred label sends actions to the host carrying it while it is up', async () => {
    const taskQueue = `prefer-${randomUUID()}`;
    const plain = host('plain', taskQueue);
    const fast = host('fast', taskQueue, { CAISSON_HOST_LABELS: 'disk=nvme' });
    await Promise.all([plain.worker.ready, fast.worker.ready]);
    const c = await client(taskQueue);
    const results = await Promise.all(
      [1, 2, 3].map(async () => (await c.start(busybox('true', { placement: { prefer: { disk: 'nvme' } } }))).result()),
    );
    expect(results.map((r) => r.host)).toEqual([fast.host, fast.host, fast.host]);
  });
});

describe('drain', () => {
  it('caisson host drain stops new placements on the host, host list shows it, undrain lets the action run', async () => {
    const taskQueue = `drain-${randomUUID()}`;
    const h = host('drain', taskQueue, { CAISSON_HOST_LABELS: 'zone=a' });
    await h.worker.ready;
    const c = await client(taskQueue);
    expect(await cli(['host', 'drain', h.host, '--reason', 'kernel upgrade'], taskQueue)).toMatchObject({ code: 0 });
    const registry = new FleetRegistry(s3(), env('CAISSON_ARTIFACTS_BUCKET'), taskQueue);
    // The host reads the marker within its report interval and says it is drained.
    await vi.waitFor(
      async () =>
        expect((await registry.hosts()).find((r) => r.host === h.host)?.drained).toBe(
          'by the operator: kernel upgrade',
        ),
      {
        timeout: 15_000,
        interval: 200,
      },
    );
    const handle = await c.start(busybox('echo ran'));
    const listed = await cli(['host', 'list', '--json'], taskQueue);
    expect(listed.code).toBe(0);
    const rows = JSON.parse(listed.stdout) as HostRecord[];
    expect(rows).toEqual([
      expect.objectContaining({
        host: h.host,
        drained: 'by the operator: kernel upgrade',
        slots: 4,
        totals: expect.objectContaining({ labels: { zone: 'a' } }),
      }),
    ]);
    const text = await cli(['host', 'list'], taskQueue);
    expect(text.stdout).toMatch(new RegExp(`${h.host}\\s.*drained`));
    expect((await handle.status()).phase).toBe('PENDING');
    const undrainedAt = Date.now();
    expect(await cli(['host', 'undrain', h.host], taskQueue)).toMatchObject({ code: 0 });
    expect(await handle.result()).toMatchObject({ status: 'DONE', host: h.host });
    // The history says when the host took the placement: only once it was undrained, however long
    // the action had waited before.
    const events = (await c.client.workflow.getHandle(handle.actionId).fetchHistory()).events!;
    const place = events.find((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'place')!;
    const taken = events.find(
      (e) => String(e.activityTaskStartedEventAttributes?.scheduledEventId) === String(place.eventId),
    )!;
    const takenAt = Number(taken.eventTime!.seconds) * 1000 + Math.floor((taken.eventTime!.nanos ?? 0) / 1e6);
    expect(takenAt).toBeGreaterThanOrEqual(undrainedAt);
  });

  it('SIGTERM drains the worker: it finishes what runs, takes nothing new, then exits; another host takes the rest', async () => {
    const taskQueue = `sigterm-${randomUUID()}`;
    const first = host('stopping', taskQueue);
    await first.worker.ready;
    const c = await client(taskQueue);
    const running = await c.start(busybox('sleep 4; echo finished'));
    await vi.waitFor(async () => expect((await running.status()).phase).toBe('RUNNING'), {
      timeout: 20_000,
      interval: 100,
    });
    const exited = new Promise<number>((resolve) => first.worker.process.once('exit', () => resolve(Date.now())));
    first.worker.process.kill('SIGTERM');
    const registry = new FleetRegistry(s3(), env('CAISSON_ARTIFACTS_BUCKET'), taskQueue);
    await vi.waitFor(async () => expect((await registry.hosts())[0]?.drained).toMatch(/the worker is stopping/), {
      timeout: 10_000,
      interval: 100,
    });
    const later = await c.start(busybox('echo later'));
    const done = await running.result();
    expect(done).toMatchObject({ status: 'DONE', host: first.host, logTail: ['finished'] });
    const exitedAt = await exited;
    expect(exitedAt).toBeGreaterThanOrEqual(Date.parse(done.finishedAt));
    // The worker said goodbye: the fleet no longer counts it.
    expect((await registry.hosts()).find((r) => r.host === first.host)?.stopped).toBe(true);
    const second = host('taker', taskQueue);
    await second.worker.ready;
    expect(await later.result()).toMatchObject({ status: 'DONE', host: second.host });
  });
});
