// The activities of an action run, built from their dependencies so that a worker passes real
// clients and a test may pass others. Workflows import only the type of what this returns.
import type Docker from 'dockerode';
import { ApplicationFailure, Context } from '@temporalio/activity';
import type { ArtifactStore } from './artifact-store.js';
import type { HostCapacity } from './capacity.js';
import type { Metrics } from './metrics.js';
import { collect } from './collect.js';
import { LABEL, runFilter } from './labels.js';
import { pullImage } from './pull.js';
import { runContainer, stopContainer, type RunDeps } from './run-container.js';
import type {
  CollectAnswer,
  CollectRequest,
  ContainerRequest,
  FinalizeRequest,
  Placement,
  PullAnswer,
  PullRequest,
  RunOutcome,
  RunRef,
} from './types.js';

/** How long a full host holds on to a placement, waiting for a slot, before letting others try. */
const PLACEMENT_WAIT_MS = 5000;

export interface ActivityDeps {
  docker: Docker;
  store: ArtifactStore;
  host: string;
  hostQueue: string;
  capacity: HostCapacity;
  allowedImages: readonly string[];
  dockerConfigDir?: string;
  secretsDir?: string;
  env: NodeJS.ProcessEnv;
  metrics?: Metrics;
}

export function createActivities(deps: ActivityDeps) {
  const stopRequested = new Set<string>();
  const runDeps: RunDeps = {
    docker: deps.docker,
    host: deps.host,
    capacity: deps.capacity,
    secretsDir: deps.secretsDir,
    env: deps.env,
    stopRequested,
    artifactsUri: (req) => {
      const store = req.spec.artifacts.bucket ? deps.store.withBucket(req.spec.artifacts.bucket) : deps.store;
      return store.uri(`${store.base(req.spec.artifacts.prefix, req.actionId)}/`);
    },
  };

  const reportLoad = async () => {
    if (!deps.metrics) return;
    const runs = await deps.capacity.runsInUse();
    const running = await deps.docker.listContainers({ filters: { label: [`${LABEL.host}=${deps.host}`] } });
    deps.metrics.capacityInUse.set(runs.size, { host: deps.host });
    deps.metrics.capacity.set(deps.capacity.capacity, { host: deps.host });
    deps.metrics.containersRunning.set(running.length, { host: deps.host });
  };

  return {
    /** Shared queue: claims a slot on this host, or says it is full so another host may take it. */
    async place(ref: RunRef): Promise<Placement> {
      if (!(await deps.capacity.reserve(ref.runId, PLACEMENT_WAIT_MS))) {
        throw ApplicationFailure.retryable(
          `host ${deps.host} is running ${deps.capacity.capacity} actions (its capacity); waiting for a free slot`,
          'HostFull',
        );
      }
      await reportLoad();
      return { host: deps.host, hostQueue: deps.hostQueue };
    },

    async pull(req: PullRequest): Promise<PullAnswer> {
      deps.capacity.touch(req.runId);
      return pullImage(deps, req.image, (progress) => {
        deps.capacity.touch(req.runId);
        Context.current().heartbeat(progress);
      });
    },

    async runContainer(req: ContainerRequest): Promise<RunOutcome> {
      const ctx = Context.current();
      return runContainer(runDeps, req, {
        heartbeat: (details) => ctx.heartbeat(details),
        signal: ctx.cancellationSignal,
      });
    },

    async stopContainer(req: ContainerRequest): Promise<void> {
      await stopContainer(runDeps, req);
    },

    async collect(req: CollectRequest): Promise<CollectAnswer> {
      const ctx = Context.current();
      const answer = await collect(deps, req, (details) => ctx.heartbeat(details));
      deps.metrics?.bytesUploaded.add(answer.totals.bytes + answer.logs.bytes, { host: deps.host });
      return answer;
    },

    /** Writes result.json next to the artifacts; returns its URI. */
    async finalize(req: FinalizeRequest): Promise<string> {
      const store = req.bucket ? deps.store.withBucket(req.bucket) : deps.store;
      const key = `${store.base(req.prefix, req.result.actionId)}/result.json`;
      await store.put(key, JSON.stringify({ ...req.result, resultUri: store.uri(key) }, null, 2), 'application/json');
      // Finalize runs once per action (a retry only rewrites the same object), so it counts the outcome.
      deps.metrics?.finished.add(1, { status: req.result.status, reason: req.result.reason });
      for (const t of req.result.timings) deps.metrics?.stepSeconds.record(t.ms / 1000, { step: t.step });
      return store.uri(key);
    },

    /** Removes the run's containers and their volumes (one attempt's, or all with attempt 0). */
    async cleanup(req: ContainerRequest): Promise<void> {
      const containers = await deps.docker.listContainers({ all: true, filters: runFilter(req, req.attempt || undefined) });
      for (const c of containers) {
        await deps.docker
          .getContainer(c.Id)
          .remove({ force: true, v: true })
          .catch((err: { statusCode?: number }) => {
            if (err.statusCode !== 404 && err.statusCode !== 409) throw err;
          });
      }
      if (!req.attempt) {
        deps.capacity.release(req.runId);
        stopRequested.delete(req.runId);
      }
      await reportLoad();
    },
  };
}

export type Activities = ReturnType<typeof createActivities>;
