// Hosts as a fleet: capacity is never exceeded, and an action leaves a host that went silent.
import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { LABEL } from '../../activities/labels.js';
import { busybox, connectClient, leftovers } from '../support/actions.js';
import { docker } from '../support/env.js';
import { spawnWorker, type WorkerProcess } from '../../harness/worker-process.js';

const workers: WorkerProcess[] = [];
afterEach(async () => {
  await Promise.all(workers.splice(0).map((w) => w.stop('SIGTERM')));
  expect((await leftovers()).containers).toEqual([]);
});

function worker(host: string, taskQueue: string, capacity: number): WorkerProcess {
  const w = spawnWorker(host, { CAISSON_TASK_QUEUE: taskQueue, CAISSON_HOST: host, CAISSON_CAPACITY: String(capacity) });
  workers.push(w);
  return w;
}

describe('host capacity', () => {
  it('never runs more actions at once than the capacity, and says what a queued action waits for', async () => {
    const taskQueue = `cap-${randomUUID()}`;
    const host = `cap-host-${process.pid}`;
    await worker(host, taskQueue, 1).ready;
    const client = await connectClient(taskQueue);
    try {
      const handles = await Promise.all([1, 2, 3].map(() => client.start(busybox('sleep 2'))));
      let most = 0;
      const waiting = new Set<string>();
      const results = Promise.all(handles.map((h) => h.result()));
      let done = false;
      void results.finally(() => (done = true));
      while (!done) {
        const running = await docker().listContainers({ filters: { label: [`${LABEL.host}=${host}`] } });
        most = Math.max(most, running.length);
        for (const h of handles) {
          const status = await h.status().catch(() => undefined);
          if (status?.phase === 'PENDING' && status.waitingFor) waiting.add(status.waitingFor);
        }
        await new Promise((r) => setTimeout(r, 150));
      }
      expect((await results).map((r) => r.status)).toEqual(['DONE', 'DONE', 'DONE']);
      expect(most).toBe(1);
      expect([...waiting]).toContain('a host with free capacity');
    } finally {
      await client.close();
    }
  });
});

describe('a host that goes silent mid-run', () => {
  it('loses the action to another host after the bounded wait', async () => {
    const taskQueue = `fleet-${randomUUID()}`;
    const first = worker(`silent-${process.pid}`, taskQueue, 2);
    await first.ready;
    const client = await connectClient(taskQueue);
    try {
      const handle = await client.start(busybox('echo "on $HOSTNAME"; sleep 6; echo finished > /out/done.txt'), {
        fleet: { hostTimeoutSeconds: 5 },
      });
      for (let i = 0; i < 150 && (await handle.status()).phase !== 'RUNNING'; i++) await new Promise((r) => setTimeout(r, 200));
      await new Promise((r) => setTimeout(r, 500));
      await first.stop('SIGKILL');
      const second = worker(`spare-${process.pid}`, taskQueue, 2);
      await second.ready;
      const result = await handle.result();
      expect(result).toMatchObject({ status: 'DONE', host: `spare-${process.pid}` });
      expect(result.artifacts.map((a) => a.path)).toEqual(['done.txt']);
      expect((await handle.status()).placements).toBe(2);
      expect(result.timings.filter((t) => t.step === 'place')).toHaveLength(2);
    } finally {
      await client.close();
    }
  });
});
