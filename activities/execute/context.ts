// What one execute hands from phase to phase (gate → image → inputs → container → collect →
// result): the worker's dependencies, the request, where its artifacts go, and the progress its
// heartbeats tell.
import type { Context } from '@temporalio/activity';
import { timeStep, type StepTiming } from '../../spec/result.js';
import { liveLogPrefix } from '../../common/storage/log-segments.js';
import type { ArtifactStore } from '../store/artifact-store.js';
import type { HostCapacity } from '../placement/capacity.js';
import type { CollectDeps } from '../collect/collect.js';
import type { ImageCache } from '../images/image-cache.js';
import type { Metrics } from '../metrics.js';
import type { RunDeps } from '../container/run-container.js';
import type { ExecuteRequest } from '../types.js';
import type { ContainerRunTracer } from './run-tracing.js';

export interface ExecuteDeps {
  run: RunDeps;
  store: ArtifactStore;
  images: ImageCache;
  capacity: HostCapacity;
  host: string;
  metrics?: Metrics;
  /** The host folder of a container's /out, when it has a filesystem of its own. */
  outDir?: CollectDeps['outDir'];
  /** Removals under way after their execute returned: a stopping worker finishes them first. */
  removals: Set<Promise<void>>;
  /** Refuses the run when a secret's grant does not cover it, the image's digest now known (secret-grants.ts). */
  checkGrants?: (spec: ExecuteRequest['spec'], digest: string | undefined) => Promise<void>;
  /** With tracing on, each container's run is a span of the execute's trace. */
  containerRuns?: ContainerRunTracer;
}

type Phase = 'PULLING' | 'RUNNING' | 'COLLECTING';

interface ExecuteProgress {
  phase: Phase;
  attempt: number;
  containerId?: string;
  /** Where the live log of this run is shipped (s3://bucket/…/logs/live/<run id>): followers read it. */
  liveLogs?: string;
  logTail: string[];
  files?: number;
  bytes?: number;
}

export interface ExecuteContext {
  readonly deps: ExecuteDeps;
  readonly req: ExecuteRequest;
  readonly activity: Context;
  /** The action's bucket (its own, or the worker's). */
  readonly store: ArtifactStore;
  /** The action's folder in it, and its result.json. */
  readonly folder: string;
  readonly resultKey: string;
  readonly livePrefix: string;
  readonly progress: ExecuteProgress;
  /** The steps of this attempt, in order, for result.json. */
  readonly timings: StepTiming[];
  /** Sends the progress as a heartbeat (once the first quiet moment has passed). */
  beat: () => void;
}

const HEARTBEAT_EVERY_MS = 2000;
const FIRST_HEARTBEAT_MS = 1000;

/** The context of one execute, its heartbeats running until `stop`. */
export function openContext(
  deps: ExecuteDeps,
  req: ExecuteRequest,
  activity: Context,
): { ctx: ExecuteContext; stop: () => void } {
  const store = req.spec.artifacts.bucket ? deps.store.withBucket(req.spec.artifacts.bucket) : deps.store;
  const folder = store.base(req.spec.artifacts.prefix, req.actionId);
  const livePrefix = liveLogPrefix(folder, req.runId);
  const progress: ExecuteProgress = {
    phase: 'PULLING',
    attempt: req.attempt,
    liveLogs: store.uri(livePrefix),
    logTail: [],
  };
  // The first heartbeat waits a moment: most short actions then send none (each is a write of the
  // run's state on the server), and a longer one shows its phase from then on. Nothing else waits
  // for it: the heartbeat timeout counts from the start, and a cancel comes as a stop request.
  const quietUntil = Date.now() + FIRST_HEARTBEAT_MS;
  const beat = () => {
    deps.capacity.touch(req.runId);
    if (Date.now() >= quietUntil) activity.heartbeat({ ...progress });
  };
  const first = setTimeout(beat, FIRST_HEARTBEAT_MS);
  // A heartbeat every few seconds whatever the phase: a long upload or pull is alive, not stuck.
  const ticker = setInterval(beat, HEARTBEAT_EVERY_MS);
  const ctx: ExecuteContext = {
    deps,
    req,
    activity,
    store,
    folder,
    resultKey: `${folder}/result.json`,
    livePrefix,
    progress,
    timings: [],
    beat,
  };
  const stop = () => {
    clearTimeout(first);
    clearInterval(ticker);
  };
  return { ctx, stop };
}

/** Runs one step of the attempt, timed into its timings. */
export const timed = <T>(ctx: ExecuteContext, step: StepTiming['step'], fn: () => Promise<T>): Promise<T> =>
  timeStep(ctx.timings, step, fn);
