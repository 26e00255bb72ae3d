// Runs one attempt of an action in a container, or re-attaches to it. The container's name is
// derived from the run and attempt, so a retried activity (after a worker crash) finds the same
// container — running, finished or not yet started — and never starts a second one.
//
// While it runs, the engine is waited on (one `wait` call), the deadline is a timer from the
// container's own start time, and usage comes from the engine's stats stream. The one thing
// polled is the size of the container's own filesystem, where the engine cannot bound it.
import type Docker from 'dockerode';
import { ApplicationFailure } from '@temporalio/activity';
import { parseImageRef, pullReference } from '../../spec/image.js';
import type { RunOutcome } from '../../spec/result.js';
import { INPUTS_DIR, type Action } from '../../spec/action.js';
import type { ContainerRequest } from '../types.js';
import type { HostCapacity } from '../placement/capacity.js';
import type { ContainerDisk, HostDisks } from '../disks/host-disk.js';
import { LABEL, containerName, ownerLabels, type Owner } from './labels.js';
import { LineTail, demux } from '../logs/log-stream.js';
import type { LogShipper } from '../logs/log-shipper.js';
import { resolveSecrets } from '../trust/secrets.js';
import { Redactor } from '../logs/redaction.js';
import { boundedStopGrace } from '../../spec/workflow-api.js';
import { formatBytes } from '../../spec/quantity.js';
import type { StagedInput, StepTiming } from '../../spec/result.js';
import { filePaths, writeFiles } from './container-files.js';
import type { InputCache } from '../inputs/input-cache.js';
import { checkInputTargets, inputUnavailable, stageInputs, type InputObject } from '../inputs/inputs.js';
import { PathOutsideRoot } from '../trust/contained-path.js';
import { refusedByHost } from '../trust/refused.js';
import { readFile, writeFile } from 'node:fs/promises';
import { EngineLost, engineGone, type EngineWatch } from './engine-watch.js';
import { FailureType } from '../../spec/failures.js';

export interface RunDeps {
  docker: Docker;
  host: string;
  /** The namespace and queue beside the host: the labels that keep other workers' hands off (labels.ts). */
  owner: Owner;
  capacity: HostCapacity;
  secretsDir?: string;
  env: NodeJS.ProcessEnv;
  /** Where this action's artifacts go, told to the container as ACTION_ARTIFACTS. */
  artifactsUri: (req: ContainerRequest) => string;
  /** Tells when the engine's connection breaks (engine-watch.ts). */
  engine: EngineWatch;
  /** How long a run waits for an engine that went away before it is placed elsewhere. */
  engineAwayMs: number;
  /** Runs whose stop was asked for on this host: such a container is never started. */
  stopRequested: Set<string>;
  /**
   * Runs whose engine went away under them on this worker (the connection broke while their
   * container ran): an exit by signal found after that is the engine's doing, not the action's.
   */
  engineLost: Set<string>;
  /** Filesystems of their own for /out and /tmp_disk; without, anonymous volumes (no size limit). */
  disks?: HostDisks;
  /** The disk budget of an action: its outDisk and tmpDisk, or the worker's defaults. */
  diskBytes: (spec: ContainerRequest['spec']) => number;
  /** Input objects this host fetched already (with disks only: inputs are staged onto them). */
  inputCache?: InputCache;
  /**
   * What the container may write outside /out and /tmp_disk (its own filesystem: /root, /tmp,
   * /var…): the action's tmpDisk, or the worker's default. Without it that filesystem is unbounded.
   */
  rootfsBytes?: (spec: ContainerRequest['spec']) => number;
  /** The policy's readOnlyRootfs: that filesystem is read-only, and /tmp a tmpfs counted as memory. */
  readOnlyRootfs?: boolean;
}

export interface RunHooks {
  heartbeat: (details: { containerId: string; logTail: string[] }) => void;
  signal: AbortSignal;
  /** The activity's first try: no earlier try can have made the container, so none is looked for. */
  firstTry: boolean;
  /** Ships the log to S3 as it is written (opened before the container exists: it needs none). */
  log?: Promise<LogShipper>;
  /** The action's secrets, when the caller resolved them already (to redact its other outputs too). */
  secrets?: Record<string, string>;
  /** The objects of the spec's inputs, looked up already: staged into /in before the start. */
  inputs?: InputObject[];
}

/**
 * The engine keeps at most `resources.logSize` of a container's log (512 MiB without one), whatever
 * it prints: the `local` driver (the log's own bytes plus a few per line, unlike json-file's
 * several times that) in this many rotating files.
 */
export const ENGINE_LOG_FILES = 8;
export const DEFAULT_LOG_SIZE = 512 * 2 ** 20;
/** The size of one of the engine's rotating log files for this spec. */
export const engineLogFileBytes = (spec: Pick<Action, 'resources'>) =>
  Math.floor((spec.resources.logSize ?? DEFAULT_LOG_SIZE) / ENGINE_LOG_FILES);
const HEARTBEAT_EVERY_MS = 2000;
/** Engine hiccups (5xx without a command failure) at create or start are tried this often. */
const ENGINE_TRIES = 4;

function status(err: unknown): number | undefined {
  return (err as { statusCode?: number })?.statusCode;
}

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The engine could not run the command: a result like a shell's, not an engine fault. */
function isCommandFailure(message: string): boolean {
  return /OCI runtime|starting container process|exec:|executable file not found|no such file or directory|permission denied/i.test(
    message,
  );
}

/** Retries a create or start that failed with a transient engine error (5xx that is not about the command). */
async function withEngineRetries<T>(what: string, call: () => Promise<T>): Promise<T> {
  for (let tryNo = 1; ; tryNo++) {
    try {
      return await call();
    } catch (err) {
      const code = status(err) ?? 0;
      const transient = code >= 500 && !isCommandFailure((err as Error).message);
      if (!transient || tryNo >= ENGINE_TRIES) throw err;
      await delay(200 * 2 ** tryNo);
    }
  }
}

/** The variable NVIDIA's runtime hook reads to choose the GPUs a container gets. */
const GPU_ENV = 'NVIDIA_VISIBLE_DEVICES';

/**
 * The engine's device request for the run's GPUs (none without them), and what the container's
 * NVIDIA_VISIBLE_DEVICES must say: exactly what the engine's NVIDIA driver sets for that request,
 * or "void" without one.
 */
export function gpuDevices(req: Pick<ContainerRequest, 'spec' | 'gpuIds'>): {
  request?: Docker.DeviceRequest;
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
): Record<string, string> {
  const { spec } = req;
  const env: Record<string, string> = {
    ...spec.env,
    // Secrets named for files only are not in the environment.
    ...Object.fromEntries(spec.secrets.map((name) => [name, secrets[name]!])),
    ACTION_ID: req.actionId,
    ACTION_RUN_ID: req.runId,
    ACTION_ATTEMPT: String(req.attempt),
    ACTION_ARTIFACTS: deps.artifactsUri(req),
    ...(req.member ? { ACTION_INDEX: String(req.member.index), ACTION_COUNT: String(req.member.count) } : {}),
  };
  // Deleted first, so the host's value is the last entry as well as the only one.
  delete env[GPU_ENV];
  env[GPU_ENV] = gpuDevices(req).visible;
  return env;
}

/**
 * Engines whose storage driver refuses `--storage-opt size`: overlay2 needs XFS (with project
 * quotas), so one on another filesystem is known from `docker info` without a failed create; any
 * other refusal is learnt from the first one, so each worker pays for one failed create at most.
 */
const sizeRefused = new WeakSet<Docker>();
const engineLooked = new WeakMap<Docker, Promise<void>>();

/** Overlay2 on a backing filesystem other than XFS cannot bound a container's layer. */
export function driverCannotSize(info: { Driver?: string; DriverStatus?: [string, string][] | null }): boolean {
  if (info.Driver !== 'overlay2') return false;
  const backing = (info.DriverStatus ?? []).find(([key]) => key === 'Backing Filesystem')?.[1];
  return backing !== undefined && backing.toLowerCase() !== 'xfs';
}

export async function engineMaySize(docker: Docker): Promise<boolean> {
  let looked = engineLooked.get(docker);
  if (!looked) {
    looked = Promise.resolve()
      .then(() => docker.info())
      .then((info: Parameters<typeof driverCannotSize>[0]) => {
        if (driverCannotSize(info)) sizeRefused.add(docker);
      })
      .catch(() => {
        engineLooked.delete(docker); // asked again with the next container
      });
    engineLooked.set(docker, looked);
  }
  await looked;
  return !sizeRefused.has(docker);
}

/** The engine's refusal of StorageOpt (overlay2 without XFS quotas, devicemapper's minimum, …). */
export function refusesStorageOpt(err: unknown): boolean {
  const code = status(err) ?? 0;
  return code >= 400 && /storage[- ]?opt|quota|container size/i.test(engineMessage(err));
}

/**
 * How the container's own filesystem is bounded: read-only with a /tmp tmpfs (the policy's
 * readOnlyRootfs; tmpfs pages are charged to the memory cgroup, so it is sized as the memory
 * limit and a full one is an OOM kill), else the engine's size limit when it has one to offer.
 * Where it has none, the worker measures the layer instead (watchRootfs).
 */
export function rootfsHostConfig(
  memory: number | undefined,
  rule: { readOnly?: boolean; budget?: number; engineSizes: boolean },
): Pick<Docker.HostConfig, 'ReadonlyRootfs' | 'Tmpfs' | 'StorageOpt'> {
  if (rule.readOnly) {
    // exec: the image's own files run anyway, and /tmp_disk is no less writable.
    const size = memory ? `,size=${memory}` : '';
    return { ReadonlyRootfs: true, Tmpfs: { '/tmp': `rw,nosuid,nodev,exec,mode=1777${size}` } };
  }
  if (rule.budget !== undefined && rule.engineSizes) return { StorageOpt: { size: String(rule.budget) } };
  return {};
}

/**
 * Creates the container, with the engine's size limit on its filesystem when the engine may have
 * one; an engine that refuses it is remembered and asked again without. `sized`: the engine bounds it.
 */
export async function createSized(
  docker: Docker,
  options: Docker.ContainerCreateOptions,
): Promise<{ container: Docker.Container; sized: boolean }> {
  const sized = options.HostConfig?.StorageOpt !== undefined;
  if (!sized) return { container: await docker.createContainer(options), sized };
  try {
    return { container: await docker.createContainer(options), sized };
  } catch (err) {
    if (!refusesStorageOpt(err)) throw err;
    sizeRefused.add(docker);
    const { StorageOpt: _refused, ...hostConfig } = options.HostConfig!;
    return { container: await docker.createContainer({ ...options, HostConfig: hostConfig }), sized: false };
  }
}

async function createContainer(
  deps: RunDeps,
  req: ContainerRequest,
  name: string,
  secrets: Record<string, string>,
  disk?: ContainerDisk,
) {
  const { spec } = req;
  const ref = parseImageRef(spec.image)!;
  const gpu = gpuDevices(req);
  const held = deps.capacity.heldBy(req.runId);
  const env = containerEnv(deps, req, secrets);
  const withInput = spec.input !== undefined;
  // No network: the engine is told so outright. Otherwise it makes a network sandbox and runs a
  // hook at every start that launches a copy of the engine's own binary (about 70 ms of CPU, the
  // largest cost of a short container); the container still gets a namespace of its own with only
  // loopback. Without that sandbox the engine writes no /etc/hosts, so the worker gives one.
  const offline = spec.network === 'none' && disk !== undefined;
  const options: Docker.ContainerCreateOptions = {
    name,
    Image: pullReference(ref),
    Entrypoint: spec.command,
    // A command of one's own replaces the image's default arguments too, as in Kubernetes.
    Cmd: spec.args ?? (spec.command ? [] : undefined),
    Env: Object.entries(env).map(([k, v]) => `${k}=${v}`),
    WorkingDir: spec.workingDir,
    User: spec.user,
    Labels: {
      [LABEL.actionId]: req.actionId,
      [LABEL.runId]: req.runId,
      [LABEL.attempt]: String(req.attempt),
      ...ownerLabels(deps.owner),
      [LABEL.timeoutMs]: String(spec.timeout),
      [LABEL.stopGrace]: String(boundedStopGrace(req.stopGraceSeconds)),
      ...(held ? { [LABEL.held]: JSON.stringify(held) } : {}),
    },
    ...(offline ? { NetworkDisabled: true } : {}),
    Tty: false,
    OpenStdin: withInput,
    StdinOnce: withInput,
    AttachStdin: withInput,
    HostConfig: {
      NanoCpus: spec.resources.cpu ? Math.round(spec.resources.cpu * 1e9) : undefined,
      // Swap equal to memory: the limit cannot be escaped by swapping.
      Memory: spec.resources.memory,
      MemorySwap: spec.resources.memory,
      PidsLimit: spec.resources.pids,
      DeviceRequests: gpu.request ? [gpu.request] : undefined,
      NetworkMode: spec.network,
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
        engineSizes: await engineMaySize(deps.docker),
      }),
      // The container's own filesystem (size-limited), or anonymous volumes where the worker
      // cannot mount one (remote engine, not root): removed with the container either way.
      Mounts: disk
        ? [
            { Type: 'bind', Source: disk.out, Target: '/out' },
            { Type: 'bind', Source: disk.tmp, Target: '/tmp_disk' },
            ...(spec.inputs.length
              ? [{ Type: 'bind' as const, Source: disk.in, Target: INPUTS_DIR, ReadOnly: true }]
              : []),
            ...(offline ? [{ Type: 'bind' as const, Source: disk.hosts, Target: '/etc/hosts', ReadOnly: true }] : []),
          ]
        : [
            { Type: 'volume', Source: '', Target: '/out' },
            { Type: 'volume', Source: '', Target: '/tmp_disk' },
          ],
    },
  };
  try {
    return await withEngineRetries('create', () => createSized(deps.docker, options));
  } catch (err) {
    if (status(err) === 409) return undefined; // created meanwhile by an earlier try: re-attach to it
    // The engine refuses the settings themselves (more CPUs than the host has, say): no retry helps.
    if (status(err) === 400) throw containerRefused(deps.host, err);
    throw err;
  }
}

function containerRefused(host: string, err: unknown): ApplicationFailure {
  const said = engineMessage(err);
  return ApplicationFailure.create({
    type: FailureType.ContainerRefused,
    nonRetryable: true,
    message: `the container engine of host ${host} refused to create the container: ${said}; change the spec (resources, user, workingDir) to what this host allows`,
  });
}

/** What the engine said, without dockerode's "(HTTP code 400) unexpected - " preamble. */
function engineMessage(err: unknown): string {
  const json = (err as { json?: { message?: string } }).json;
  const text = json?.message ?? (err as Error).message ?? String(err);
  return text
    .replace(/^\(HTTP code \d+\)[^-]*- /, '')
    .trim()
    .slice(0, 500);
}

/**
 * Starts the container, then writes the input to its stdin. The input is written after the start
 * so that the container reads while it is written: input larger than a pipe's buffer cannot block
 * a start that waits for it. Returns an exit code when the engine could not start the command.
 */
async function startContainer(
  container: Docker.Container,
  req: ContainerRequest,
  host: string,
): Promise<number | undefined> {
  const stdin =
    req.spec.input !== undefined
      ? ((await container.attach({ stream: true, stdin: true, hijack: true })) as NodeJS.ReadWriteStream)
      : undefined;
  try {
    await withEngineRetries('start', () => container.start());
  } catch (err) {
    (stdin as unknown as { destroy?: () => void })?.destroy?.();
    if (status(err) === 304) return undefined; // already started
    const message = (err as Error).message;
    if (/could not select device driver|nvidia|gpu/i.test(message) && req.spec.resources.gpus) {
      throw ApplicationFailure.create({
        type: FailureType.GpuUnavailable,
        nonRetryable: true,
        message: `host ${host} cannot give GPUs to containers (${message.trim()}); run it where GPUs are set up, or drop resources.gpus`,
      });
    }
    if (status(err) === 400 || isCommandFailure(message)) return startFailureExitCode(message);
    throw err;
  }
  if (stdin) await writeInput(stdin, req.spec.input);
  return undefined;
}

async function writeInput(stream: NodeJS.ReadWriteStream, input: unknown): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    stream.on('error', (err: NodeJS.ErrnoException) => {
      // A container that exits without reading all of its input closes the pipe: not our failure.
      if (err.code === 'EPIPE' || err.code === 'ECONNRESET') resolve();
      else reject(err);
    });
    stream.write(JSON.stringify(input) + '\n', (err) => {
      if (err) return;
      // Half-closing the hijacked connection closes the container's stdin (StdinOnce).
      stream.end(() => resolve());
    });
  });
}

/** The exit code `docker run` reports when the engine cannot start the command. */
export function startFailureExitCode(message: string): number {
  if (/executable file not found|no such file or directory/i.test(message)) return 127;
  if (/permission denied/i.test(message)) return 126;
  return 125;
}

interface Usage {
  peakMemoryBytes?: number;
  cpuSeconds?: number;
}

/** Follows the engine's stats stream (one sample a second, pushed by the engine) for peak usage. */
async function followUsage(container: Docker.Container, usage: Usage): Promise<() => void> {
  const stream = (await container.stats({ stream: true }).catch(() => undefined)) as NodeJS.ReadableStream | undefined;
  if (!stream) return () => {};
  let pending = '';
  stream.on('data', (chunk: Buffer) => {
    pending += chunk.toString('utf8');
    let newline: number;
    while ((newline = pending.indexOf('\n')) >= 0) {
      const line = pending.slice(0, newline);
      pending = pending.slice(newline + 1);
      try {
        const stats = JSON.parse(line) as Docker.ContainerStats;
        const memory = Math.max(stats.memory_stats?.max_usage ?? 0, stats.memory_stats?.usage ?? 0);
        if (memory) usage.peakMemoryBytes = Math.max(usage.peakMemoryBytes ?? 0, memory);
        const cpu = stats.cpu_stats?.cpu_usage?.total_usage;
        if (cpu) usage.cpuSeconds = Math.max(usage.cpuSeconds ?? 0, cpu / 1e9);
      } catch {
        // A partial or empty sample: the next one stands.
      }
    }
  });
  stream.on('error', () => {});
  return () => (stream as unknown as { destroy?: () => void }).destroy?.();
}

/**
 * The writable layer is measured this often while the container runs (the engine walks the layer
 * to answer, `docker ps --size`): a kubelet checks ephemeral storage about as often.
 */
export const ROOTFS_SAMPLE_MS = 2000;

/** Once the container was asked to stop, whether it still writes is looked at sooner. */
export const ROOTFS_STOPPING_SAMPLE_MS = 500;

/** Waits after a sample that took `tookMs`: the engine spends at most a tenth of its time walking a big layer. */
export const nextRootfsSample = (tookMs: number, stopping = false): number =>
  Math.max(stopping ? ROOTFS_STOPPING_SAMPLE_MS : ROOTFS_SAMPLE_MS, 10 * tookMs);

/**
 * What a sample of the layer's size calls for. Over the budget the container is stopped with the
 * spec's grace, to end as it would at its deadline; one that goes on writing during the grace
 * (each sample larger than the last) is killed: the grace is for finishing, not for filling the host.
 */
export function rootfsVerdict(bytes: number, budget: number, lastAfterStop?: number): 'ok' | 'stop' | 'kill' {
  if (lastAfterStop !== undefined) return bytes > lastAfterStop ? 'kill' : 'ok';
  return bytes > budget ? 'stop' : 'ok';
}

/** The size of the container's writable layer, as the engine measures it; undefined when it cannot say. */
async function layerBytes(container: Docker.Container): Promise<number | undefined> {
  const info = (await container.inspect({ size: true } as Docker.ContainerInspectOptions).catch(() => undefined)) as
    { SizeRw?: number } | undefined;
  return typeof info?.SizeRw === 'number' ? info.SizeRw : undefined;
}

/**
 * Measures the container's own filesystem while it runs and stops it once it holds more than
 * `budget` (`over.bytes` set then): where the engine cannot bound it, as a kubelet evicts a pod
 * for its ephemeral storage. One sample at a time; the returned function ends the sampling.
 */
export function watchRootfs(
  container: Docker.Container,
  budget: number,
  graceSeconds: number,
  over: { bytes?: number },
): () => void {
  let ended = false;
  let timer: NodeJS.Timeout | undefined;
  let lastAfterStop: number | undefined;
  const sample = async () => {
    const began = Date.now();
    const bytes = await layerBytes(container);
    if (ended) return;
    const verdict = bytes === undefined ? 'ok' : rootfsVerdict(bytes, budget, lastAfterStop);
    if (verdict !== 'ok') {
      over.bytes = Math.max(over.bytes ?? 0, bytes!);
      // Ended meanwhile (304, 404): its layer is judged again at the end.
      (verdict === 'stop' ? container.stop({ t: graceSeconds }) : container.kill()).catch(() => {});
    }
    if (verdict !== 'ok' || lastAfterStop !== undefined) lastAfterStop = bytes ?? lastAfterStop;
    timer = setTimeout(() => void sample(), nextRootfsSample(Date.now() - began, lastAfterStop !== undefined));
  };
  timer = setTimeout(() => void sample(), ROOTFS_SAMPLE_MS);
  return () => {
    ended = true;
    clearTimeout(timer);
  };
}

/**
 * The container's own filesystem went over its budget: it was stopped for that while it ran
 * (`sampled`), or it held more than the budget when it ended (a writer faster than the samples).
 */
export function overBudget(
  budget: number,
  sampled: number | undefined,
  atEnd: number | undefined,
): { bytes: number; budget: number } | undefined {
  const bytes = Math.max(sampled ?? 0, atEnd ?? 0);
  return sampled !== undefined || bytes > budget ? { bytes, budget } : undefined;
}

export async function runContainer(deps: RunDeps, req: ContainerRequest, hooks: RunHooks): Promise<RunOutcome> {
  const seen = { started: false };
  try {
    return await attachAndRun(deps, req, hooks, seen);
  } catch (err) {
    // Only a container that had started can have been stopped by its engine going away: one lost
    // before its start is started by the retry (its engine keeps it as created).
    if (engineGone(err) && seen.started) deps.engineLost.add(req.runId);
    throw err;
  }
}

/**
 * Every host path the run will need, checked before anything is made: inputs' targets under /in,
 * files' paths, and the container's disk folder (named after the run). A refusal names the field.
 */
function checkHostPaths(deps: RunDeps, req: ContainerRequest, name: string): void {
  checkInputTargets(req.spec, deps.host);
  filePaths(req.spec, deps.host);
  // The engine unpacks files into the container's filesystem, which this policy makes read-only.
  if (deps.readOnlyRootfs && req.spec.files.length) {
    throw refusedByHost(
      deps.host,
      'files',
      "this host's containers have a read-only filesystem (policy readOnlyRootfs): write them from the command into /tmp or /tmp_disk instead",
    );
  }
  try {
    deps.disks?.paths(name);
  } catch (err) {
    if (err instanceof PathOutsideRoot)
      throw refusedByHost(deps.host, 'runId', `the container's disk folder ${err.message}`);
    throw err;
  }
}

async function attachAndRun(
  deps: RunDeps,
  req: ContainerRequest,
  hooks: RunHooks,
  seen: { started: boolean },
): Promise<RunOutcome> {
  const name = containerName(req, req.attempt, deps.host);
  checkHostPaths(deps, req, name);
  // A break of the engine's connection from here on is this run's concern (engine-watch.ts).
  const epoch = deps.engine.epoch;
  deps.capacity.touch(req.runId);
  const secrets = hooks.secrets ?? (await resolveSecrets(req.spec.secrets, deps.secretsDir, deps.env, deps.host));
  const redactor = new Redactor(Object.values(secrets));
  let container = deps.docker.getContainer(name);
  let reattached = 0;
  // What is known of the container: from the engine when it existed, else from creating it.
  // `measured`: the worker bounds its own filesystem (neither read-only nor sized by the engine).
  let known: { id: string; status: string; running: boolean; startedMs: number; measured: boolean } | undefined;
  const inspect = async () => {
    const info = await container.inspect();
    reattached = 1;
    const measured = !info.HostConfig.ReadonlyRootfs && !info.HostConfig.StorageOpt?.size;
    return {
      id: info.Id,
      status: info.State.Status,
      running: info.State.Running,
      startedMs: Date.parse(info.State.StartedAt),
      measured,
    };
  };
  // A first try has no container to find: it creates at once, and a conflict means it has one after all.
  if (!hooks.firstTry) {
    known = await inspect().catch((err) => {
      if (status(err) !== 404) throw err;
      return undefined;
    });
    // Its engine went away while it ran and came back without it: the attempt ended there, and the
    // spec's retry policy says whether another follows. It is never started again under this attempt.
    if (!known && deps.engineLost.has(req.runId)) {
      return { exitCode: null, reason: 'engine-restarted', logTail: [], containerId: '', reattached: 1 };
    }
  }
  // The container's filesystem is made while the engine creates the container (see HostDisks.prepare).
  let mounting: Promise<unknown> | undefined;
  if (!known) {
    const disk = deps.disks ? await deps.disks.prepare(name, deps.owner) : undefined;
    mounting = deps.disks?.mount(name, deps.diskBytes(req.spec));
    mounting?.catch(() => {}); // awaited below, before the start
    const create = () => createContainer(deps, req, name, secrets, disk);
    const created = await create()
      .catch(async (err: unknown) => {
        // The engine looked at the bind sources just as the filesystem was mounted over them, before
        // /out and /tmp_disk were made again on it: once the mount is done they are there to stay.
        if (!(mounting && err instanceof ApplicationFailure && /bind source path does not exist/.test(err.message)))
          throw err;
        await mounting;
        return create();
      })
      .catch(async (err: unknown) => {
        // No container holds the filesystem made for it: remove it now, nothing else would.
        await mounting?.catch(() => {});
        await deps.disks?.remove(name).catch(() => {});
        throw err;
      });
    if (created) {
      container = created.container;
      known = {
        id: created.container.id,
        status: 'created',
        running: false,
        startedMs: 0,
        measured: !deps.readOnlyRootfs && !created.sized,
      };
    } else known = await inspect();
  }

  // The log's lookup (it also checks the artifacts bucket) ran while the container was created: a
  // bucket that is missing fails here, before the container starts; the workflow removes what was made.
  const shipper = await hooks.log;
  const tail = new LineTail(20, 400, (line) => redactor.text(line), redactor.window);
  shipper?.bind(known.id, redactor);
  let staged: StagedInput[] | undefined;
  let inputsTiming: StepTiming | undefined;
  if (known.status === 'created') {
    // After a crash between creating and starting, the filesystem may still need its mount.
    await (mounting ?? deps.disks?.mount(name, deps.diskBytes(req.spec)));
    if (deps.stopRequested.has(req.runId)) {
      await shipper?.finish();
      return { exitCode: null, reason: 'canceled', logTail: [], containerId: known.id, reattached };
    }
    // Staged (again, after a crash before the start) onto the container's own filesystem.
    const staging = new Date();
    staged = await stageOnto(deps, name, hooks.inputs ?? [], deps.diskBytes(req.spec));
    if (staged) inputsTiming = { step: 'inputs', startedAt: staging.toISOString(), ms: Date.now() - staging.getTime() };
    await writeFiles(container, req.spec, secrets, deps.host);
    // The deadline counts from here: at most the start's own time later than the engine's StartedAt.
    const startingMs = Date.now();
    const failedToStart = await startContainer(container, req, deps.host);
    if (failedToStart !== undefined) {
      await shipper?.finish();
      const error = (await container.inspect()).State.Error;
      return {
        exitCode: failedToStart,
        reason: 'exit',
        logTail: error ? [error] : [],
        containerId: known.id,
        reattached,
        inputs: staged,
      };
    }
    known = { ...known, status: 'running', running: true, startedMs: startingMs };
  }
  seen.started = true;

  // Follow the log: into S3 as it is written (when shipping), and into the tail carried in
  // heartbeats. The full log is read again at collection for logs/stdout.log and stderr.log.
  // Following a stopped container's log returns all of it and ends: a stream, never one buffer.
  const readLog = async () =>
    (await container.logs({
      follow: true,
      stdout: true,
      stderr: true,
      ...(shipper ? { timestamps: true, since: shipper.sinceSeconds } : { tail: 100 }),
    })) as unknown as NodeJS.ReadableStream;
  // Waited on first, and the log follow and the stats stream opened meanwhile: a short run may be
  // over before they are set up, and its end should not wait for them.
  const waiting = container.wait() as Promise<{ StatusCode?: number }>;
  waiting.catch(() => {}); // raced below
  const usage: Usage = {};
  const usageFollowed = followUsage(container, usage); // never rejects
  const logs = shipper?.complete
    ? undefined
    : await readLog().catch(async (err: unknown) => {
        (await usageFollowed)();
        throw err;
      });
  const stopUsage = await usageFollowed;
  const onFrame = (stream: 'stdout' | 'stderr', payload: Buffer) => tail.push(stream, payload);
  const following: Promise<unknown> = !logs
    ? Promise.resolve()
    : shipper
      ? shipper.consume(logs as AsyncIterable<Buffer>, onFrame)
      : demux(logs as AsyncIterable<Buffer>, {}, onFrame);
  following.catch(() => {}); // settled below

  // The deadline counts from the container's own start, so a re-attach keeps the original one.
  let timedOut = false;
  const startedAt = known.startedMs;
  const deadline = known.running
    ? setTimeout(
        () => {
          timedOut = true;
          container.stop({ t: boundedStopGrace(req.stopGraceSeconds) }).catch((err) => {
            if (status(err) === 304) timedOut = false; // it had ended on its own meanwhile
          });
        },
        Math.max(0, startedAt + req.spec.timeout - Date.now()),
      )
    : undefined;
  const beat = () => {
    deps.capacity.touch(req.runId);
    hooks.heartbeat({ containerId: known.id, logTail: tail.lines() });
  };
  beat();
  const ticker = setInterval(beat, HEARTBEAT_EVERY_MS);
  const rootfsBudget = known.measured ? deps.rootfsBytes?.(req.spec) : undefined;
  const rootfsOver: { bytes?: number } = {};
  const stopRootfs =
    rootfsBudget !== undefined && known.running
      ? watchRootfs(container, rootfsBudget, boundedStopGrace(req.stopGraceSeconds), rootfsOver)
      : () => {};
  const aborted = new Promise<never>((_, reject) => {
    const onAbort = () =>
      reject(new Error('the worker is shutting down; the container keeps running and the retry re-attaches to it'));
    if (hooks.signal.aborted) onAbort();
    else hooks.signal.addEventListener('abort', onAbort, { once: true });
  });
  // The wait never settles when the engine's connection breaks under it: the break ends the watch.
  const engineBreak = deps.engine.brokenSince(epoch);
  const engineLost = engineBreak.broken.then(() => Promise.reject(new EngineLost(deps.host)));
  engineLost.catch(() => {}); // raced below
  try {
    // A log that cannot be shipped (the bucket went away) ends the run now, not at the deadline.
    const waited = (await Promise.race([waiting, aborted, engineLost, ...(shipper ? [shipper.whenFailed()] : [])])) as {
      StatusCode?: number;
    };
    // Stopped by the worker (deadline, cancel, disk budget): not the engine's doing.
    const stoppedHere = timedOut || deps.stopRequested.has(req.runId) || rootfsOver.bytes !== undefined;
    // A run re-attached after its engine went away knows that already: its end is read below.
    const knownLost = deps.engineLost.has(req.runId);
    if (
      !stoppedHere &&
      !knownLost &&
      (await stoppedByEngineShutdown(container, waited.StatusCode, deps.engine, epoch))
    ) {
      // The retry re-attaches once the engine is back, and reads this end as engine-restarted.
      deps.engineLost.add(req.runId);
      throw new EngineLost(deps.host, 'stopped the container as it shut down; waiting for it to come back');
    }
    // The engine ends a follow once the container has stopped and its log is read; one that lags
    // is cut and the rest is read again below.
    await Promise.race([following, delay(2000)]);
  } catch (err) {
    shipper?.abandon();
    throw err;
  } finally {
    engineBreak.forget();
    clearTimeout(deadline);
    clearInterval(ticker);
    stopRootfs();
    stopUsage();
    (logs as unknown as { destroy?: () => void })?.destroy?.();
  }
  if (shipper && !shipper.complete) {
    // Whatever the follow missed (cut short, or the engine dropped the stream) is read again from
    // the last shipped position; the shipper skips what it already has.
    await following.catch(() => {});
    await shipper.consume((await readLog()) as unknown as AsyncIterable<Buffer>, onFrame);
  }
  // The layer is measured once more at the end: a writer faster than the samples is judged too.
  const [ended] = await Promise.all([
    container.inspect(rootfsBudget !== undefined ? ({ size: true } as Docker.ContainerInspectOptions) : {}) as Promise<
      Docker.ContainerInspectInfo & { SizeRw?: number }
    >,
    shipper && !shipper.complete ? shipper.finish() : undefined,
  ]);
  const state = ended.State;
  const rootfsFull = rootfsBudget !== undefined ? overBudget(rootfsBudget, rootfsOver.bytes, ended.SizeRw) : undefined;
  const ranFor = Date.parse(state.FinishedAt) - Date.parse(state.StartedAt);
  // After a re-attach the deadline may have passed while no worker watched: judge by the clock too.
  if (!timedOut && state.ExitCode !== 0 && ranFor >= req.spec.timeout) timedOut = true;
  let lines = tail.lines();
  // A re-attached follow read only what was not shipped yet: the tail comes from the engine.
  if (reattached) lines = await lastLines(container, redactor);
  const diskFull = deps.disks && (await deps.disks.full(name)) ? { bytes: deps.diskBytes(req.spec) } : undefined;
  // A re-attached run staged its inputs in an earlier try, which recorded them beside the disk.
  if (!staged && req.spec.inputs.length && deps.disks) {
    staged = await readFile(deps.disks.paths(name).inputs, 'utf8').then(
      (text) => JSON.parse(text) as StagedInput[],
      () => undefined,
    );
  }
  return {
    diskFull,
    ...(rootfsFull ? { rootfsFull } : {}),
    ...(staged?.length ? { inputs: staged, inputsTiming } : {}),
    exitCode: state.ExitCode,
    reason: timedOut
      ? 'timeout'
      : rootfsFull
        ? 'disk-full'
        : state.OOMKilled
          ? 'oom'
          : deps.stopRequested.has(req.runId)
            ? 'canceled'
            : // Killed by a signal (or left dead, 255) after its engine went away here: the engine stopped it.
              deps.engineLost.has(req.runId) && state.ExitCode >= 128
              ? 'engine-restarted'
              : 'exit',
    startedAt: state.StartedAt,
    finishedAt: state.FinishedAt,
    peakMemoryBytes: usage.peakMemoryBytes,
    cpuSeconds: usage.cpuSeconds,
    logTail: lines,
    containerId: known.id,
    reattached,
  };
}

/** Stages the inputs onto the container's filesystem, and records what they became for a re-attach. */
async function stageOnto(
  deps: RunDeps,
  name: string,
  inputs: InputObject[],
  diskBytes: number,
): Promise<StagedInput[] | undefined> {
  if (!inputs.length) return undefined;
  if (!deps.disks || !deps.inputCache) throw new Error(`host ${deps.host} has no container disks to stage inputs onto`);
  const paths = deps.disks.paths(name);
  const staged = await stageInputs(inputs, paths.in, deps.inputCache, deps.host).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== 'ENOSPC') throw err;
    throw inputUnavailable(
      `the inputs do not fit the action's disk of ${formatBytes(diskBytes)} (outDisk + tmpDisk, which inputs share): raise resources.tmpDisk`,
    );
  });
  await writeFile(paths.inputs, JSON.stringify(staged));
  return staged;
}

/**
 * dockerd stops every container (SIGTERM, then SIGKILL) when it shuts down, and answers requests
 * meanwhile: the exit looks like a `docker stop`. What tells them apart is that the engine goes
 * away right after, once all its containers have stopped (within its shutdown timeout, 15 s by
 * default, after which it kills what is left and only then closes). So an exit by SIGTERM or
 * SIGKILL that Caisson did not ask for, and that is not an OOM kill, waits this long for the
 * engine's connection to break (a busy host's dockerd was seen to need more than 20 s): only such
 * exits pay this wait. The break is seen however briefly the engine was away.
 */
const ENGINE_SHUTDOWN_WINDOW_MS = 45_000;

async function stoppedByEngineShutdown(
  container: Docker.Container,
  exitCode: number | undefined,
  engine: EngineWatch,
  epoch: number,
): Promise<boolean> {
  if (exitCode !== 137 && exitCode !== 143) return false;
  const state = (await container.inspect()).State;
  if (state.OOMKilled) return false;
  const engineBreak = engine.brokenSince(epoch);
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      engineBreak.broken.then(() => true),
      new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), ENGINE_SHUTDOWN_WINDOW_MS))),
    ]);
  } finally {
    clearTimeout(timer);
    engineBreak.forget();
  }
}

async function lastLines(container: Docker.Container, redactor: Redactor): Promise<string[]> {
  const tail = new LineTail(20, 400, (line) => redactor.text(line), redactor.window);
  const logs = (await container.logs({ follow: false, stdout: true, stderr: true, tail: 20 })) as unknown as Buffer;
  await demux([logs], {}, (stream, payload) => tail.push(stream, payload));
  return tail.lines();
}

/** Asks the run's container to stop (SIGTERM, then SIGKILL after the grace period). */
export async function stopContainer(deps: RunDeps, req: ContainerRequest): Promise<void> {
  deps.stopRequested.add(req.runId);
  const container = deps.docker.getContainer(containerName(req, req.attempt, deps.host));
  try {
    await container.stop({ t: boundedStopGrace(req.stopGraceSeconds) });
  } catch (err) {
    if (status(err) !== 304 && status(err) !== 404) throw err;
  }
}
