// The container's own filesystem on the real engine: what it writes outside /out and /tmp_disk
// counts against resources.tmpDisk. This engine's overlay2 sits on ext4 (no XFS project quotas),
// so the engine cannot bound the layer: the worker measures it (SizeRw) and ends the action
// `disk-full`, and the engine's disk is as before once the run is removed. Under the policy's
// readOnlyRootfs that filesystem is read-only and /tmp a tmpfs counted as memory.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ActionsClient } from '../../client/index.js';
import type { ActionResult } from '../../spec/result.js';
import { busybox, expectNoLeftovers, workerOfItsOwn } from '../support/actions.js';
import { containerStarts, docker } from '../support/env.js';

const Mi = 2 ** 20;
const dir = mkdtempSync(join(tmpdir(), 'caisson-rootfs-test-'));
const cleanups: (() => Promise<unknown>)[] = [];
let client: ActionsClient;
let host: string;
let readOnly: { client: ActionsClient; host: string };

beforeAll(async () => {
  ({ client, host } = await workerOfItsOwn('rootfs', {}, cleanups));
  const policyFile = join(dir, 'read-only.json');
  writeFileSync(policyFile, JSON.stringify({ readOnlyRootfs: true, defaults: { memory: '64Mi' } }));
  readOnly = await workerOfItsOwn('rootfs-ro', { CAISSON_POLICY_FILE: policyFile }, cleanups);
});
afterEach(async () => {
  await expectNoLeftovers(host);
  await expectNoLeftovers(readOnly.host);
});
afterAll(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  rmSync(dir, { recursive: true, force: true });
});

/** Bytes the engine holds for image layers and containers' writable layers, as `docker system df` says. */
async function engineBytes(): Promise<number> {
  const df = (await docker().df()) as { LayersSize?: number; Containers?: { SizeRw?: number }[] };
  return (df.LayersSize ?? 0) + (df.Containers ?? []).reduce((sum, c) => sum + (c.SizeRw ?? 0), 0);
}

/** How long the run step took: creating, starting and running the container, until it ended. */
const runMs = (result: ActionResult) => result.timings.find((t) => t.step === 'run')!.ms;

describe('writes outside /out and /tmp_disk, with a budget (tmpDisk) of 64Mi', () => {
  it("dd of 2 GiB into /root: FAILED disk-full within 10 s, and the engine's disk is as before", async () => {
    const before = await engineBytes();
    const result = await (
      await client.start(
        busybox('mkdir -p /root && dd if=/dev/zero of=/root/fill bs=1M count=2048', { resources: { tmpDisk: '64Mi' } }),
      )
    ).result();
    expect(result).toMatchObject({ status: 'FAILED', reason: 'disk-full' });
    expect(result.message).toMatch(
      /^wrote more than its disk budget outside \/out and \/tmp_disk \(\d+Mi written, the budget is 64Mi\)/,
    );
    expect(runMs(result)).toBeLessThan(10_000);
    console.log(`dd of 2 GiB: ${result.message}; run step ${runMs(result)} ms`);
    await expectNoLeftovers(host);
    // Other work on this engine may come and go meanwhile: 2 GiB left behind could not hide in this.
    expect(await engineBytes()).toBeLessThan(before + 128 * Mi);
  });

  it('a writer that goes on (and ignores SIGTERM, as a shell of pid 1 does) is stopped, then killed, within 10 s', async () => {
    const before = await engineBytes();
    const writer =
      'mkdir -p /root; i=0; while true; do dd if=/dev/zero of=/root/f$i bs=1M count=16 2>/dev/null; i=$((i+1)); sleep 0.1; done';
    const result = await (await client.start(busybox(writer, { resources: { tmpDisk: '64Mi' } }))).result();
    expect(result).toMatchObject({ status: 'FAILED', reason: 'disk-full', exitCode: 137 });
    expect(runMs(result)).toBeLessThan(10_000);
    console.log(`steady writer: ${result.message}; run step ${runMs(result)} ms`);
    await expectNoLeftovers(host);
    expect(await engineBytes()).toBeLessThan(before + 128 * Mi);
  });

  it('within the budget, and /tmp_disk beyond it (its own disk): DONE', async () => {
    const script =
      'mkdir -p /root && dd if=/dev/zero of=/root/small bs=1M count=16 2>/dev/null && dd if=/dev/zero of=/tmp_disk/big bs=1M count=256 2>/dev/null && echo wrote';
    const result = await (
      await client.start(busybox(script, { resources: { tmpDisk: '64Mi', outDisk: '512Mi' } }))
    ).result();
    expect(result).toMatchObject({ status: 'DONE', reason: 'exit', logTail: ['wrote'] });
  });
});

describe("under the policy's readOnlyRootfs", () => {
  it('the container cannot write its own filesystem; /tmp (a tmpfs as large as its memory), /out and /tmp_disk it can', async () => {
    const script = [
      'mkdir /root 2>/dev/null && echo root-written || echo root-read-only',
      'echo x 2>/dev/null > /etc/probe && echo etc-written || echo etc-read-only',
      'echo x > /tmp/probe && echo tmp-written',
      'echo x > /tmp_disk/probe && echo tmp_disk-written',
      'echo x > /out/probe && echo out-written',
      'echo "tmp-kib $(df -k /tmp | tail -1 | awk \'{print $2}\')"',
    ].join('; ');
    const result = await (await readOnly.client.start(busybox(script))).result();
    expect(result).toMatchObject({ status: 'DONE', reason: 'exit' });
    expect(result.logTail).toEqual([
      'root-read-only',
      'etc-read-only',
      'tmp-written',
      'tmp_disk-written',
      'out-written',
      `tmp-kib ${(64 * Mi) / 1024}`,
    ]);
  });

  it("a spec's files are refused before any container (the engine would write them into that filesystem)", async () => {
    const since = Date.now();
    const result = await (
      await readOnly.client.start(busybox('true', { files: [{ path: '/etc/app.conf', content: 'x=1' }] }))
    ).result();
    expect(result).toMatchObject({ status: 'FAILED', reason: 'policy', exitCode: null });
    expect(result.message).toContain(
      "files: this host's containers have a read-only filesystem (policy readOnlyRootfs)",
    );
    expect(await containerStarts(result.runId, since)).toBe(0);
  });
});
