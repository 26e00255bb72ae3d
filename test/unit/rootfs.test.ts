// The container's own filesystem (run-container.ts): read-only with a /tmp tmpfs under the policy's
// readOnlyRootfs, else sized by the engine where its storage driver can, else measured while it
// runs and stopped (then killed, if it goes on writing) past its budget, ending `disk-full`. The
// integration test (test/integration/rootfs.test.ts) runs it on the real engine.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type Docker from 'dockerode';
import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  ROOTFS_SAMPLE_MS,
  ROOTFS_STOPPING_SAMPLE_MS,
  createSized,
  driverCannotSize,
  engineMaySize,
  nextRootfsSample,
  overBudget,
  refusesStorageOpt,
  rootfsHostConfig,
  rootfsVerdict,
  watchRootfs,
} from '../../activities/container/run-container.js';
import { assembleResult, EndReasonSchema } from '../../spec/result.js';
import { loadPolicy } from '../../worker/policy-file.js';

const Mi = 2 ** 20;

describe('rootfsHostConfig', () => {
  it('readOnlyRootfs: a read-only filesystem and a /tmp tmpfs as large as the memory limit', () => {
    expect(rootfsHostConfig(256 * Mi, { readOnly: true, budget: 64 * Mi, engineSizes: true })).toEqual({
      ReadonlyRootfs: true,
      Tmpfs: { '/tmp': `rw,nosuid,nodev,exec,mode=1777,size=${256 * Mi}` },
    });
  });

  it("the engine's size limit where it may have one, else nothing (the worker measures)", () => {
    expect(rootfsHostConfig(256 * Mi, { budget: 64 * Mi, engineSizes: true })).toEqual({
      StorageOpt: { size: String(64 * Mi) },
    });
    expect(rootfsHostConfig(256 * Mi, { budget: 64 * Mi, engineSizes: false })).toEqual({});
    expect(rootfsHostConfig(256 * Mi, { engineSizes: true })).toEqual({});
  });
});

describe('refusesStorageOpt', () => {
  const refusal = (statusCode: number, message: string) =>
    Object.assign(new Error(`(HTTP code ${statusCode}) server error - ${message}`), { statusCode, json: { message } });

  it("knows the engine's refusals of a size limit", () => {
    expect(
      refusesStorageOpt(
        refusal(500, "--storage-opt is supported only for overlay over xfs with 'pquota' mount option"),
      ),
    ).toBe(true);
    expect(refusesStorageOpt(refusal(400, 'Storage option size is not supported by this driver'))).toBe(true);
    expect(refusesStorageOpt(refusal(500, 'Failed to enable quota for btrfs'))).toBe(true);
    expect(refusesStorageOpt(refusal(500, 'Container size cannot be smaller than 10 GB'))).toBe(true);
  });

  it('and nothing else: other refusals and lost connections are not about the size', () => {
    expect(
      refusesStorageOpt(refusal(400, 'Range of CPUs is from 0.01 to 4.00, as there are only 4 CPUs available')),
    ).toBe(false);
    expect(refusesStorageOpt(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }))).toBe(false);
  });
});

describe('createSized', () => {
  const refused = Object.assign(new Error('refused'), {
    statusCode: 500,
    json: { message: "--storage-opt is supported only for overlay over xfs with 'pquota' mount option" },
  });
  const engine = () => {
    const calls: Docker.ContainerCreateOptions[] = [];
    const docker = {
      info: async () => ({ Driver: 'overlay2', DriverStatus: [['Backing Filesystem', 'xfs']] }),
      createContainer: async (options: Docker.ContainerCreateOptions) => {
        calls.push(options);
        if (options.HostConfig?.StorageOpt) throw refused;
        return { id: 'c1' } as Docker.Container;
      },
    } as unknown as Docker;
    return { docker, calls };
  };

  it('an engine that refuses the size: created without it, once, and not asked again', async () => {
    const { docker, calls } = engine();
    expect(await engineMaySize(docker)).toBe(true);
    const created = await createSized(docker, { name: 'x', HostConfig: { Memory: 1, StorageOpt: { size: '1' } } });
    expect(created).toMatchObject({ sized: false, container: { id: 'c1' } });
    expect(calls.map((c) => c.HostConfig)).toEqual([{ Memory: 1, StorageOpt: { size: '1' } }, { Memory: 1 }]);
    expect(await engineMaySize(docker)).toBe(false);
  });

  it('without a size asked: one create, nothing learnt', async () => {
    const { docker, calls } = engine();
    expect(await createSized(docker, { name: 'x', HostConfig: {} })).toMatchObject({ sized: false });
    expect(calls).toHaveLength(1);
    expect(await engineMaySize(docker)).toBe(true);
  });
});

describe("what docker info tells of the engine's size option", () => {
  it('overlay2 on anything but XFS cannot size a layer; other drivers and XFS are tried', () => {
    expect(
      driverCannotSize({
        Driver: 'overlay2',
        DriverStatus: [
          ['Backing Filesystem', 'extfs'],
          ['Supports d_type', 'true'],
        ],
      }),
    ).toBe(true);
    expect(driverCannotSize({ Driver: 'overlay2', DriverStatus: [['Backing Filesystem', 'xfs']] })).toBe(false);
    expect(driverCannotSize({ Driver: 'btrfs', DriverStatus: [] })).toBe(false);
    expect(driverCannotSize({ Driver: 'overlay2', DriverStatus: null })).toBe(false);
  });

  it('an engine known from docker info never gets a create with the size option', async () => {
    const docker = {
      info: async () => ({ Driver: 'overlay2', DriverStatus: [['Backing Filesystem', 'extfs']] }),
    } as unknown as Docker;
    expect(await engineMaySize(docker)).toBe(false);
  });
});

describe('the verdict of a sample', () => {
  it('over the budget: stop; after the stop, still growing: kill', () => {
    expect(rootfsVerdict(64 * Mi, 64 * Mi)).toBe('ok');
    expect(rootfsVerdict(64 * Mi + 1, 64 * Mi)).toBe('stop');
    expect(rootfsVerdict(900 * Mi, 64 * Mi, 900 * Mi)).toBe('ok');
    expect(rootfsVerdict(901 * Mi, 64 * Mi, 900 * Mi)).toBe('kill');
  });

  it('samples slow down when the engine takes long to measure: at most a tenth of its time', () => {
    expect(nextRootfsSample(20)).toBe(ROOTFS_SAMPLE_MS);
    expect(nextRootfsSample(1000)).toBe(10_000);
    // Once stopped, whether it still writes is looked at sooner.
    expect(nextRootfsSample(20, true)).toBe(ROOTFS_STOPPING_SAMPLE_MS);
    expect(nextRootfsSample(1000, true)).toBe(10_000);
  });

  it('over the budget: stopped for it while running, or over it at the end', () => {
    expect(overBudget(64 * Mi, undefined, 10 * Mi)).toBeUndefined();
    expect(overBudget(64 * Mi, undefined, 2048 * Mi)).toEqual({ bytes: 2048 * Mi, budget: 64 * Mi });
    // Stopped for it, then it deleted files in its grace: still disk-full, at the size it reached.
    expect(overBudget(64 * Mi, 900 * Mi, 1 * Mi)).toEqual({ bytes: 900 * Mi, budget: 64 * Mi });
  });
});

describe('watchRootfs', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  /** A container whose layer grows by `perSample` bytes at each look, and that records what it was told. */
  function growing(perSample: number) {
    let size = 0;
    const told: string[] = [];
    const container = {
      inspect: async (opts: { size?: boolean }) => {
        expect(opts).toEqual({ size: true });
        size += perSample;
        return { SizeRw: size };
      },
      stop: async (opts: { t: number }) => void told.push(`stop ${opts.t}`),
      kill: async () => void told.push('kill'),
    } as unknown as Docker.Container;
    return { container, told };
  }

  it('under the budget: samples every few seconds and tells the container nothing', async () => {
    const { container, told } = growing(Mi);
    const over: { bytes?: number } = {};
    const end = watchRootfs(container, 64 * Mi, 10, over);
    await vi.advanceTimersByTimeAsync(ROOTFS_SAMPLE_MS * 5);
    end();
    expect(told).toEqual([]);
    expect(over.bytes).toBeUndefined();
  });

  it('over it: stopped with the grace; writing on through the grace: killed at the next sample, soon after', async () => {
    const { container, told } = growing(100 * Mi);
    const over: { bytes?: number } = {};
    const end = watchRootfs(container, 64 * Mi, 10, over);
    await vi.advanceTimersByTimeAsync(ROOTFS_SAMPLE_MS);
    expect(told).toEqual(['stop 10']);
    expect(over.bytes).toBe(100 * Mi);
    await vi.advanceTimersByTimeAsync(ROOTFS_STOPPING_SAMPLE_MS);
    expect(told).toEqual(['stop 10', 'kill']);
    expect(over.bytes).toBe(200 * Mi);
    end();
    await vi.advanceTimersByTimeAsync(ROOTFS_SAMPLE_MS * 5);
    expect(told).toHaveLength(2);
  });

  it('one that stops writing once asked keeps its grace', async () => {
    let size = 100 * Mi;
    const told: string[] = [];
    const container = {
      inspect: async () => ({ SizeRw: size }),
      stop: async () => void told.push('stop'),
      kill: async () => void told.push('kill'),
    } as unknown as Docker.Container;
    const end = watchRootfs(container, 64 * Mi, 10, {});
    await vi.advanceTimersByTimeAsync(ROOTFS_SAMPLE_MS * 4);
    size -= Mi; // cleaning up
    await vi.advanceTimersByTimeAsync(ROOTFS_SAMPLE_MS * 2);
    end();
    expect(told).toEqual(['stop']);
  });

  it('an engine that cannot say (the container is gone) is no verdict', async () => {
    const container = {
      inspect: async () => Promise.reject(new Error('no such container')),
    } as unknown as Docker.Container;
    const over: { bytes?: number } = {};
    const end = watchRootfs(container, 64 * Mi, 10, over);
    await vi.advanceTimersByTimeAsync(ROOTFS_SAMPLE_MS * 3);
    end();
    expect(over.bytes).toBeUndefined();
  });
});

describe('the result', () => {
  it('disk-full is a reason, and its message says how much, the budget and what to do', () => {
    expect(EndReasonSchema.options).toContain('disk-full');
    const result = assembleResult({
      actionId: 'a',
      runId: 'r',
      image: 'i',
      timeoutText: '1m',
      attempts: 1,
      outcome: {
        exitCode: 0,
        reason: 'disk-full',
        logTail: [],
        reattached: 0,
        rootfsFull: { bytes: 2048 * Mi + 4096, budget: 64 * Mi },
      },
      canceled: false,
      timings: [],
      startedAt: 't0',
      finishedAt: 't1',
    });
    expect(result).toMatchObject({ status: 'FAILED', reason: 'disk-full', exitCode: 0 });
    expect(result.message).toBe(
      'wrote more than its disk budget outside /out and /tmp_disk (2048Mi written, the budget is 64Mi); write large files to /tmp_disk or /out, or raise resources.tmpDisk',
    );
  });
});

describe('the policy file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'caisson-rootfs-policy-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('takes readOnlyRootfs as a boolean, and refuses anything else', () => {
    const file = (json: unknown) => {
      const path = join(dir, `${Math.random()}.json`);
      writeFileSync(path, JSON.stringify(json));
      return path;
    };
    expect(loadPolicy(file({ readOnlyRootfs: true })).policy.readOnlyRootfs).toBe(true);
    expect(loadPolicy(file({})).policy.readOnlyRootfs).toBeUndefined();
    expect(() => loadPolicy(file({ readOnlyRootfs: 'yes' }))).toThrow(/readOnlyRootfs/);
  });
});
