// What this worker learns of its Docker host before it polls for anything: the engine answers,
// where containers' disks go, what the host gives actions in all, and what already runs there, so
// that a restarted worker never takes more than its capacity.
import { statfs } from 'node:fs/promises';
import { availableParallelism, totalmem } from 'node:os';
import type Docker from 'dockerode';
import type { Logger } from '@temporalio/worker';
import { HostCapacity } from '../activities/placement/capacity.js';
import { HostDisks, hostDisksUsable } from '../activities/disks/host-disk.js';
import { EngineWatch } from '../activities/container/engine-watch.js';
import type { Owner } from '../activities/container/labels.js';
import type { HostTotals } from '../spec/placement.js';
import { hostQueue, type WorkerConfig } from './config.js';
import { dockerClient } from './docker.js';
import { runsOnEngine } from './reconcile.js';

export interface PreparedHost {
  /** Who this worker is on the engine: its host name, namespace and own queue. */
  owner: Owner;
  disks: HostDisks | undefined;
  capacity: HostCapacity;
  engine: EngineWatch;
}

/** The engine, answering: the client reads DOCKER_CERT_PATH's files when it is made, so a missing one is also "cannot reach". */
export async function connectEngine(dockerHost: string | undefined): Promise<Docker> {
  try {
    const docker = dockerClient();
    await docker.ping();
    return docker;
  } catch (err) {
    throw new Error(
      `cannot reach the Docker engine at ${dockerHost ?? 'the default socket'}: ${(err as Error).message}`,
    );
  }
}

/** The host's load, read from the engine once, before this worker polls for placements. */
export async function prepareHost(config: WorkerConfig, docker: Docker, log: Logger): Promise<PreparedHost> {
  const owner = {
    host: config.CAISSON_HOST,
    namespace: config.TEMPORAL_NAMESPACE,
    queue: hostQueue(config.CAISSON_TASK_QUEUE, config.CAISSON_HOST),
  };
  const disks = await containerDisks(config, log);
  const capacity = new HostCapacity(
    config.CAISSON_CAPACITY,
    Date.now,
    await hostTotals(config, disks, docker),
    config.CAISSON_GANG_PORTS,
  );
  // While the engine is away this host takes no placements; its runs wait for it (engine-watch.ts).
  const engine = new EngineWatch(docker, (away) => {
    capacity.engineAway(away ? `the container engine of host ${config.CAISSON_HOST} does not answer` : undefined);
    if (away)
      log.warn('the container engine went away: placements paused until it answers', { host: config.CAISSON_HOST });
    else log.info('the container engine answers again: placements resumed', { host: config.CAISSON_HOST });
  });
  await engine.start();
  capacity.seed(await runsOnEngine(docker, owner));
  return { owner, disks, capacity, engine };
}

/**
 * Containers get filesystems of their own for /out and /tmp_disk where this worker can make them:
 * as root, beside a local engine (a remote one cannot see this host's mounts). Elsewhere they get
 * anonymous volumes without a size limit, and /out is read through the engine.
 */
async function containerDisks(
  config: WorkerConfig,
  log: { warn(message: string, meta?: object): void },
): Promise<HostDisks | undefined> {
  if (config.CAISSON_DISKS_DIR === 'off') return undefined;
  const local = !config.DOCKER_HOST || config.DOCKER_HOST.startsWith('unix://');
  const usable = local
    ? await hostDisksUsable(config.CAISSON_DISKS_DIR)
    : { ok: false as const, why: `the engine is remote (${config.DOCKER_HOST})` };
  if (!usable.ok) {
    log.warn('containers get anonymous volumes for /out and /tmp_disk, without a size limit', { why: usable.why });
    return undefined;
  }
  return new HostDisks(config.CAISSON_DISKS_DIR);
}

/**
 * What this host gives actions in all: the config's figures, else the engine's (its cores and
 * memory: a remote engine's machine is not this one), else this machine's.
 */
async function hostTotals(config: WorkerConfig, disks: HostDisks | undefined, docker: Docker): Promise<HostTotals> {
  const info = (await docker.info().catch(() => undefined)) as { NCPU?: number; MemTotal?: number } | undefined;
  let disk = config.CAISSON_HOST_DISK ?? Infinity;
  if (config.CAISSON_HOST_DISK === undefined && disks) {
    // Budgets are sparse files: their sum may not pass the size of the filesystem holding them.
    const fs = await statfs(config.CAISSON_DISKS_DIR).catch(() => undefined);
    if (fs) disk = fs.blocks * fs.bsize;
  }
  return {
    cpu: config.CAISSON_HOST_CPU ?? (info?.NCPU || availableParallelism()),
    memory: config.CAISSON_HOST_MEMORY ?? (info?.MemTotal || totalmem()),
    disk,
    gpus: config.CAISSON_GPUS,
    labels: config.CAISSON_HOST_LABELS,
  };
}
