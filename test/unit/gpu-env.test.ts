// GPUs and the container's environment (run-container.ts): NVIDIA_VISIBLE_DEVICES is always the
// host's, last, so an image's ENV (or a request's env) saying "all" never reaches the runtime. The
// integration test on the fake-hook engine (test/integration/gpu-env.test.ts) runs a real image.
import type Docker from 'dockerode';
import { describe, expect, it } from 'vitest';
import { containerEnv, gpuDevices, runContainer, type RunDeps } from '../../activities/container/run-container.js';
import type { ContainerRequest } from '../../activities/types.js';
import { parseActionSpec, type Action } from '../../spec/action.js';

const base = parseActionSpec({ image: 'r.example/cuda:1', command: ['true'] });
function request(
  gpus: Action['resources']['gpus'],
  gpuIds?: string[],
  env: Record<string, string> = {},
): ContainerRequest {
  return {
    actionId: 'a1',
    runId: 'r1',
    attempt: 1,
    stopGraceSeconds: 1,
    gpuIds,
    spec: { ...base, env, resources: { ...base.resources, gpus } },
  };
}
const deps = { artifactsUri: () => 's3://b/actions/a1/' };

describe('gpuDevices', () => {
  it('without GPUs: no device request, and "void"', () => {
    expect(gpuDevices(request(undefined))).toEqual({ visible: 'void' });
    expect(gpuDevices(request(0))).toEqual({ visible: 'void' });
  });

  it('with the ids the host gave: exactly those, in the request and the variable alike', () => {
    expect(gpuDevices(request(2, ['GPU-a', 'GPU-b']))).toEqual({
      request: { Driver: '', Count: 0, DeviceIDs: ['GPU-a', 'GPU-b'], Capabilities: [['gpu']] },
      visible: 'GPU-a,GPU-b',
    });
  });

  it("for runs placed before GPU accounting: what the engine's NVIDIA driver sets for the request", () => {
    expect(gpuDevices(request(2)).visible).toBe('0,1');
    expect(gpuDevices(request(2)).request).toMatchObject({ Count: 2 });
    expect(gpuDevices(request('all')).visible).toBe('all');
    expect(gpuDevices(request('all')).request).toMatchObject({ Count: -1 });
    expect(gpuDevices(request(['3', '5'])).visible).toBe('3,5');
  });
});

describe('containerEnv', () => {
  it("ends with the host's NVIDIA_VISIBLE_DEVICES, over whatever the request's env says", () => {
    const env = containerEnv(deps, request(undefined, undefined, { NVIDIA_VISIBLE_DEVICES: 'all', A: '1' }), {});
    expect(env.NVIDIA_VISIBLE_DEVICES).toBe('void');
    expect(Object.keys(env).at(-1)).toBe('NVIDIA_VISIBLE_DEVICES');
    expect(
      containerEnv(deps, request(1, ['fake1'], { NVIDIA_VISIBLE_DEVICES: 'all' }), {}).NVIDIA_VISIBLE_DEVICES,
    ).toBe('fake1');
    // A secret of that name (the host's secrets folder is not the place to choose GPUs) is overridden too.
    const withSecret = {
      ...request(undefined),
      spec: { ...request(undefined).spec, secrets: ['NVIDIA_VISIBLE_DEVICES'] },
    };
    expect(containerEnv(deps, withSecret, { NVIDIA_VISIBLE_DEVICES: 'all' }).NVIDIA_VISIBLE_DEVICES).toBe('void');
  });

  it('is what the engine is given at create, once, with the device request', async () => {
    let options: Docker.ContainerCreateOptions | undefined;
    const stop = new Error('created');
    const docker = {
      getContainer: () => ({}),
      createContainer: async (o: Docker.ContainerCreateOptions) => {
        options = o;
        throw stop;
      },
    } as unknown as Docker;
    const runDeps = {
      docker,
      host: 'gpu-host',
      owner: { host: 'gpu-host', namespace: 'default', queue: 'q@gpu-host' },
      capacity: { touch: () => {}, heldBy: () => undefined },
      env: {},
      artifactsUri: deps.artifactsUri,
      stopRequested: new Set(),
      engineLost: new Set(),
      engine: { epoch: 0 },
      diskBytes: () => 1 << 30,
    } as unknown as RunDeps;
    const hooks = { heartbeat: () => {}, signal: new AbortController().signal, firstTry: true, secrets: {} };
    for (const [req, visible] of [
      [request(undefined, undefined, { NVIDIA_VISIBLE_DEVICES: 'all' }), 'void'],
      [request(1, ['fake0']), 'fake0'],
    ] as const) {
      await expect(runContainer(runDeps, req, hooks)).rejects.toBe(stop);
      expect(options!.Env!.filter((e) => e.startsWith('NVIDIA_VISIBLE_DEVICES='))).toEqual([
        `NVIDIA_VISIBLE_DEVICES=${visible}`,
      ]);
      expect(options!.HostConfig!.DeviceRequests?.[0]?.DeviceIDs).toEqual(req.gpuIds);
    }
  });
});
