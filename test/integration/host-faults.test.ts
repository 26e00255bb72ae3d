// The host side under faults it must absorb: an engine that answers 5xx at create or start (retried,
// never turned into exit 125), disks a crash left behind (reconcile removes them), and what an
// action asks of S3 (an empty /out asks nothing). Faults are injected and requests counted by a
// proxy in front of the real engine and the real MinIO.
import { randomUUID } from 'node:crypto';
import { readFileSync, utimesSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { HostDisks } from '../../activities/disks/host-disk.js';
import { CountingProxy } from '../../harness/counting-proxy.js';
import { spawnWorker } from '../../harness/worker-process.js';
import { busybox, disksLeft, expectNoLeftovers, workerBehindS3Proxy, workerOfItsOwn } from '../support/actions.js';
import { containerStarts, env } from '../support/env.js';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const workerWith = (name: string, extra: Record<string, string>) => workerOfItsOwn(name, extra, cleanups);

describe('an engine that answers 5xx', () => {
  it('retries a failed create and a failed start: the action runs once and is DONE', async () => {
    const proxy = new CountingProxy({ socketPath: new URL(env('DOCKER_HOST')).pathname });
    const engine = await proxy.start('unix');
    cleanups.push(() => proxy.stop());
    const { client, host } = await workerWith('engine5xx', { DOCKER_HOST: engine });
    cleanups.push(() => expectNoLeftovers(host));
    proxy.fail('POST', /^\/containers\/create$/, 1, 500);
    proxy.fail('POST', /^\/containers\/:id\/start$/, 1, 503);
    const since = Date.now();
    const result = await (await client.start(busybox('echo ran'))).result();
    expect(result).toMatchObject({ status: 'DONE', exitCode: 0, logTail: ['ran'] });
    expect(proxy.count('POST', /^\/containers\/create$/)).toBe(2); // the failed one, then the real one
    expect(proxy.count('POST', /^\/containers\/:id\/start$/)).toBe(2);
    expect(await containerStarts(result.runId, since)).toBe(1);
  });
});

describe('what an action asks of S3', () => {
  it('stores nothing for an empty /out, and one object per file otherwise', async () => {
    const { client, proxy } = await workerBehindS3Proxy('s3calls', cleanups);
    const empty = await (await client.start(busybox('echo nothing to keep'))).result();
    expect(empty.status).toBe('DONE');
    expect(proxy.requests.filter((r) => r.includes('/out/'))).toEqual([]);
    // The logs and result.json are stored all the same.
    expect(
      proxy.requests.filter((r) => /\/logs\/std(out|err)\.log$|\/result\.json$/.test(r)).length,
    ).toBeGreaterThanOrEqual(3);

    proxy.reset();
    const one = await (await client.start(busybox('echo kept > /out/one.txt'))).result();
    expect(one.artifacts.map((a) => a.path)).toEqual(['one.txt']);
    expect(proxy.requests.filter((r) => r.includes('/out/'))).toEqual([
      `PUT /${env('CAISSON_ARTIFACTS_BUCKET')}/actions/${one.actionId}/out/one.txt`,
    ]);
  });
});

describe('disks a crash left behind', () => {
  it("are removed by reconcile at start, past their grace period, and only this host's", async () => {
    const disks = new HostDisks(env('CAISSON_DISKS_DIR'));
    const host = `orphans-${process.pid}`;
    const stale = `caisson-${randomUUID()}-1-${host}`;
    const fresh = `caisson-${randomUUID()}-1-${host}`;
    const otherHost = `caisson-${randomUUID()}-1-elsewhere-${process.pid}`;
    for (const name of [stale, fresh, otherHost]) {
      await disks.prepare(name);
      await disks.mount(name, 16 << 20);
      cleanups.push(() => disks.remove(name));
    }
    const hourAgo = new Date(Date.now() - 3_600_000);
    for (const name of [stale, otherHost]) utimesSync(join(env('CAISSON_DISKS_DIR'), name), hourAgo, hourAgo);

    const worker = spawnWorker('orphans', { CAISSON_TASK_QUEUE: `orphans-${randomUUID()}`, CAISSON_HOST: host });
    cleanups.push(() => worker.stop('SIGTERM'));
    await worker.ready;
    const line = await vi.waitFor(
      () => {
        const found = readFileSync(worker.logFile, 'utf8')
          .split('\n')
          .filter((l) => l.includes('reconciled containers'));
        expect(found).toHaveLength(1);
        return JSON.parse(found[0]!) as { disksRemoved: string[] };
      },
      { timeout: 30_000, interval: 200 },
    );
    expect(line.disksRemoved).toEqual([stale]);
    expect(disksLeft(host)).toEqual([
      `mount ${disks.paths(fresh).root}`,
      `folder ${fresh}`,
      `loop ${join(env('CAISSON_DISKS_DIR'), fresh, 'disk.img')}`,
    ]);
    expect(await disks.exists(otherHost)).toBe(true);
  });
});
