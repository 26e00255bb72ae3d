// A whole job's deadline on the real stack: it covers waiting for a host as well as the run; when
// it passes the action ends FAILED with reason "deadline", and what /out holds is collected.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ActionsClient } from '../../client/index.js';
import { busybox, expectNoLeftovers, keepHistory, workerOfItsOwn } from '../support/actions.js';
import { containerStarts, objectText, s3 } from '../support/env.js';

const cleanups: (() => Promise<unknown>)[] = [];
let client: ActionsClient;
let host: string;

beforeAll(async () => {
  ({ client, host } = await workerOfItsOwn('deadline', { CAISSON_CAPACITY: '1' }, cleanups));
});
afterEach(async () => {
  await expectNoLeftovers(host);
});
afterAll(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe('deadline', () => {
  it('passing while the action runs stops it and collects /out: FAILED, reason deadline', async () => {
    const started = Date.now();
    const result = await (
      await client.start(
        busybox('trap "exit 143" TERM; echo partial > /out/partial.txt; sleep 120 & wait', {
          deadline: '4s',
          timeout: '10m',
        }),
      )
    ).result();
    expect(result).toMatchObject({ status: 'FAILED', reason: 'deadline', exitCode: 143 });
    expect(result.message).toBe('its deadline (4s) passed; the container was stopped and its output collected');
    expect(Date.now() - started).toBeLessThan(30_000);
    expect(await objectText(s3(), result.artifacts.find((a) => a.path === 'partial.txt')!.uri)).toBe('partial\n');
    // result.json says the same as the workflow.
    expect(JSON.parse(await objectText(s3(), result.resultUri!))).toMatchObject({
      status: 'FAILED',
      reason: 'deadline',
    });
    keepHistory('deadline', result);
  });

  it('passing while the action waits for a host ends it before any container starts', async () => {
    const since = Date.now();
    const blocker = await client.start(busybox('trap "exit 143" TERM; sleep 120 & wait', { timeout: '10m' }));
    await expect.poll(async () => (await blocker.status()).phase, { timeout: 15_000, interval: 100 }).toBe('RUNNING');
    const waiting = await (await client.start(busybox('echo never', { deadline: '3s' }))).result();
    expect(waiting).toMatchObject({ status: 'FAILED', reason: 'deadline', exitCode: null });
    expect(waiting.host).toBeUndefined();
    expect(waiting.message).toBe('its deadline (3s) passed before it ran');
    expect(await containerStarts(waiting.runId, since)).toBe(0);
    keepHistory('deadline-while-pending', waiting);
    await blocker.cancel();
    expect((await blocker.result()).status).toBe('CANCELED');
  });

  it('covers every attempt: retries stop when it passes', async () => {
    const result = await (
      await client.start(
        busybox('echo try $ACTION_ATTEMPT >> /out/tries.txt; sleep 1; exit 3', {
          deadline: '5s',
          retry: { attempts: 20, onExitCodes: [3] },
        }),
      )
    ).result();
    expect(result).toMatchObject({ status: 'FAILED', reason: 'deadline' });
    expect(result.attempts).toBeGreaterThan(1);
    expect(result.attempts).toBeLessThan(20);
  });
});
