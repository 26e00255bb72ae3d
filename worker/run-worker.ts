// One worker process serves one Docker host with Temporal workers on the shared queue (workflows,
// placement, finalize), the results queue and this host's own queue (pull, run, collect, clean-up),
// so that every step of a placed run happens on the host that holds its container. This is the
// order of its life: setup (host-setup.ts, temporal-connections.ts, host-activities.ts), roles
// (roles.ts), the loops beside them (fleet reports, gauges, reconcile), and drain (drain.ts); the
// operator's endpoint (ops-server.ts) answers from the start, ready once the workers poll.
import { Runtime, type Logger } from '@temporalio/worker';
import type { HostCapacity } from '../activities/placement/capacity.js';
import type { WorkerConfig } from './config.js';
import { connectEngine, prepareHost } from './host-setup.js';
import { connectTemporal, type TemporalConnections } from './temporal-connections.js';
import { hostActivities } from './host-activities.js';
import { createRoles } from './roles.js';
import { startFleetReports } from './fleet-loop.js';
import { drainThenStop, workflowOpenIn } from './drain.js';
import { startContainerGauge } from './container-gauge.js';
import { startReconciling } from './reconcile-loop.js';
import { installRuntime } from './runtime.js';
import { freeLoopbackPort, opsAddress, startOpsServer } from './ops-server.js';
import { Readiness } from './readiness.js';
import { startHostGauges } from './host-gauges.js';
import { startWorkerTracing } from './tracing.js';

export async function runWorker(config: WorkerConfig): Promise<void> {
  const address = opsAddress(config);
  const runtimeMetricsPort = address ? await freeLoopbackPort() : undefined;
  installRuntime(config, runtimeMetricsPort);
  const log = Runtime.instance().logger;
  const readiness = new Readiness();
  const ops = address && runtimeMetricsPort ? await startOpsServer(address, runtimeMetricsPort, readiness) : undefined;
  const docker = await connectEngine(config.DOCKER_HOST);
  const temporal = await connectTemporal(config);
  const host = await prepareHost(config, docker, log);
  const { capacity, owner } = host;
  const tracing = config.CAISSON_OTEL && (await startWorkerTracing(config.CAISSON_OTEL));
  const wired = await hostActivities(config, {
    docker,
    host,
    client: temporal.client,
    log,
    containerRuns: tracing?.containerRuns,
  });
  const workers = await createRoles(config, {
    temporal,
    activities: wired.activities,
    capacity,
    hostQueue: owner.queue,
    tracing,
  });
  // The fleet knows this host (what it has, what runs, drained or not) before it takes anything.
  const reports = startFleetReports({
    registry: wired.registry,
    capacity,
    host: config.CAISSON_HOST,
    taskQueue: config.CAISSON_TASK_QUEUE,
    address: wired.gang?.address,
    log,
  });
  await reports.ready;
  const stopOnSignals = drainThenStop({
    capacity,
    workers,
    reports,
    workflowOpen: workflowOpenIn(temporal.client),
    drainMs: config.CAISSON_DRAIN_SECONDS * 1000,
    log,
  });
  logStarted(log, config, { capacity, hostQueue: owner.queue, wired, temporal });
  const stopGauge = startContainerGauge(docker, config.CAISSON_HOST, wired.metrics);
  readiness.serve({ workers, capacity, docker });
  const stopHostGauges = startHostGauges(capacity, readiness, config.CAISSON_HOST, wired.metrics);
  // Reconciling asks workflows where they run: it needs workers polling, so it runs once they are,
  // and then every CAISSON_RECONCILE_SECONDS until the worker stops.
  const reconciler = startReconciling({
    docker,
    client: temporal.client,
    owner,
    disks: host.disks,
    capacity,
    gang: wired.gang,
    everyMs: config.CAISSON_RECONCILE_SECONDS * 1000,
  });
  try {
    // They stop together after a drain (SIGINT/SIGTERM, drainThenStop): in-flight activities get
    // the grace time, and a run cut short is re-attached by its retry on the next start.
    await Promise.all(workers.map((w) => w.run()));
  } finally {
    stopOnSignals();
    host.engine.stop();
    await reports.stop();
    stopGauge();
    stopHostGauges();
    readiness.stop();
    // Runs that ended just before the stop: their containers go now, not at the next start.
    await Promise.all([...wired.removals]);
    await reconciler.stop();
    await wired.egress?.closeAll();
    await wired.gang?.closeAll();
    await temporal.close();
    await ops?.close();
    if (tracing) await tracing.shutdown();
    log.info('worker stopped');
  }
}

/** What the worker serves and how, said once it polls: the first line an operator looks for. */
function logStarted(
  log: Logger,
  config: WorkerConfig,
  started: {
    capacity: HostCapacity;
    hostQueue: string;
    wired: Awaited<ReturnType<typeof hostActivities>>;
    temporal: TemporalConnections;
  },
): void {
  const { capacity, wired } = started;
  log.info('worker started', {
    host: config.CAISSON_HOST,
    taskQueue: config.CAISSON_TASK_QUEUE,
    hostQueue: started.hostQueue,
    capacity: config.CAISSON_CAPACITY,
    placement: config.CAISSON_PLACEMENT,
    totals: { ...capacity.totals, disk: Number.isFinite(capacity.totals.disk) ? capacity.totals.disk : 'unbounded' },
    inUse: capacity.inUse(),
    allowedImages: wired.allowedImages,
    policy: { file: config.CAISSON_POLICY_FILE ?? '(built in)', ...wired.policy },
    tracing: config.CAISSON_OTEL ? config.CAISSON_OTEL.exporter : 'off (set CAISSON_OTEL)',
    payloads: started.temporal.dataConverter.payloadCodecs.length
      ? 'encrypted (AES-256-GCM)'
      : 'not encrypted (set CAISSON_CODEC_KEYS)',
  });
}
