// The activities this worker serves, built from its config: the policy file and allowed images,
// the artifact store and fleet registry in S3, the image and input caches, and the host prepared
// by host-setup.ts. What the worker itself still needs of them (metrics, removals under way, the
// registry it reports to) is handed back beside them.
import { dirname, join } from 'node:path';
import type Docker from 'dockerode';
import type { Client } from '@temporalio/client';
import { Runtime, type Logger } from '@temporalio/worker';
import { createActivities } from '../activities/index.js';
import type { ContainerRunTracer } from '../activities/execute/run-tracing.js';
import { SpecSource } from '../activities/trust/spec-source.js';
import { ArtifactStore, s3ClientFromEnv } from '../activities/store/artifact-store.js';
import { ImageCache } from '../activities/images/image-cache.js';
import { InputCache } from '../activities/inputs/input-cache.js';
import { createMetrics } from '../activities/metrics.js';
import { FleetView } from '../activities/placement/place.js';
import { FleetRegistry } from '../common/storage/fleet-registry.js';
import type { WorkerConfig } from './config.js';
import type { PreparedHost } from './host-setup.js';
import { loadPolicy } from './policy-file.js';
import { startEgress } from './egress-setup.js';
import { createGangHost } from '../activities/gang/gang-host.js';
import { countS3Errors } from './s3-errors.js';

export async function hostActivities(
  config: WorkerConfig,
  here: { docker: Docker; host: PreparedHost; client: Client; log: Logger; containerRuns?: ContainerRunTracer },
) {
  const { docker, host, client, log, containerRuns } = here;
  const s3 = s3ClientFromEnv(config);
  const registry = new FleetRegistry(s3, config.CAISSON_ARTIFACTS_BUCKET, config.CAISSON_TASK_QUEUE);
  const metrics = createMetrics(Runtime.instance().metricMeter);
  countS3Errors(s3, metrics, config.CAISSON_HOST);
  const removals = new Set<Promise<void>>();
  const { policy, images } = loadPolicy(config.CAISSON_POLICY_FILE);
  const allowedImages = images ?? config.CAISSON_ALLOWED_IMAGES;
  if (!allowedImages.length)
    log.warn(
      'no image is allowed on this worker, so every action is refused: set CAISSON_ALLOWED_IMAGES (or "images" in the policy file), "*" for any',
    );
  const egress = await startEgress(policy, docker, log);
  // Gang networks need the engine's bridges on this machine (forwarding switches, addresses on
  // them): only beside a local engine, and only where peers have an address to reach this host.
  const localEngine = !config.DOCKER_HOST || config.DOCKER_HOST.startsWith('unix://');
  const gang =
    config.CAISSON_HOST_ADDRESS && localEngine
      ? createGangHost(docker, host.owner, config.CAISSON_HOST_ADDRESS, (message, attrs) => log.warn(message, attrs))
      : undefined;
  const activities = createActivities({
    policy,
    egress,
    gang,
    removals,
    disks: host.disks,
    inputCache: host.disks
      ? new InputCache(
          s3,
          config.CAISSON_INPUT_CACHE_DIR ?? join(dirname(config.CAISSON_DISKS_DIR), 'input-cache'),
          config.CAISSON_INPUT_CACHE_SIZE,
        )
      : undefined,
    diskDefaults: { out: config.CAISSON_OUT_DISK, tmp: config.CAISSON_TMP_DISK },
    docker,
    engine: host.engine,
    engineAwayMs: config.CAISSON_ENGINE_AWAY_SECONDS * 1000,
    engineShutdownMs: config.CAISSON_ENGINE_SHUTDOWN_SECONDS * 1000,
    store: new ArtifactStore(s3, config.CAISSON_ARTIFACTS_BUCKET, config.CAISSON_ARTIFACTS_PREFIX),
    fleet: new FleetView(registry),
    placementMode: config.CAISSON_PLACEMENT,
    host: config.CAISSON_HOST,
    // Only a host that can join gangs (its engine local) says it has an address for them.
    hostAddress: gang?.address,
    hostQueue: host.owner.queue,
    capacity: host.capacity,
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
    containerRuns,
  });
  return { activities, policy, allowedImages, registry, metrics, removals, egress, gang };
}
