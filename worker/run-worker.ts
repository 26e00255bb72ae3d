// One worker process serves one Docker host with two Temporal workers: one on the shared queue
// (workflows, placement, finalize) and one on this host's own queue (pull, run, collect, clean-up),
// so that every step of a placed run happens on the host that holds its container.
import { existsSync } from 'node:fs';
import { statfs } from 'node:fs/promises';
import { availableParallelism, totalmem } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Client, Connection } from '@temporalio/client';
import type Docker from 'dockerode';
import { DefaultLogger, NativeConnection, Runtime, Worker, type LogEntry } from '@temporalio/worker';
import { createActivities } from '../activities/index.js';
import { SpecSource } from '../activities/trust/spec-source.js';
import { ArtifactStore, s3ClientFromEnv } from '../activities/store/artifact-store.js';
import { HostCapacity } from '../activities/placement/capacity.js';
import { ImageCache } from '../activities/images/image-cache.js';
import { HostDisks, hostDisksUsable } from '../activities/disks/host-disk.js';
import { InputCache } from '../activities/inputs/input-cache.js';
import { dirname, join } from 'node:path';
import { LABEL } from '../activities/container/labels.js';
import { createMetrics } from '../activities/metrics.js';
import { hostQueue, type WorkerConfig } from './config.js';
import { resultsQueue } from '../spec/workflow-api.js';
import { dockerClient } from './docker.js';
import { runsOnEngine } from './reconcile.js';
import { startReconciling } from './reconcile-loop.js';
import { loadPolicy } from './policy-file.js';
import { connectionOptions, dataConverterFor } from '../common/connection/temporal-connection.js';
import { FleetRegistry } from '../common/storage/fleet-registry.js';
import { FleetView } from '../activities/placement/place.js';
import type { HostTotals } from '../spec/placement.js';
import { startFleetReports } from './fleet-loop.js';
import { EngineWatch } from '../activities/container/engine-watch.js';

let runtimeInstalled = false;

/**
 * The workflow code bundled at build time (scripts/bundle-workflows.mjs), next to build/worker/:
 * for encrypted workers, the bundle that encodes workflow failures as their converter does.
 */
function workflowBundlePath(encodedFailures: boolean): string {
  const path = fileURLToPath(
    new URL(encodedFailures ? '../workflow-bundle-encoded.js' : '../workflow-bundle.js', import.meta.url),
  );
  if (!existsSync(path)) throw new Error(`no workflow bundle at ${path}: run "npm run build" first`);
  return path;
}

/**
 * JSON lines on stderr (the SDK adds the workflow id, the action id, to every activity's entries),
 * and Prometheus metrics on 127.0.0.1:<port> when a port is configured.
 */
function installRuntime(metricsPort: number | undefined): void {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  Runtime.install({
    // SIGINT and SIGTERM drain the host first (runWorker), then shut the workers down.
    shutdownSignals: [],
    telemetryOptions: metricsPort
      ? { metrics: { prometheus: { bindAddress: `127.0.0.1:${metricsPort}` } } }
      : undefined,
    logger: new DefaultLogger('INFO', (entry: LogEntry) => {
      const { message, level, meta } = entry;
      const actionId = (meta as { workflowId?: string } | undefined)?.workflowId;
      process.stderr.write(
        JSON.stringify({ time: new Date().toISOString(), level, message, actionId, ...meta }) + '\n',
      );
    }),
  });
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

async function connectEngine(dockerHost: string | undefined) {
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

export async function runWorker(config: WorkerConfig): Promise<void> {
  installRuntime(config.CAISSON_METRICS_PORT);
  const log = Runtime.instance().logger;
  const settings = connectionOptions({
    address: config.TEMPORAL_ADDRESS,
    namespace: config.TEMPORAL_NAMESPACE,
    apiKey: config.TEMPORAL_API_KEY,
    tlsCert: config.TEMPORAL_TLS_CERT,
    tlsKey: config.TEMPORAL_TLS_KEY,
    tlsCa: config.TEMPORAL_TLS_CA,
  });
  // The client reads DOCKER_CERT_PATH's files when it is made: a missing one is also "cannot reach".
  const docker = await connectEngine(config.DOCKER_HOST);
  const where = `Temporal at ${config.TEMPORAL_ADDRESS} (namespace ${config.TEMPORAL_NAMESPACE})`;
  const reached = <T>(connecting: Promise<T>) =>
    connecting.catch((err: Error) => {
      throw new Error(`cannot connect to ${where}: ${err.message}`, { cause: err });
    });
  const connection = await reached(NativeConnection.connect(settings));
  const clientConnection = await reached(Connection.connect(settings));
  // Encrypted payloads when CAISSON_CODEC_KEYS is set: the workers and this client (reconcile's
  // queries, specs read from history) use the same codec as every client.
  const dataConverter = dataConverterFor({ codecKeys: config.CAISSON_CODEC_KEYS });
  const client = new Client({ connection: clientConnection, namespace: config.TEMPORAL_NAMESPACE, dataConverter });

  const ownQueue = hostQueue(config.CAISSON_TASK_QUEUE, config.CAISSON_HOST);

  // The host's load, read from the engine once, before this worker polls for placements: a
  // restarted worker never takes more than its capacity.
  const disks = await containerDisks(config, log);
  const capacity = new HostCapacity(config.CAISSON_CAPACITY, Date.now, await hostTotals(config, disks, docker));
  // While the engine is away this host takes no placements; its runs wait for it (engine-watch.ts).
  const engine = new EngineWatch(docker, (away) => {
    capacity.engineAway(away ? `the container engine of host ${config.CAISSON_HOST} does not answer` : undefined);
    if (away)
      log.warn('the container engine went away: placements paused until it answers', { host: config.CAISSON_HOST });
    else log.info('the container engine answers again: placements resumed', { host: config.CAISSON_HOST });
  });
  await engine.start();
  const owner = { host: config.CAISSON_HOST, namespace: config.TEMPORAL_NAMESPACE, queue: ownQueue };
  capacity.seed(await runsOnEngine(docker, owner));
  const s3 = s3ClientFromEnv(config);
  const registry = new FleetRegistry(s3, config.CAISSON_ARTIFACTS_BUCKET, config.CAISSON_TASK_QUEUE);
  const metrics = createMetrics(Runtime.instance().metricMeter);
  const removals = new Set<Promise<void>>();
  const { policy, images } = loadPolicy(config.CAISSON_POLICY_FILE);
  const allowedImages = images ?? config.CAISSON_ALLOWED_IMAGES;
  if (!allowedImages.length)
    log.warn(
      'no image is allowed on this worker, so every action is refused: set CAISSON_ALLOWED_IMAGES (or "images" in the policy file), "*" for any',
    );
  const activities = createActivities({
    policy,
    removals,
    disks,
    inputCache: disks
      ? new InputCache(
          s3,
          config.CAISSON_INPUT_CACHE_DIR ?? join(dirname(config.CAISSON_DISKS_DIR), 'input-cache'),
          config.CAISSON_INPUT_CACHE_SIZE,
        )
      : undefined,
    diskDefaults: { out: config.CAISSON_OUT_DISK, tmp: config.CAISSON_TMP_DISK },
    docker,
    engine,
    engineAwayMs: config.CAISSON_ENGINE_AWAY_SECONDS * 1000,
    store: new ArtifactStore(s3, config.CAISSON_ARTIFACTS_BUCKET, config.CAISSON_ARTIFACTS_PREFIX),
    fleet: new FleetView(registry),
    placementMode: config.CAISSON_PLACEMENT,
    host: config.CAISSON_HOST,
    hostQueue: ownQueue,
    capacity,
    images: new ImageCache(
      {
        docker,
        allowedImages,
        dockerConfigDir: config.DOCKER_CONFIG,
        registryWaitMs: config.CAISSON_REGISTRY_WAIT_SECONDS * 1000,
      },
      config.CAISSON_PULL_WINDOW * 1000,
    ),
    allowedImages,
    dockerConfigDir: config.DOCKER_CONFIG,
    secretsDir: config.CAISSON_SECRETS_DIR,
    env: process.env,
    metrics,
    specs: new SpecSource(client),
  });

  const common = { connection, namespace: config.TEMPORAL_NAMESPACE, shutdownGraceTime: '5s', dataConverter } as const;
  const fixed = (numSlots: number) => ({ type: 'fixed-size', numSlots }) as const;
  // The workflows of the shared queue.
  const sharedWorker = await Worker.create({
    ...common,
    taskQueue: config.CAISSON_TASK_QUEUE,
    workflowBundle: { codePath: workflowBundlePath(Boolean(dataConverter.failureConverterPath)) },
  });
  // Placement: the shared queue's activities, polled only while this host has a free slot, so a
  // full host does not poll and waiting actions stay in Temporal's queue. (Finalize is here for
  // runs started before the one-host-activity shape, which schedule it on the shared queue.)
  const placementWorker = await Worker.create({
    ...common,
    taskQueue: config.CAISSON_TASK_QUEUE,
    activities: { place: activities.place, finalize: activities.finalize },
    tuner: {
      activityTaskSlotSupplier: capacity.placementSlots(),
      workflowTaskSlotSupplier: fixed(1),
      localActivityTaskSlotSupplier: fixed(1),
      nexusTaskSlotSupplier: fixed(1),
    },
  });
  // result.json for runs that ended without their host writing it: any worker, any time.
  const resultsWorker = await Worker.create({
    ...common,
    taskQueue: resultsQueue(config.CAISSON_TASK_QUEUE),
    activities: { finalize: activities.finalize },
  });
  const hostWorker = await Worker.create({
    ...common,
    taskQueue: ownQueue,
    activities,
    // Execute holds a slot for a whole run; room beyond the capacity keeps stops and the steps of
    // older runs from ever waiting behind them.
    maxConcurrentActivityTaskExecutions: config.CAISSON_CAPACITY * 4 + 8,
    // The SDK holds heartbeats back to 80% of the heartbeat timeout (12 s) by default: the phase and
    // the live log tail they carry would lag that much. One a second per running action.
    maxHeartbeatThrottleInterval: '1s',
  });
  // The fleet knows this host (what it has, what runs, drained or not) before it takes anything.
  const reports = startFleetReports({
    registry,
    capacity,
    host: config.CAISSON_HOST,
    taskQueue: config.CAISSON_TASK_QUEUE,
    log,
  });
  await reports.ready;
  const workers = [sharedWorker, placementWorker, resultsWorker, hostWorker];
  const workflowOpen = async (actionId: string) => {
    try {
      return (await client.workflow.getHandle(actionId).describe()).status.name === 'RUNNING';
    } catch {
      return false; // gone, or not reachable now: nothing this worker can still finish for it
    }
  };
  const stopOnSignals = drainThenStop({
    capacity,
    workers,
    reports,
    workflowOpen,
    drainMs: config.CAISSON_DRAIN_SECONDS * 1000,
    log,
  });
  log.info('worker started', {
    host: config.CAISSON_HOST,
    taskQueue: config.CAISSON_TASK_QUEUE,
    hostQueue: ownQueue,
    capacity: config.CAISSON_CAPACITY,
    placement: config.CAISSON_PLACEMENT,
    totals: { ...capacity.totals, disk: Number.isFinite(capacity.totals.disk) ? capacity.totals.disk : 'unbounded' },
    inUse: capacity.inUse(),
    allowedImages,
    policy: { file: config.CAISSON_POLICY_FILE ?? '(built in)', ...policy },
    payloads: dataConverter.payloadCodecs.length ? 'encrypted (AES-256-GCM)' : 'not encrypted (set CAISSON_CODEC_KEYS)',
  });
  // Containers running on this host, for the gauge: off the path of any action.
  const gauge = setInterval(() => {
    docker
      .listContainers({ filters: { label: [`${LABEL.host}=${config.CAISSON_HOST}`] } })
      .then((running) => metrics.containersRunning.set(running.length, { host: config.CAISSON_HOST }))
      .catch(() => {});
  }, 10_000);
  gauge.unref();
  // Reconciling asks workflows where they run: it needs workers polling, so it runs once they are,
  // and then every CAISSON_RECONCILE_SECONDS until the worker stops.
  const reconciler = startReconciling({
    docker,
    client,
    owner,
    disks,
    capacity,
    everyMs: config.CAISSON_RECONCILE_SECONDS * 1000,
  });
  try {
    // They stop together after a drain (SIGINT/SIGTERM, drainThenStop): in-flight activities get
    // the grace time, and a run cut short is re-attached by its retry on the next start.
    await Promise.all(workers.map((w) => w.run()));
  } finally {
    stopOnSignals();
    engine.stop();
    await reports.stop();
    clearInterval(gauge);
    // Runs that ended just before the stop: their containers go now, not at the next start.
    await Promise.all([...removals]);
    await reconciler.stop();
    await connection.close();
    await clientConnection.close();
    log.info('worker stopped');
  }
}

/**
 * SIGINT or SIGTERM: the host takes nothing new (and the fleet is told), what runs is waited for
 * up to `drainMs`, then the workers shut down. A second signal shuts them down at once. Runs still
 * going then are re-attached by their retries when a worker of this host starts again.
 */
function drainThenStop(options: {
  capacity: HostCapacity;
  workers: Worker[];
  reports: { selfDrain(why: string): Promise<void> };
  /** Whether an action's workflow is still open (its last workflow task may still need this worker). */
  workflowOpen: (actionId: string) => Promise<boolean>;
  drainMs: number;
  log: {
    info(message: string, meta?: Record<string, unknown>): void;
    warn(message: string, meta?: Record<string, unknown>): void;
  };
}): () => void {
  const { capacity, workers, reports, workflowOpen, drainMs, log } = options;
  let draining = false;
  const shutdown = () => {
    for (const w of workers) if (w.getState() === 'RUNNING') w.shutdown();
  };
  const onSignal = (signal: NodeJS.Signals) => {
    if (draining) {
      log.warn('second signal: stopping now', { signal, running: capacity.inUse() });
      return shutdown();
    }
    draining = true;
    log.info('draining: no new actions; waiting for the running ones', {
      signal,
      running: capacity.inUse(),
      waitSeconds: drainMs / 1000,
    });
    void (async () => {
      const ran = capacity.actions();
      await reports.selfDrain(`the worker is stopping (${signal})`);
      const deadline = Date.now() + drainMs;
      const pause = () => new Promise((r) => setTimeout(r, 250));
      while (capacity.inUse() > 0 && Date.now() < deadline) await pause();
      if (capacity.inUse() > 0)
        log.warn('drain time is up: stopping; the runs still going re-attach when this host starts again', {
          running: capacity.actions(),
        });
      // The host activity has returned, but the workflow still has a task to finish (its result). When
      // this is the only worker on the queue, stopping now would leave the action open until another
      // comes: wait for those workflows too, briefly (one that runs on, e.g. to retry on another host,
      // needs no more of this worker).
      const settleBy = Math.min(deadline, Date.now() + 10_000);
      let open = ran;
      while (open.length && Date.now() < settleBy) {
        open = (await Promise.all(open.map(async (id) => ((await workflowOpen(id)) ? [id] : [])))).flat();
        if (open.length) await pause();
      }
      shutdown();
    })();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return () => {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  };
}
