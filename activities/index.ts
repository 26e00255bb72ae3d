// The activities of an action run, built from their dependencies so that a worker passes real
// clients and a test may pass others. Workflows import only the type of what this returns. What
// each activity decides lives with its concern (placement/, trust/, execute.ts); here each one is
// only wired to the dependencies it needs.
import { availableParallelism } from 'node:os';
import type Docker from 'dockerode';
import { Context } from '@temporalio/activity';
import type { Action } from '../spec/action.js';
import { gangReservation, MAX_REPLICAS } from '../spec/gang.js';
import type { Needs } from '../spec/placement.js';
import { ActionResultSchema } from '../spec/result.js';
import type { FleetView, PlacementMode } from './placement/place.js';
import { decidePlacement, waitedMs } from './placement/placement-decision.js';
import { holdPlaceHere } from './placement/hold-place.js';
import { hostNeeds } from './placement/host-needs.js';
import { checkGangAsk, fleetNeverHolds, noAddressHere, roundOver } from './placement/gang-place.js';
import { checkReplicaPeers } from './trust/replica-peers.js';
import { artifactsUnavailable, type ArtifactStore } from './store/artifact-store.js';
import type { HostCapacity } from './placement/capacity.js';
import type { Metrics } from './metrics.js';
import type { SpecSource } from './trust/spec-source.js';
import {
  bucketAllowed,
  ceilingProblems,
  enforcePolicy,
  gangNetworkProblems,
  policyRefusal,
  type Policy,
} from './trust/policy.js';
import { checkExecuteRequest, checkStopRequest, trustedRun } from './trust/host-gate.js';
import { refusedByHost } from './trust/refused.js';
import { grantProblems, type GrantSources } from './trust/secret-grants.js';
import { findTemplate, templateStore, type StoredTemplate } from '../common/templates/templates.js';
import { execute, folderOwner, folderTaken, removeRun } from './execute.js';
import type { ImageCache } from './images/image-cache.js';
import { containerName } from './container/labels.js';
import type { HostDisks } from './disks/host-disk.js';
import type { InputCache } from './inputs/input-cache.js';
import { stopContainer, type RunDeps } from './container/run-container.js';
import type { EngineWatch } from './container/engine-watch.js';
import type { EgressProxies } from './egress/egress-proxies.js';
import type { GangHost } from './gang/gang-host.js';
import type { ContainerRunTracer } from './execute/run-tracing.js';
import type {
  CollectRequest,
  ContainerRequest,
  ExecuteAnswer,
  ExecuteRequest,
  FinalizeRequest,
  Placement,
  PlaceRequest,
  ReleaseRequest,
} from './types.js';

export interface ActivityDeps {
  docker: Docker;
  /** Tells when the engine's connection breaks, and whether it answers (engine-watch.ts). */
  engine: EngineWatch;
  /** How long a run waits for an engine that went away before it is placed elsewhere. */
  engineAwayMs: number;
  /** How long an exit by a signal nobody asked for waits to be told from the engine shutting down. */
  engineShutdownMs?: number;
  store: ArtifactStore;
  host: string;
  /** CAISSON_HOST_ADDRESS: where other hosts reach this one's gang replicas; unset, none on network "gang" here. */
  hostAddress?: string;
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
  /** What actions may do on this worker (activities/trust/policy.ts). */
  policy: Policy;
  /** Where the host reads each run's start: the only spec it runs (activities/trust/host-gate.ts). */
  specs: SpecSource;
  /** The fleet's hosts as they report themselves: whether another host could run what this one cannot. */
  fleet?: FleetView;
  /** Among hosts that can run an action now, which takes it (CAISSON_PLACEMENT). */
  placementMode?: PlacementMode;
  /** Input objects fetched on this host, for other actions asking for the same version (with disks only). */
  inputCache?: InputCache;
  /** The egress proxies, where the policy grants egress (worker/egress-setup.ts). */
  egress?: EgressProxies;
  /** Gang networks and relays, where this host has an address its peers reach (worker/host-activities.ts). */
  gang?: GangHost;
  /** With tracing on (CAISSON_OTEL), each container's run is a span of its execute's trace. */
  containerRuns?: ContainerRunTracer;
}

export function createActivities(deps: ActivityDeps) {
  const reportLoad = () => {
    deps.metrics?.capacityInUse.set(deps.capacity.inUse(), { host: deps.host });
    deps.metrics?.capacity.set(deps.capacity.capacity, { host: deps.host });
  };
  const needsHere = (spec: Action) => hostNeeds(spec, deps.policy.defaults, deps.diskDefaults);
  return {
    place: placeActivity(deps, needsHere, reportLoad),
    ...hostQueueActivities(deps, needsHere, reportLoad),
    finalize: finalizeActivity(deps),
  };
}

export type Activities = ReturnType<typeof createActivities>;

/**
 * Shared queue, on the placement worker, which polls only while this host has a free slot
 * (HostCapacity.placementSlots): reaching here means a slot is this run's.
 */
function placeActivity(deps: ActivityDeps, needsHere: (spec: Action) => Needs, reportLoad: () => void) {
  return async function place(raw: PlaceRequest): Promise<Placement> {
    // What is placed is the run's own spec, never the request's resources (a forged request
    // could otherwise hold this host's slots and GPUs for a run that asked for none).
    const run = await trustedRun(deps, raw);
    const spec = run.start.spec;
    // One replica of a gang: only the gang's own run places it, within its round.
    const gang = checkGangAsk(deps.host, raw.gang, run.start);
    const over = gang && roundOver(deps.host, gang, Date.now());
    if (over) throw over;
    // What this host's policy refuses is said first, before whether it fits anywhere.
    const beyond = [
      ...ceilingProblems(spec.resources, spec.timeout, deps.policy),
      ...(gang ? gangNetworkProblems(spec, deps.policy) : []),
    ];
    if (beyond.length) throw policyRefusal(beyond, deps.host);
    const needs = needsHere(spec);
    if (gang) {
      const self = {
        host: deps.host,
        slots: deps.capacity.capacity,
        totals: deps.capacity.totals,
        address: deps.hostAddress,
        drained: deps.capacity.drained,
      };
      const never = fleetNeverHolds(self, needs, gang, spec.network, deps.fleet ? await deps.fleet.live() : []);
      if (never) throw never;
      if (spec.network === 'gang' && !deps.hostAddress) throw noAddressHere(deps.host);
    }
    // A replica is held under its reservation's name, with a port of this host's gang range.
    const key = gang ? gangReservation(run.runId, gang.index) : run.runId;
    const verdict = deps.capacity.place(key, needs, run.actionId, gang ? 'any' : undefined);
    const facts = {
      host: deps.host,
      capacity: deps.capacity,
      needs,
      prefer: spec.placement?.prefer,
      verdict,
      waitedMs: waitedMs(raw.waitingSince, Date.now()),
      attempt: Context.current().info.attempt,
      mode: deps.placementMode ?? 'spread',
      waitForHostMs: run.start.fleet.hostTimeoutSeconds * 1000,
    };
    const decision = await decidePlacement(facts, deps.fleet);
    if ('notHere' in decision) throw decision.notHere;
    if ('elsewhere' in decision) {
      deps.capacity.release(key);
      throw decision.elsewhere;
    }
    reportLoad();
    const port = gang ? deps.capacity.portOf(key) : undefined;
    return {
      host: deps.host,
      hostQueue: deps.hostQueue,
      ...(decision.take.gpus.length ? { gpus: decision.take.gpus } : {}),
      ...(gang && deps.hostAddress ? { address: deps.hostAddress } : {}),
      ...(port !== undefined ? { port } : {}),
    };
  };
}

/** The host queue's activities: every step of a placed run, on the host that holds its container. */
function hostQueueActivities(deps: ActivityDeps, needsHere: (spec: Action) => Needs, reportLoad: () => void) {
  const runDeps = runDepsOf(deps);
  const checkGrants = grantChecker(deps);
  const outDir = async (req: CollectRequest) => {
    const name = containerName(req, req.attempt, deps.host);
    return deps.disks && (await deps.disks.exists(name)) ? deps.disks.paths(name).out : undefined;
  };
  const { store, images, capacity, host, metrics, removals, containerRuns } = deps;
  const executeDeps = {
    checkGrants,
    outDir,
    run: runDeps,
    store,
    images,
    capacity,
    host,
    metrics,
    removals,
    containerRuns,
  };
  const peerSelf = { host, address: deps.hostAddress, gangPorts: capacity.gangPorts };
  const liveFleet = async () => (deps.fleet ? await deps.fleet.live() : []);
  /** The cores an action without a cpu limit may use: all of this host's, said outright to the engine. */
  const hostCores = () => (Number.isFinite(capacity.totals.cpu) ? capacity.totals.cpu : availableParallelism());

  return {
    /** Host queue: one attempt from image to result.json (see execute.ts). */
    async execute(raw: ExecuteRequest): Promise<ExecuteAnswer> {
      const run = await trustedRun(deps, raw);
      const checked = checkExecuteRequest(host, raw, run);
      // Before anything of the action happens on this host: refused, or given the defaults.
      const spec = enforcePolicy(checked.spec, deps.policy, store, host, hostCores());
      // What the spec states of its secrets' grants, before anything is pulled (the digest after).
      await checkGrants(spec, undefined);
      // A replica's peers are hosts of this fleet at their registered addresses (replica-peers.ts).
      if (checked.replica) await checkReplicaPeers(peerSelf, checked.replica, checked.spec, liveFleet);
      // Placed by what the run asked (as `place` does), not by the defaults filled in above.
      await holdPlaceHere(deps, checked, needsHere(checked.spec), run.start.parentRunId);
      const held = capacity.heldBy(run.runId)?.gpus ?? [];
      const answer = await execute(executeDeps, { ...checked, spec, ...(held.length ? { gpuIds: held } : {}) });
      if (!answer.again) reportLoad();
      return answer;
    },

    /** Host queue: stops the attempt's container (a cancel); execute then reports how it ended. */
    async stopContainer(raw: ContainerRequest): Promise<void> {
      const run = await trustedRun(deps, raw);
      await stopContainer(runDeps, checkStopRequest(host, raw, run));
    },

    /**
     * Host queue: gives back reservations the gang's run made here (a round that did not place
     * every replica). Only the run's own: the key is made from the run id the server tells.
     */
    async releasePlacement(raw: ReleaseRequest): Promise<void> {
      const run = await trustedRun(deps, raw);
      const indexes: unknown = raw.indexes;
      if (
        !Array.isArray(indexes) ||
        indexes.length > MAX_REPLICAS ||
        !indexes.every((i) => Number.isInteger(i) && i >= 0 && i < MAX_REPLICAS)
      )
        throw refusedByHost(host, 'indexes', `are at most ${MAX_REPLICAS} replica indexes, 0 to ${MAX_REPLICAS - 1}`);
      for (const index of indexes as number[]) {
        const key = gangReservation(run.runId, index);
        if (capacity.has(key)) capacity.release(key);
      }
      reportLoad();
    },

    /** Host queue: removes every container of the run and frees its slot. */
    async removeRun(raw: ContainerRequest): Promise<void> {
      const run = await trustedRun(deps, raw);
      await removeRun(executeDeps, checkStopRequest(host, raw, run));
      reportLoad();
    },
  };
}

/** What running a container needs of this worker: its engine, its place, its disks and defaults. */
function runDepsOf(deps: ActivityDeps): RunDeps {
  return {
    docker: deps.docker,
    engine: deps.engine,
    engineAwayMs: deps.engineAwayMs,
    ...(deps.engineShutdownMs !== undefined ? { engineShutdownMs: deps.engineShutdownMs } : {}),
    host: deps.host,
    owner: { host: deps.host, namespace: deps.specs.namespace, queue: deps.hostQueue },
    capacity: deps.capacity,
    secretsDir: deps.secretsDir,
    env: deps.env,
    stopRequested: new Set<string>(),
    engineLost: new Set<string>(),
    disks: deps.disks,
    inputCache: deps.disks ? deps.inputCache : undefined,
    diskBytes: (spec) =>
      (spec.resources.outDisk ?? deps.diskDefaults.out) + (spec.resources.tmpDisk ?? deps.diskDefaults.tmp),
    // Writes outside /out and /tmp_disk are scratch too: they get tmpDisk of their own.
    rootfsBytes: (spec) => spec.resources.tmpDisk ?? deps.diskDefaults.tmp,
    readOnlyRootfs: deps.policy.readOnlyRootfs,
    egress: deps.egress,
    gang: deps.gang,
    artifactsUri: (req) => {
      const store = req.spec.artifacts.bucket ? deps.store.withBucket(req.spec.artifacts.bucket) : deps.store;
      return store.uri(`${store.base(req.spec.artifacts.prefix, req.actionId)}/`);
    },
  };
}

/** Secrets only to the runs their grants name; `digest` is the image's as the host has it (after the pull). */
function grantChecker(deps: ActivityDeps) {
  // Templates named by secret grants, read once each: a version never changes.
  const templates = new Map<string, Promise<StoredTemplate>>();
  const grantSources: GrantSources = {
    template(ref) {
      let template = templates.get(ref);
      if (!template) {
        template = findTemplate(
          templateStore(deps.store.s3, {
            ...deps.env,
            CAISSON_ARTIFACTS_BUCKET: deps.env.CAISSON_ARTIFACTS_BUCKET ?? deps.store.bucket,
          }),
          ref,
        );
        template.catch(() => templates.delete(ref));
        templates.set(ref, template);
      }
      return template;
    },
  };
  return async (spec: Action, digest: string | undefined) => {
    const problems = await grantProblems(spec, deps.policy.secrets, digest, grantSources);
    if (problems.length) throw policyRefusal(problems, deps.host);
  };
}

/**
 * Results queue: writes result.json of a run that ended before its host wrote it, next to its
 * artifacts (in the worker's own bucket when the policy does not let the spec's be written).
 */
function finalizeActivity(deps: ActivityDeps) {
  return async function finalize(raw: FinalizeRequest): Promise<string> {
    const run = await trustedRun(deps, { actionId: raw?.result?.actionId, runId: raw?.result?.runId });
    const result = ActionResultSchema.safeParse(raw.result);
    if (!result.success)
      throw refusedByHost(
        deps.host,
        `result.${result.error.issues[0]?.path.join('.')}`,
        result.error.issues[0]?.message ?? 'invalid',
      );
    const { artifacts } = run.start.spec;
    if ((raw.bucket ?? undefined) !== artifacts.bucket || (raw.prefix ?? undefined) !== artifacts.prefix) {
      throw refusedByHost(
        deps.host,
        'bucket',
        "bucket and prefix are the run's own artifacts.bucket and artifacts.prefix",
      );
    }
    const writable = !artifacts.bucket || bucketAllowed(artifacts.bucket, deps.policy, deps.store.bucket);
    const store = writable && artifacts.bucket ? deps.store.withBucket(artifacts.bucket) : deps.store;
    const key = `${store.base(artifacts.prefix, run.actionId)}/result.json`;
    const earlierRun = await folderOwner(store, key, run.runId).catch((err) => {
      throw artifactsUnavailable(store.bucket, err) ?? err;
    });
    if (earlierRun) throw folderTaken(deps.host, run.actionId, earlierRun);
    await store
      .put(key, JSON.stringify({ ...result.data, resultUri: store.uri(key) }, null, 2), 'application/json')
      .catch((err) => {
        throw artifactsUnavailable(store.bucket, err) ?? err;
      });
    // Finalize runs once per action (a retry only rewrites the same object), so it counts the outcome.
    deps.metrics?.finished.add(1, { status: result.data.status, reason: result.data.reason });
    for (const t of result.data.timings) deps.metrics?.stepSeconds.record(t.ms / 1000, { step: t.step });
    return store.uri(key);
  };
}
