// One worker process serves one Docker host with two Temporal workers: one on the shared queue
// (workflows, placement, finalize) and one on this host's own queue (pull, run, collect, clean-up),
// so that every step of a placed run happens on the host that holds its container.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, Worker, type LogEntry } from '@temporalio/worker';
import { createActivities } from '../activities/index.js';
import { ArtifactStore, s3ClientFromEnv } from '../activities/artifact-store.js';
import { HostCapacity } from '../activities/capacity.js';
import { createMetrics } from '../activities/metrics.js';
import { hostQueue, type WorkerConfig } from './config.js';
import { dockerClient } from './docker.js';
import { reconcileContainers } from './reconcile.js';
import { connectionOptions } from '../common/temporal-connection.js';

let runtimeInstalled = false;

/** The workflow code bundled at build time (scripts/bundle-workflows.mjs), next to build/worker/. */
function workflowBundlePath(): string {
  const path = fileURLToPath(new URL('../workflow-bundle.js', import.meta.url));
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
    telemetryOptions: metricsPort ? { metrics: { prometheus: { bindAddress: `127.0.0.1:${metricsPort}` } } } : undefined,
    logger: new DefaultLogger('INFO', (entry: LogEntry) => {
      const { message, level, meta } = entry;
      const actionId = (meta as { workflowId?: string } | undefined)?.workflowId;
      process.stderr.write(
        JSON.stringify({ time: new Date().toISOString(), level, message, actionId, ...meta }) + '\n',
      );
    }),
  });
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
  const docker = dockerClient();
  await docker.ping().catch((err: Error) => {
    throw new Error(`cannot reach the Docker engine at ${config.DOCKER_HOST ?? 'the default socket'}: ${err.message}`);
  });
  const connection = await NativeConnection.connect(settings);
  const clientConnection = await Connection.connect(settings);
  const client = new Client({ connection: clientConnection, namespace: config.TEMPORAL_NAMESPACE });

  const ownQueue = hostQueue(config.CAISSON_TASK_QUEUE, config.CAISSON_HOST);

  const activities = createActivities({
    docker,
    store: new ArtifactStore(s3ClientFromEnv(config), config.CAISSON_ARTIFACTS_BUCKET, config.CAISSON_ARTIFACTS_PREFIX),
    host: config.CAISSON_HOST,
    hostQueue: ownQueue,
    capacity: new HostCapacity(docker, config.CAISSON_CAPACITY, config.CAISSON_HOST),
    allowedImages: config.CAISSON_ALLOWED_IMAGES,
    dockerConfigDir: config.DOCKER_CONFIG,
    secretsDir: config.CAISSON_SECRETS_DIR,
    env: process.env,
    metrics: createMetrics(Runtime.instance().metricMeter),
  });

  const common = { connection, namespace: config.TEMPORAL_NAMESPACE, shutdownGraceTime: '5s' } as const;
  const sharedWorker = await Worker.create({
    ...common,
    taskQueue: config.CAISSON_TASK_QUEUE,
    workflowBundle: { codePath: workflowBundlePath() },
    activities: { place: activities.place, finalize: activities.finalize },
  });
  const hostWorker = await Worker.create({
    ...common,
    taskQueue: ownQueue,
    activities,
    // Run activities hold a slot for the whole run; room beyond the capacity keeps pulls, stops and
    // collections from ever waiting behind them.
    maxConcurrentActivityTaskExecutions: config.CAISSON_CAPACITY * 4 + 8,
  });
  log.info('worker started', {
    host: config.CAISSON_HOST,
    taskQueue: config.CAISSON_TASK_QUEUE,
    hostQueue: ownQueue,
    capacity: config.CAISSON_CAPACITY,
  });
  // Reconciling asks workflows where they run: it needs workers polling, so it runs once they are.
  const reconciled = reconcileContainers(docker, client, config.CAISSON_HOST).then(
    (report) => log.info('reconciled containers left from earlier runs', { removed: report.removed, kept: report.kept }),
    (err: Error) => log.warn('could not reconcile containers left from earlier runs', { error: err.message }),
  );
  try {
    // Both stop together on SIGINT/SIGTERM (the SDK's runtime catches them): in-flight activities
    // get the grace time, and a run cut short is re-attached by its retry on the next start.
    await Promise.all([sharedWorker.run(), hostWorker.run()]);
  } finally {
    await reconciled;
    await connection.close();
    await clientConnection.close();
    log.info('worker stopped');
  }
}
