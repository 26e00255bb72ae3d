// Hosts as a fleet: capacity is never exceeded, and an action leaves a host that went silent.
import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { LABEL } from '../../activities/container/labels.js';
import { busybox, connectClient, expectNoLeftovers, keepHistory } from '../support/actions.js';
import { engineEvents, mostAtOnce } from '../support/engine-events.js';
import { docker } from '../support/env.js';
import { spawnWorker, type WorkerProcess } from '../../harness/worker-process.js';

const workers: { process: WorkerProcess; host: string }[] = [];
afterEach(async () => {
  const stopped = workers.splice(0);
  for (const { host } of stopped) await expectNoLeftovers(host);
  await Promise.all(stopped.map((w) => w.process.stop('SIGTERM')));
});

function worker(host: string, taskQueue: string, capacity: number): WorkerProcess {
  const w = spawnWorker(host, {
    CAISSON_TASK_QUEUE: taskQueue,
    CAISSON_HOST: host,
    CAISSON_CAPACITY: String(capacity),
  });
  workers.push({ process: w, host });
  return w;
}

describe('host capacity', () => {
  it('never runs more actions at once than the capacity, and says what a queued action waits for', async () => {
    const taskQueue = `cap-${randomUUID()}`;
    const host = `cap-host-${process.pid}`;
    await worker(host, taskQueue, 1).ready;
    const client = await connectClient(taskQueue);
    try {
      const since = Date.now();
      const handles = await Promise.all([1, 2, 3].map(() => client.start(busybox('sleep 2'))));
      // While one runs, the others say they wait for a host with free capacity.
      await vi.waitFor(
        async () => {
          const statuses = await Promise.all(handles.map((h) => h.status()));
          expect(statuses.map((s) => s.waitingFor)).toContain('a host with free capacity');
        },
        { timeout: 20_000, interval: 100 },
      );
      expect((await Promise.all(handles.map((h) => h.result()))).map((r) => r.status)).toEqual([
        'DONE',
        'DONE',
        'DONE',
      ]);
      // Every start and exit on this host, as the engine recorded them, in its order.
      const events = await engineEvents(docker(), since, [`${LABEL.host}=${host}`]);
      expect(events.filter((e) => e.action === 'start')).toHaveLength(3);
      expect(mostAtOnce(events)).toBe(1);
    } finally {
      await client.close();
    }
  });
});

describe('a host that goes silent mid-run', () => {
  it('loses the action to another host after the bounded wait', async () => {
    const taskQueue = `fleet-${randomUUID()}`;
    const silent = `silent-${process.pid}`;
    const first = worker(silent, taskQueue, 2);
    await first.ready;
    const client = await connectClient(taskQueue);
    try {
      const handle = await client.start(
        busybox('echo "on $HOSTNAME"; echo started; sleep 6; echo finished > /out/done.txt'),
        {
          fleet: { hostTimeoutSeconds: 5 },
        },
      );
      await vi.waitFor(async () => expect(await handle.logTail()).toContain('started'), {
        timeout: 30_000,
        interval: 200,
      });
      await first.stop('SIGKILL');
      const second = worker(`spare-${process.pid}`, taskQueue, 2);
      await second.ready;
      const result = await handle.result();
      expect(result).toMatchObject({ status: 'DONE', host: `spare-${process.pid}` });
      expect(result.artifacts.map((a) => a.path)).toEqual(['done.txt']);
      expect((await handle.status()).placements).toBe(2);
      expect(result.timings.filter((t) => t.step === 'place')).toHaveLength(2);
      keepHistory('host-lost', handle);
    } finally {
      await client.close();
    }
  });
});
