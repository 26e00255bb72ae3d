// Runs one attempt of an action in a container, or re-attaches to it. The container's name is
// derived from the run and attempt, so a retried activity (after a worker crash) finds the same
// container — running, finished or not yet started — and never starts a second one.
import type Docker from 'dockerode';
import { ApplicationFailure } from '@temporalio/activity';
import { parseImageRef, pullReference } from '../spec/image.js';
import type { RunOutcome } from '../spec/result.js';
import type { ContainerRequest } from './types.js';
import { HostCapacity } from './capacity.js';
import { LABEL, containerName } from './labels.js';
import { LineTail, demux } from './log-stream.js';
import { redact, resolveSecrets } from './secrets.js';

export interface RunDeps {
  docker: Docker;
  host: string;
  capacity: HostCapacity;
  secretsDir?: string;
  env: NodeJS.ProcessEnv;
  /** Where this action's artifacts go, told to the container as ACTION_ARTIFACTS. */
  artifactsUri: (req: ContainerRequest) => string;
  /** Runs whose stop was asked for on this host: such a container is never started. */
  stopRequested: Set<string>;
}

export interface RunHooks {
  heartbeat: (details: { containerId: string; logTail: string[] }) => void;
  signal: AbortSignal;
}

const SAMPLE_EVERY_MS = 1000;

function isStatus(err: unknown, code: number): boolean {
  return (err as { statusCode?: number })?.statusCode === code;
}

async function createContainer(deps: RunDeps, req: ContainerRequest, name: string, secrets: Record<string, string>) {
  const { spec } = req;
  const ref = parseImageRef(spec.image)!;
  const gpus = spec.resources.gpus;
  const env = {
    ...spec.env,
    ...secrets,
    ACTION_ID: req.actionId,
    ACTION_RUN_ID: req.runId,
    ACTION_ATTEMPT: String(req.attempt),
    ACTION_ARTIFACTS: deps.artifactsUri(req),
  };
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
      [LABEL.host]: deps.host,
    },
    Tty: false,
    OpenStdin: spec.input !== undefined,
    StdinOnce: spec.input !== undefined,
    AttachStdin: spec.input !== undefined,
    HostConfig: {
      NanoCpus: spec.resources.cpu ? Math.round(spec.resources.cpu * 1e9) : undefined,
      // Swap equal to memory: the limit cannot be escaped by swapping.
      Memory: spec.resources.memory,
      MemorySwap: spec.resources.memory,
      PidsLimit: spec.resources.pids,
      DeviceRequests: gpus
        ? [
            {
              Driver: '',
              Count: gpus === 'all' ? -1 : typeof gpus === 'number' ? gpus : 0,
              DeviceIDs: Array.isArray(gpus) ? gpus : undefined,
              Capabilities: [['gpu']],
            },
          ]
        : undefined,
      NetworkMode: spec.network,
      Privileged: false,
      CapDrop: ['ALL'],
      SecurityOpt: ['no-new-privileges'],
      // Anonymous volumes on the host's disk: removed with the container, readable after it exits.
      Mounts: [
        { Type: 'volume', Source: '', Target: '/out' },
        { Type: 'volume', Source: '', Target: '/tmp_disk' },
      ],
    },
  };
  try {
    return await deps.docker.createContainer(options);
  } catch (err) {
    if (isStatus(err, 409)) return deps.docker.getContainer(name); // created meanwhile by an earlier attempt
    throw err;
  }
}

async function feedStdin(container: Docker.Container, input: unknown): Promise<void> {
  const stream = (await container.attach({ stream: true, stdin: true, hijack: true })) as NodeJS.ReadWriteStream;
  await new Promise<void>((resolve, reject) => {
    stream.on('error', reject);
    stream.write(JSON.stringify(input) + '\n', (err) => {
      if (err) return reject(err);
      // Half-closing the hijacked connection closes the container's stdin (StdinOnce).
      stream.end(() => resolve());
    });
  });
}

/** Starts the container; returns an exit code when the engine could not start its command. */
async function startContainer(container: Docker.Container, req: ContainerRequest, host: string): Promise<number | undefined> {
  if (req.spec.input !== undefined) await feedStdin(container, req.spec.input);
  try {
    await container.start();
  } catch (err) {
    if (isStatus(err, 304)) return undefined; // already started
    const message = (err as Error).message;
    if (/could not select device driver|nvidia|gpu/i.test(message) && req.spec.resources.gpus) {
      throw ApplicationFailure.create({
        type: 'GpuUnavailable',
        nonRetryable: true,
        message: `host ${host} cannot give GPUs to containers (${message.trim()}); run it where GPUs are set up, or drop resources.gpus`,
      });
    }
    // The engine could not run the command: a result like a shell's, not an error worth retrying.
    if (isStatus(err, 400) || isStatus(err, 500)) return startFailureExitCode(message);
    throw err;
  }
  return undefined;
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

async function sampleUsage(container: Docker.Container, usage: Usage): Promise<void> {
  try {
    const stats = (await container.stats({ stream: false, 'one-shot': true } as { stream: false })) as Docker.ContainerStats;
    const memory = Math.max(stats.memory_stats?.max_usage ?? 0, stats.memory_stats?.usage ?? 0);
    if (memory) usage.peakMemoryBytes = Math.max(usage.peakMemoryBytes ?? 0, memory);
    const cpu = stats.cpu_stats?.cpu_usage?.total_usage;
    if (cpu) usage.cpuSeconds = Math.max(usage.cpuSeconds ?? 0, cpu / 1e9);
  } catch {
    // A container that just exited has no stats; the last sample stands.
  }
}

export async function runContainer(deps: RunDeps, req: ContainerRequest, hooks: RunHooks): Promise<RunOutcome> {
  const name = containerName(req, req.attempt, deps.host);
  deps.capacity.touch(req.runId);
  const secrets = await resolveSecrets(req.spec.secrets, deps.secretsDir, deps.env, deps.host);
  const secretValues = Object.values(secrets);
  let container = deps.docker.getContainer(name);
  let reattached = 0;
  let info: Docker.ContainerInspectInfo;
  try {
    info = await container.inspect();
    reattached = 1;
  } catch (err) {
    if (!isStatus(err, 404)) throw err;
    container = await createContainer(deps, req, name, secrets);
    info = await container.inspect();
  }

  const tail = new LineTail();
  if (info.State.Status === 'created') {
    if (deps.stopRequested.has(req.runId)) {
      return { exitCode: null, reason: 'canceled', logTail: [], containerId: info.Id, reattached };
    }
    const failedToStart = await startContainer(container, req, deps.host);
    if (failedToStart !== undefined) {
      const error = (await container.inspect()).State.Error;
      return { exitCode: failedToStart, reason: 'exit', logTail: error ? [error] : [], containerId: info.Id, reattached };
    }
  }

  // Follow the log for the tail carried in heartbeats; the full log is read again at collection.
  const logs = (await container.logs({ follow: true, stdout: true, stderr: true, tail: 100 })) as unknown as NodeJS.ReadableStream;
  const following = demux(logs as AsyncIterable<Buffer>, {}, (stream, payload) => tail.push(stream, payload)).catch(() => {});

  const usage: Usage = {};
  let timedOut = false;
  const exited = container.wait();
  let finished = false;
  void exited.finally(() => (finished = true));
  const stop = () => container.stop({ t: req.stopGraceSeconds }).catch((err) => {
    if (!isStatus(err, 304) && !isStatus(err, 404)) throw err;
  });

  while (!finished) {
    if (hooks.signal.aborted) {
      // The worker is going away: leave the container running, the next attempt re-attaches.
      (logs as unknown as { destroy?: () => void }).destroy?.();
      throw new Error('the worker is shutting down; the container keeps running and the retry re-attaches to it');
    }
    await sampleUsage(container, usage);
    const state = (await container.inspect()).State;
    const startedAt = Date.parse(state.StartedAt);
    if (!timedOut && state.Running && Date.now() - startedAt >= req.spec.timeout) {
      timedOut = true;
      await stop();
    }
    deps.capacity.touch(req.runId);
    hooks.heartbeat({ containerId: info.Id, logTail: tail.lines().map((l) => redact(l, secretValues)) });
    await Promise.race([exited, new Promise((r) => setTimeout(r, SAMPLE_EVERY_MS))]);
  }
  await exited;
  await Promise.race([following, new Promise((r) => setTimeout(r, 2000))]);
  (logs as unknown as { destroy?: () => void }).destroy?.();

  const state = (await container.inspect()).State;
  const ranFor = Date.parse(state.FinishedAt) - Date.parse(state.StartedAt);
  // After a re-attach the deadline may have passed while no worker watched: judge by the clock too.
  if (!timedOut && state.ExitCode !== 0 && ranFor >= req.spec.timeout) timedOut = true;
  let lines = tail.lines();
  if (reattached && lines.length === 0) lines = await lastLines(container);
  return {
    exitCode: state.ExitCode,
    reason: timedOut ? 'timeout' : state.OOMKilled ? 'oom' : deps.stopRequested.has(req.runId) ? 'canceled' : 'exit',
    startedAt: state.StartedAt,
    finishedAt: state.FinishedAt,
    peakMemoryBytes: usage.peakMemoryBytes,
    cpuSeconds: usage.cpuSeconds,
    logTail: lines.map((l) => redact(l, secretValues)),
    containerId: info.Id,
    reattached,
  };
}

async function lastLines(container: Docker.Container): Promise<string[]> {
  const tail = new LineTail();
  const logs = (await container.logs({ follow: false, stdout: true, stderr: true, tail: 20 })) as unknown as Buffer;
  await demux([logs], {}, (stream, payload) => tail.push(stream, payload));
  return tail.lines();
}

/** Asks the run's container to stop (SIGTERM, then SIGKILL after the grace period). */
export async function stopContainer(deps: RunDeps, req: ContainerRequest): Promise<void> {
  deps.stopRequested.add(req.runId);
  const container = deps.docker.getContainer(containerName(req, req.attempt, deps.host));
  try {
    await container.stop({ t: req.stopGraceSeconds });
  } catch (err) {
    if (!isStatus(err, 304) && !isStatus(err, 404)) throw err;
  }
}
