// What a container is created with: its environment, GPUs, limits, mounts and labels, from the
// request and the worker's settings. Pure: the create phase (create.ts) hands it to the engine.
import { parseImageRef, pullReference } from '../../spec/image.js';
import { INPUTS_DIR } from '../../spec/action.js';
import { boundedStopGrace } from '../../spec/workflow-api.js';
import type { ContainerRequest } from '../types.js';
import type { ContainerDisk } from '../disks/host-disk.js';
import { LABEL, ownerLabels } from './labels.js';
import { ENGINE_LOG_FILES, engineLogFileBytes } from './log-limits.js';
import type { CreateOptions, DeviceRequest, HostConfig } from './engine.js';
import type { RunDeps } from './run-deps.js';
import type { GangAttachment } from '../gang/gang-host.js';
import { replicaEnv } from '../gang/replica-env.js';

/** The variable NVIDIA's runtime hook reads to choose the GPUs a container gets. */
const GPU_ENV = 'NVIDIA_VISIBLE_DEVICES';

/**
 * The engine's device request for the run's GPUs (none without them), and what the container's
 * NVIDIA_VISIBLE_DEVICES must say: exactly what the engine's NVIDIA driver sets for that request,
 * or "void" without one.
 */
export function gpuDevices(req: Pick<ContainerRequest, 'spec' | 'gpuIds'>): {
  request?: DeviceRequest;
  visible: string;
} {
  const gpus = req.spec.resources.gpus;
  if (!gpus) return { visible: 'void' };
  // The ids this host gave the run at placement: no two running actions share a device.
  if (req.gpuIds?.length)
    return {
      request: { Driver: '', Count: 0, DeviceIDs: req.gpuIds, Capabilities: [['gpu']] },
      visible: req.gpuIds.join(','),
    };
  // Runs placed before GPU accounting ask by count, or for the ids they named (as the driver counts: 0 to n-1).
  if (Array.isArray(gpus))
    return { request: { Driver: '', Count: 0, DeviceIDs: gpus, Capabilities: [['gpu']] }, visible: gpus.join(',') };
  const count = gpus === 'all' ? -1 : gpus;
  const visible = count < 0 ? 'all' : Array.from({ length: count }, (_, i) => String(i)).join(',');
  return { request: { Driver: '', Count: count, Capabilities: [['gpu']] }, visible };
}

/**
 * The container's environment. NVIDIA_VISIBLE_DEVICES comes last, always set by the host: on an
 * engine whose default runtime is NVIDIA's, that variable alone says which GPUs a container gets,
 * so an image whose ENV says "all" (many CUDA images do) would see every GPU of the host, those of
 * other running actions too. The container's Env replaces the image's by name, so the host's wins.
 */
export function containerEnv(
  deps: Pick<RunDeps, 'artifactsUri'>,
  req: ContainerRequest,
  secrets: Record<string, string>,
  proxy?: EgressProxy,
  replica?: Record<string, string>,
): Record<string, string> {
  const { spec } = req;
  const env: Record<string, string> = {
    ...spec.env,
    // Secrets named for files only are not in the environment.
    ...Object.fromEntries(spec.secrets.map((name) => [name, secrets[name]!])),
    // A gang replica's rank and peers (replica-env.ts): the host's, over anything of the spec's.
    ...replica,
    ACTION_ID: req.actionId,
    ACTION_RUN_ID: req.runId,
    ACTION_ATTEMPT: String(req.attempt),
    ACTION_ARTIFACTS: deps.artifactsUri(req),
    ...(req.member ? { ACTION_INDEX: String(req.member.index), ACTION_COUNT: String(req.member.count) } : {}),
    ...(proxy ? proxyEnv(proxy.url) : {}),
  };
  // Deleted first, so the host's value is the last entry as well as the only one.
  delete env[GPU_ENV];
  env[GPU_ENV] = gpuDevices(req).visible;
  return env;
}

/** An egress container's proxy, started by the worker before the container is made. */
export interface EgressProxy {
  url: string;
  port: number;
  network: string;
}

/** Both spellings tools read; nothing goes around the proxy but loopback. */
const proxyEnv = (url: string): Record<string, string> => ({
  HTTP_PROXY: url,
  HTTPS_PROXY: url,
  http_proxy: url,
  https_proxy: url,
  NO_PROXY: 'localhost,127.0.0.1',
  no_proxy: 'localhost,127.0.0.1',
});

/**
 * How the container's own filesystem is bounded: read-only with a /tmp tmpfs (the policy's
 * readOnlyRootfs; tmpfs pages are charged to the memory cgroup, so it is sized as the memory
 * limit and a full one is an OOM kill), else the engine's size limit when it has one to offer.
 * Where it has none, the worker measures the layer instead (watchRootfs).
 */
export function rootfsHostConfig(
  memory: number | undefined,
  rule: { readOnly?: boolean; budget?: number; engineSizes: boolean },
): Pick<HostConfig, 'ReadonlyRootfs' | 'Tmpfs' | 'StorageOpt'> {
  if (rule.readOnly) {
    // exec: the image's own files run anyway, and /tmp_disk is no less writable.
    const size = memory ? `,size=${memory}` : '';
    return { ReadonlyRootfs: true, Tmpfs: { '/tmp': `rw,nosuid,nodev,exec,mode=1777${size}` } };
  }
  if (rule.budget !== undefined && rule.engineSizes) return { StorageOpt: { size: String(rule.budget) } };
  return {};
}

/**
 * The engine's create body for the run's container. `engineSizes`: the engine may bound the
 * container's own filesystem (sizing.ts).
 */
export function containerOptions(
  deps: RunDeps,
  req: ContainerRequest,
  name: string,
  secrets: Record<string, string>,
  engineSizes: boolean,
  disk?: ContainerDisk,
  proxy?: EgressProxy,
  gang?: GangAttachment,
): CreateOptions {
  const { spec } = req;
  const ref = parseImageRef(spec.image)!;
  const replica = req.replica ? replicaEnv(req.replica, deps.host, gang?.base).env : undefined;
  // The engine writes no file into a read-only filesystem (start.ts): no peers file is named there.
  if (replica && deps.readOnlyRootfs) delete replica.CAISSON_PEERS_FILE;
  const env = containerEnv(deps, req, secrets, proxy, replica);
  const withInput = spec.input !== undefined;
  // No network: the engine is told so outright. Otherwise it makes a network sandbox and runs a
  // hook at every start that launches a copy of the engine's own binary (about 70 ms of CPU, the
  // largest cost of a short container); the container still gets a namespace of its own with only
  // loopback. Without that sandbox the engine writes no /etc/hosts, so the worker gives one.
  const offline = spec.network === 'none' && disk !== undefined;
  return {
    name,
    Image: pullReference(ref),
    Entrypoint: spec.command,
    // A command of one's own replaces the image's default arguments too, as in Kubernetes.
    Cmd: spec.args ?? (spec.command ? [] : undefined),
    Env: Object.entries(env).map(([k, v]) => `${k}=${v}`),
    WorkingDir: spec.workingDir,
    User: spec.user,
    Labels: { ...containerLabels(deps, req), ...(proxy ? { [LABEL.egressPort]: String(proxy.port) } : {}) },
    ...(offline ? { NetworkDisabled: true } : {}),
    Tty: false,
    OpenStdin: withInput,
    StdinOnce: withInput,
    AttachStdin: withInput,
    HostConfig: {
      ...hostConfig(deps, req, engineSizes, offline, disk),
      ...(proxy ? { NetworkMode: proxy.network } : {}),
      ...(gang ? { NetworkMode: gang.network } : {}),
    },
    // A replica's address on its gang's network is fixed: its peers and relays know it before it starts.
    ...(gang
      ? { NetworkingConfig: { EndpointsConfig: { [gang.network]: { IPAMConfig: { IPv4Address: gang.ipv4 } } } } }
      : {}),
  };
}

/** The container's limits, devices, privileges, log driver and mounts. */
function hostConfig(
  deps: RunDeps,
  req: ContainerRequest,
  engineSizes: boolean,
  offline: boolean,
  disk?: ContainerDisk,
): HostConfig {
  const { spec } = req;
  const gpu = gpuDevices(req);
  return {
    NanoCpus: spec.resources.cpu ? Math.round(spec.resources.cpu * 1e9) : undefined,
    // Swap equal to memory: the limit cannot be escaped by swapping.
    Memory: spec.resources.memory,
    MemorySwap: spec.resources.memory,
    PidsLimit: spec.resources.pids,
    DeviceRequests: gpu.request ? [gpu.request] : undefined,
    // "egress" and "gang" are networks of their own, set with the run's proxy or gang; without one, no network at all.
    NetworkMode: spec.network === 'egress' || spec.network === 'gang' ? 'none' : spec.network,
    Privileged: false,
    CapDrop: ['ALL'],
    SecurityOpt: ['no-new-privileges'],
    // A chatty action cannot fill the host's disk with its log: the engine rotates and drops.
    LogConfig: {
      Type: 'local',
      Config: {
        'max-size': String(engineLogFileBytes(spec)),
        'max-file': String(ENGINE_LOG_FILES),
        compress: 'false',
      },
    },
    ...rootfsHostConfig(spec.resources.memory, {
      readOnly: deps.readOnlyRootfs,
      budget: deps.rootfsBytes?.(spec),
      engineSizes,
    }),
    Mounts: containerMounts(spec, offline, disk),
  };
}

/** Whose container it is, and what any worker of the host needs to enforce and count it. */
function containerLabels(deps: RunDeps, req: ContainerRequest): Record<string, string> {
  const held = deps.capacity.heldBy(req.runId);
  return {
    [LABEL.actionId]: req.actionId,
    [LABEL.runId]: req.runId,
    [LABEL.attempt]: String(req.attempt),
    ...ownerLabels(deps.owner),
    [LABEL.timeoutMs]: String(req.spec.timeout),
    [LABEL.stopGrace]: String(boundedStopGrace(req.stopGraceSeconds)),
    ...(held ? { [LABEL.held]: JSON.stringify(held) } : {}),
  };
}

function containerMounts(spec: ContainerRequest['spec'], offline: boolean, disk?: ContainerDisk): HostConfig['Mounts'] {
  // The container's own filesystem (size-limited), or anonymous volumes where the worker
  // cannot mount one (remote engine, not root): removed with the container either way.
  return disk
    ? [
        { Type: 'bind', Source: disk.out, Target: '/out' },
        { Type: 'bind', Source: disk.tmp, Target: '/tmp_disk' },
        ...(spec.inputs.length ? [{ Type: 'bind' as const, Source: disk.in, Target: INPUTS_DIR, ReadOnly: true }] : []),
        ...(offline ? [{ Type: 'bind' as const, Source: disk.hosts, Target: '/etc/hosts', ReadOnly: true }] : []),
      ]
    : [
        { Type: 'volume', Source: '', Target: '/out' },
        { Type: 'volume', Source: '', Target: '/tmp_disk' },
      ];
}
