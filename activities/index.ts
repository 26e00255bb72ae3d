// The activities of an action run, built from their dependencies so that a worker passes real
// clients and a test may pass others. Workflows import only the type of what this returns.
import type Docker from 'dockerode';
import { ApplicationFailure, Context } from '@temporalio/activity';
import { needsOf, neverFits } from '../spec/placement.js';
import { betterHost, BETTER_HOST_OFFERS, FRESH_VIEW_MS, OFFER_AGAIN_MS, notHere, preferredElsewhere, PREFER_WAIT_MS, type FleetView, type PlacementMode } from './place.js';
import { artifactsUnavailable, type ArtifactStore } from './artifact-store.js';
import type { HostCapacity } from './capacity.js';
import type { Metrics } from './metrics.js';
import type { SpecSource } from './spec-source.js';
import { ceilingProblems, enforcePolicy, policyRefusal, type Policy } from './policy.js';
import { collect } from './collect.js';
import { execute, removeRun } from './execute.js';
import type { ImageCache } from './image-cache.js';
import { containerName, runFilter } from './labels.js';
import type { HostDisks } from './host-disk.js';
import type { InputCache } from './input-cache.js';
import { removeContainer } from './removal.js';
import { pullImage } from './pull.js';
import { runContainer, stopContainer, type RunDeps } from './run-container.js';
import type {
  CollectAnswer,
  CollectRequest,
  ContainerRequest,
  ExecuteAnswer,
  ExecuteRequest,
  FinalizeRequest,
  Placement,
  PlaceRequest,
  PullAnswer,
  PullRequest,
  RunOutcome,
} from './types.js';

export interface ActivityDeps {
  docker: Docker;
  store: ArtifactStore;
  host: string;
  hostQueue: string;
  capacity: HostCapacity;
  images: ImageCache;
  /** Filesystems of their own for containers' /out and /tmp_disk, where the worker can mount them. */
  disks?: HostDisks;
  /** Disk budget of an action that names none. */
  diskDefaults: { out: number; tmp: number };
  /** Container removals under way; the worker waits for them when it stops. */
  removals: Set<Promise<void>>;
  allowedImages: readonly string[];
  dockerConfigDir?: string;
  secretsDir?: string;
  env: NodeJS.ProcessEnv;
  metrics?: Metrics;
  /** What actions may do on this worker (activities/policy.ts). */
  policy: Policy;
  /** Where the host reads a spec its request left out (see ExecuteRequest.specElided). */
  specs: SpecSource;
  /** The fleet's hosts as they report themselves: whether another host could run what this one cannot. */
  fleet?: FleetView;
  /** Among hosts that can run an action now, which takes it (CAISSON_PLACEMENT). */
  placementMode?: PlacementMode;
  /** Input objects fetched on this host, for other actions asking for the same version (with disks only). */
  inputCache?: InputCache;
}

/**
 * A spec as a request carries it, with the fields added since older runs were scheduled: a request
 * scheduled by an earlier version (and retried after an upgrade) has no inputs or files.
 */
function withDataDefaults(spec: ContainerRequest['spec']): ContainerRequest['spec'] {
  return { ...spec, inputs: spec.inputs ?? [], files: spec.files ?? [] };
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
    engineLost: new Set<string>(),
    disks: deps.disks,
    inputCache: deps.disks ? deps.inputCache : undefined,
    diskBytes: (spec) => (spec.resources.outDisk ?? deps.diskDefaults.out) + (spec.resources.tmpDisk ?? deps.diskDefaults.tmp),
    artifactsUri: (req) => {
      const store = req.spec.artifacts.bucket ? deps.store.withBucket(req.spec.artifacts.bucket) : deps.store;
      return store.uri(`${store.base(req.spec.artifacts.prefix, req.actionId)}/`);
    },
  };

  const reportLoad = () => {
    deps.metrics?.capacityInUse.set(deps.capacity.inUse(), { host: deps.host });
    deps.metrics?.capacity.set(deps.capacity.capacity, { host: deps.host });
  };
  const outDir = async (req: CollectRequest) => {
    const name = containerName(req, req.attempt, deps.host);
    return deps.disks && (await deps.disks.exists(name)) ? deps.disks.paths(name).out : undefined;
  };
  const executeDeps = {
    outDir, run: runDeps, store: deps.store, images: deps.images, capacity: deps.capacity, host: deps.host, metrics: deps.metrics, removals: deps.removals };

  return {
    /**
     * Shared queue, on the placement worker, which polls only while this host has a free slot
     * (HostCapacity.placementSlots): reaching here means a slot is this run's.
     */
    async place(req: PlaceRequest): Promise<Placement> {
      if (!req.resources) {
        // A run started before resource placement: a free slot is all it needs.
        deps.capacity.claim(req.runId);
        reportLoad();
        return { host: deps.host, hostQueue: deps.hostQueue };
      }
      // What this host's policy refuses is said first, before whether it fits anywhere.
      const beyond = ceilingProblems(req.resources, req.timeout, deps.policy);
      if (beyond.length) throw policyRefusal(beyond, deps.host);
      const d = deps.policy.defaults;
      const needs = needsOf(
        { resources: req.resources, placement: req.placement },
        { cpu: d.cpu, memory: d.memory, outDisk: d.outDisk ?? deps.diskDefaults.out, tmpDisk: d.tmpDisk ?? deps.diskDefaults.tmp },
      );
      const verdict = deps.capacity.place(req.runId, needs, req.actionId);
      const waited = Date.now() - (req.waitingSince ?? Date.now());
      const fleet = async () => (deps.fleet ? await deps.fleet.live() : []);
      if ('held' in verdict) {
        const prefer = req.placement?.prefer;
        if (prefer && neverFits({ ...needs, require: prefer }, deps.capacity.totals) && waited < PREFER_WAIT_MS) {
          const preferred = preferredElsewhere(deps.host, needs, prefer, await fleet());
          if (preferred) {
            deps.capacity.release(req.runId);
            throw ApplicationFailure.create({ type: 'NotPlacedHere', message: `host ${preferred} carries the preferred labels: waiting for it first`, nextRetryDelay: OFFER_AGAIN_MS });
          }
        }
        const mode = deps.placementMode ?? 'spread';
        if (deps.fleet && mode !== 'any' && Context.current().info.attempt <= BETTER_HOST_OFFERS && (await deps.fleet.othersMayBeUp(deps.host))) {
          // A fresh view: another host's placement a moment ago changes which host is better.
          const self = { host: deps.host, actions: deps.capacity.actions().length - 1 };
          const better = betterHost(self, needs, mode, await deps.fleet.live(FRESH_VIEW_MS));
          if (better) {
            deps.capacity.release(req.runId);
            throw ApplicationFailure.create({
              type: 'NotPlacedHere',
              message: `host ${better} is the better place (${mode}): offered there first`,
              nextRetryDelay: OFFER_AGAIN_MS,
            });
          }
        }
        reportLoad();
        return { host: deps.host, hostQueue: deps.hostQueue, ...(verdict.held.gpus.length ? { gpus: verdict.held.gpus } : {}) };
      }
      throw notHere({ host: deps.host, totals: deps.capacity.totals }, needs, verdict, await fleet(), waited, req.waitForHostMs ?? 60_000);
    },

    /** Host queue: one attempt from image to result.json (see execute.ts). */
    async execute(req: ExecuteRequest): Promise<ExecuteAnswer> {
      const spec = withDataDefaults(req.specElided ? await deps.specs.load(req) : req.spec);
      // Before anything of the action happens on this host: refused, or given the defaults.
      const answer = await execute(executeDeps, { ...req, spec: enforcePolicy(spec, deps.policy, deps.store.bucket, deps.host) });
      if (!answer.again) reportLoad();
      return answer;
    },

    // The steps below serve runs started before the one-activity shape (workflow patch
    // "one-host-activity"): their histories schedule these, one by one.

    async pull(req: PullRequest): Promise<PullAnswer> {
      deps.capacity.touch(req.runId);
      return pullImage(deps, req.image, (progress) => {
        deps.capacity.touch(req.runId);
        Context.current().heartbeat(progress);
      });
    },

    async runContainer(req: ContainerRequest): Promise<RunOutcome> {
      const ctx = Context.current();
      return runContainer(runDeps, { ...req, spec: withDataDefaults(req.spec) }, {
        heartbeat: (details) => ctx.heartbeat(details),
        signal: ctx.cancellationSignal,
        firstTry: ctx.info.attempt === 1,
      });
    },

    async stopContainer(req: ContainerRequest): Promise<void> {
      await stopContainer(runDeps, req);
    },

    /** Host queue: removes every container of the run and frees its slot. */
    async removeRun(req: ContainerRequest): Promise<void> {
      await removeRun(executeDeps, req);
      reportLoad();
    },

    async collect(req: CollectRequest): Promise<CollectAnswer> {
      const ctx = Context.current();
      const answer = await collect({ ...deps, outDir }, req, (details) => ctx.heartbeat(details));
      deps.metrics?.bytesUploaded.add(answer.totals.bytes + answer.logs.bytes, { host: deps.host });
      return answer;
    },

    /** Writes result.json next to the artifacts; returns its URI. */
    async finalize(req: FinalizeRequest): Promise<string> {
      const store = req.bucket ? deps.store.withBucket(req.bucket) : deps.store;
      const key = `${store.base(req.prefix, req.result.actionId)}/result.json`;
      await store.put(key, JSON.stringify({ ...req.result, resultUri: store.uri(key) }, null, 2), 'application/json').catch((err) => {
        throw artifactsUnavailable(store.bucket, err) ?? err;
      });
      // Finalize runs once per action (a retry only rewrites the same object), so it counts the outcome.
      deps.metrics?.finished.add(1, { status: req.result.status, reason: req.result.reason });
      for (const t of req.result.timings) deps.metrics?.stepSeconds.record(t.ms / 1000, { step: t.step });
      return store.uri(key);
    },

    /** Removes the run's containers and their volumes (one attempt's, or all with attempt 0). */
    async cleanup(req: ContainerRequest): Promise<void> {
      const containers = await deps.docker.listContainers({ all: true, filters: runFilter(req, req.attempt || undefined) });
      for (const c of containers) await removeContainer(deps.docker, deps.disks, c);
      if (!req.attempt) {
        deps.capacity.release(req.runId);
        stopRequested.delete(req.runId);
        runDeps.engineLost.delete(req.runId);
      }
      reportLoad();
    },
  };
}

export type Activities = ReturnType<typeof createActivities>;
