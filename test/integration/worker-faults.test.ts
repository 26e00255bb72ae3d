// Faults on the worker's side, each with workers of its own on a task queue of its own (crashes at
// each step: worker-crashes.test.ts).
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it, onTestFinished, vi } from 'vitest';
import { LABEL } from '../../activities/container/labels.js';
import { busybox, connectClient } from '../support/actions.js';
import { docker, env } from '../support/env.js';
import { spawnWorker, type WorkerProcess } from '../../harness/worker-process.js';

const workers: WorkerProcess[] = [];
afterEach(async () => {
  await Promise.all(workers.splice(0).map((w) => w.stop('SIGTERM')));
});

function worker(name: string, taskQueue: string, extra: Record<string, string> = {}): WorkerProcess {
  const w = spawnWorker(name, {
    CAISSON_TASK_QUEUE: taskQueue,
    CAISSON_HOST: `${name}-host`,
    CAISSON_ALLOWED_IMAGES: '*',
    ...extra,
  });
  workers.push(w);
  return w;
}

describe('a worker without registry credentials', () => {
  it('fails the pull as unauthorized, without retrying, and says where credentials go', async () => {
    const taskQueue = `nocreds-${randomUUID()}`;
    const emptyConfig = mkdtempSync(join(tmpdir(), 'caisson-empty-docker-config-'));
    onTestFinished(() => rmSync(emptyConfig, { recursive: true, force: true }));
    const w = worker('nocreds', taskQueue, { DOCKER_CONFIG: emptyConfig });
    await w.ready;
    const client = await connectClient(taskQueue);
    try {
      const result = await (await client.start({ image: env('TEST_IMAGE_BUSYBOX') })).result();
      expect(result).toMatchObject({ status: 'FAILED', reason: 'image-unauthorized', exitCode: null });
      expect(result.message).toContain('DOCKER_CONFIG');
      // One try of the host activity: the refusal is final, never retried.
      const history = await client.client.workflow.getHandle(result.actionId).fetchHistory();
      const executes = history.events!.filter(
        (e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'execute',
      );
      expect(executes).toHaveLength(1);
      const started = history.events!.find(
        (e) => String(e.activityTaskStartedEventAttributes?.scheduledEventId) === String(executes[0]!.eventId),
      );
      expect(started?.activityTaskStartedEventAttributes?.attempt).toBe(1);
    } finally {
      await client.close();
    }
  });
});

describe('a worker starting on a host with leftovers', () => {
  it('removes containers of finished runs and leaves those of live runs alone', async () => {
    const taskQueue = `reconcile-${randomUUID()}`;
    const host = `reconcile-${process.pid}`;
    const first = worker('reconcile', taskQueue, { CAISSON_HOST: host });
    await first.ready;
    const client = await connectClient(taskQueue);
    const created: { remove(options: object): Promise<unknown> }[] = [];
    try {
      const finished = await (await client.start(busybox('true'))).result();
      await first.stop('SIGTERM');
      const live = await client.start(busybox('echo live'), { actionId: `live-${randomUUID()}` });
      const liveRunId = (await client.client.workflow.getHandle(live.actionId).describe()).runId;
      const leftover = (actionId: string, runId: string) =>
        docker().createContainer({
          Image: env('TEST_IMAGE_BUSYBOX'),
          Cmd: ['sleep', '300'],
          Labels: { [LABEL.actionId]: actionId, [LABEL.runId]: runId, [LABEL.attempt]: '9', [LABEL.host]: host },
          HostConfig: { NetworkMode: 'none' },
        });
      const stale = await leftover(finished.actionId, finished.runId);
      const alive = await leftover(live.actionId, liveRunId);
      created.push(stale, alive);
      await Promise.all([stale.start(), alive.start()]);

      const second = worker('reconcile-again', taskQueue, { CAISSON_HOST: host });
      await second.ready;
      const line = await vi.waitFor(
        () => {
          const found = readFileSync(second.logFile, 'utf8')
            .split('\n')
            .filter((l) => l.includes('reconciled containers'));
          expect(found).toHaveLength(1);
          return JSON.parse(found[0]!) as { removed: unknown[]; kept: unknown[] };
        },
        { timeout: 30_000, interval: 200 },
      );
      expect(line.removed).toEqual([
        { container: expect.any(String), runId: finished.runId, why: 'its run is completed' },
      ]);
      await expect(stale.inspect()).rejects.toMatchObject({ statusCode: 404 });
      expect(line.kept).toHaveLength(1);
      // The live run finishes on its own and its clean-up removes every container of the run.
      expect((await live.result()).status).toBe('DONE');
      await vi.waitFor(() => expect(alive.inspect()).rejects.toMatchObject({ statusCode: 404 }), {
        timeout: 15_000,
        interval: 100,
      });
    } finally {
      // Whatever failed above, leave no container behind for the tests that follow.
      await Promise.all(created.map((c) => c.remove({ force: true }).catch(() => {})));
      await client.close();
    }
  });
});
