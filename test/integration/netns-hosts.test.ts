// Hosts closer to machines than two sockets: two network namespaces, each with its own engine and
// worker, reaching Temporal, MinIO and the registry over veth links (harness/netns-host.ts). The
// link of the host running an action is cut: the action is placed again on the other host and ends
// DONE there; when the link comes back, the cut-off host removes the container it was left with.
import { randomUUID } from 'node:crypto';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { LABEL } from '../../activities/container/labels.js';
import { startNetnsHost, type NetnsHost } from '../../harness/netns-host.js';
import { busybox, connectClient } from '../support/actions.js';
import { objectText, s3 } from '../support/env.js';

const hosts: NetnsHost[] = [];
afterAll(async () => {
  for (const h of hosts.splice(0)) await h.stop();
}, 120_000);

describe('hosts in network namespaces', () => {
  it('an action whose host is cut off the network is placed again on the other host; the cut-off host cleans up when it is back', async () => {
    const taskQueue = `netns-${randomUUID()}`;
    const env = { CAISSON_TASK_QUEUE: taskQueue, CAISSON_CAPACITY: '2', CAISSON_RECONCILE_SECONDS: '5' };
    hosts.push(
      ...(await Promise.all([
        startNetnsHost(1, `ns-a-${process.pid}`, env),
        startNetnsHost(2, `ns-b-${process.pid}`, env),
      ])),
    );
    const client = await connectClient(taskQueue);
    try {
      const handle = await client.start(
        busybox('echo "placement $ACTION_ATTEMPT"; sleep 8; echo finished > /out/done.txt', { timeout: '2m' }),
        {
          fleet: { hostTimeoutSeconds: 5 },
        },
      );
      await vi.waitFor(async () => expect((await handle.status()).phase).toBe('RUNNING'), {
        timeout: 30_000,
        interval: 100,
      });
      const first = (await handle.status()).host!;
      const victim = hosts.find((h) => h.name === first)!;
      const survivor = hosts.find((h) => h.name !== first)!;
      await victim.cut();

      const result = await handle.result();
      expect(result).toMatchObject({ status: 'DONE', host: survivor.name });
      expect(result.timings.filter((t) => t.step === 'place')).toHaveLength(2);
      expect((await objectText(s3(), result.artifacts.find((a) => a.path === 'done.txt')!.uri)).trim()).toBe(
        'finished',
      );

      // Back on the network, the cut-off host's reconcile removes what the action left there.
      await victim.heal();
      await vi.waitFor(
        async () => {
          const left = await victim.engine.engine.listContainers({
            all: true,
            filters: { label: [`${LABEL.actionId}=${handle.actionId}`] },
          });
          expect(left).toEqual([]);
        },
        { timeout: 90_000, interval: 1_000 },
      );
    } finally {
      await client.close();
    }
  }, 240_000);
});
