// A Docker engine restarted under running actions (dockerd stopped and started, as an upgrade does):
// the actions end with reason engine-restarted, not as if the action had failed or run out of
// memory, and a retry policy that names the reason runs the action again.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startExtraDockerd, type ExtraDockerd } from '../../harness/extra-dockerd.js';
import { busybox, expectNoLeftovers, workerOfItsOwn } from '../support/actions.js';
import { env } from '../support/env.js';
import { LABEL } from '../../activities/labels.js';

const cleanups: (() => Promise<unknown>)[] = [];
let dockerd: ExtraDockerd;
beforeAll(async () => {
  dockerd = await startExtraDockerd({ name: 'restart' });
  cleanups.push(() => dockerd.stop());
});
afterAll(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

// Exits at once on SIGTERM, as a well-behaved program does, so the engine's shutdown is quick.
const LONG = "trap 'exit 143' TERM; echo started; sleep 600 & wait";

describe('an engine restarted while actions run', () => {
  it('ends them with reason engine-restarted; a retry naming that reason runs the action again', async () => {
    const { client, host } = await workerOfItsOwn(
      'enginerestart',
      { DOCKER_HOST: dockerd.socketHost, DOCKER_CONFIG: env('DOCKER_CONFIG'), CAISSON_ALLOWED_IMAGES: `${env('TEST_REGISTRY')}/caisson/*` },
      cleanups,
    );
    const plain = await client.start(busybox(LONG, { timeout: '5m' }));
    const retried = await client.start(
      busybox(`if [ "$ACTION_ATTEMPT" = 1 ]; then ${LONG}; else echo again; fi`, {
        timeout: '5m',
        retry: { attempts: 2, onReasons: ['engine-restarted'] },
      }),
    );
    await vi.waitFor(
      async () => {
        const running = await dockerd.engine.listContainers({ filters: { label: [`${LABEL.host}=${host}`], status: ['running'] } });
        expect(running).toHaveLength(2);
      },
      { timeout: 60_000, interval: 200 },
    );
    await dockerd.restart();
    const restartedAt = Date.now();

    const first = await plain.result();
    expect(first).toMatchObject({ status: 'FAILED', reason: 'engine-restarted', exitCode: 143, attempts: 1 });
    expect(first.message).toContain('the container engine stopped while it ran');
    expect(first.message).not.toMatch(/memory/i);
    const second = await retried.result();
    expect(second).toMatchObject({ status: 'DONE', exitCode: 0, attempts: 2, logTail: ['again'] });
    expect(Date.now() - restartedAt).toBeLessThan(90_000);
    await vi.waitFor(async () => expect(await dockerd.engine.listContainers({ all: true })).toEqual([]), { timeout: 15_000, interval: 200 });
    await expectNoLeftovers(host);
  });
});
