// One durable host activity per attempt: image → container (created, or re-attached by its
// deterministic name) → wait → collect /out and logs → result.json. Its heartbeats say which phase
// it is in. The run's containers are removed after it has returned, so every crash point is safe:
//   - container there: re-attach (wait returns at once for one that has ended) and collect again;
//   - container gone and result.json of this run stored: the earlier try finished; return that;
//   - container gone and no result.json: it was never created; create it.
// Reconcile removes whatever a crash leaves behind.
import { type ApplicationFailure, Context } from '@temporalio/activity';
import { refusedByHost } from './trust/refused.js';
import {
  assembleResult,
  runsAgain,
  timeStep,
  type ActionResult,
  type RunOutcome,
  type StepTiming,
} from '../spec/result.js';
import { formatDuration } from '../spec/quantity.js';
import { parseImageRef } from '../spec/image.js';
import { artifactsUnavailable, type ArtifactStore } from './store/artifact-store.js';
import type { HostCapacity } from './placement/capacity.js';
import { collect, collectEarlierAttemptLogs, logKeys, type CollectDeps } from './collect/collect.js';
import type { ImageCache } from './images/image-cache.js';
import { containerName, runFilter } from './container/labels.js';
import type { Metrics } from './metrics.js';
import { removeContainer } from './container/removal.js';
import { LogShipper } from './logs/log-shipper.js';
import { liveLogPrefix } from '../common/storage/log-segments.js';
import { DEFAULT_LOG_SIZE, runContainer, type RunDeps } from './container/run-container.js';
import { engineGone, engineUnavailable } from './container/engine-watch.js';
import { Redactor } from './logs/redaction.js';
import { resolveSecrets } from './trust/secrets.js';
import { secretsOf } from '../spec/action.js';
import { inputUnavailable, resolveInputs } from './inputs/inputs.js';
import { outputProblems } from './collect/output-check.js';
import type { ContainerRequest, ExecuteAnswer, ExecuteRequest } from './types.js';

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
}

type Phase = 'PULLING' | 'RUNNING' | 'COLLECTING';

export interface ExecuteProgress {
  phase: Phase;
  attempt: number;
  containerId?: string;
  /** Where the live log of this run is shipped (s3://bucket/…/logs/live/<run id>): followers read it. */
  liveLogs?: string;
  logTail: string[];
  files?: number;
  bytes?: number;
}

const HEARTBEAT_EVERY_MS = 2000;
const FIRST_HEARTBEAT_MS = 1000;

export async function execute(deps: ExecuteDeps, req: ExecuteRequest): Promise<ExecuteAnswer> {
  const ctx = Context.current();
  const progress: ExecuteProgress = { phase: 'PULLING', attempt: req.attempt, logTail: [] };
  // The first heartbeat waits a moment: most short actions then send none (each is a write of the
  // run's state on the server), and a longer one shows its phase from then on. Nothing else waits
  // for it: the heartbeat timeout counts from the start, and a cancel comes as a stop request.
  const quietUntil = Date.now() + FIRST_HEARTBEAT_MS;
  const beat = () => {
    deps.capacity.touch(req.runId);
    if (Date.now() >= quietUntil) ctx.heartbeat({ ...progress });
  };
  const first = setTimeout(beat, FIRST_HEARTBEAT_MS);
  // A heartbeat every few seconds whatever the phase: a long upload or pull is alive, not stuck.
  const ticker = setInterval(beat, HEARTBEAT_EVERY_MS);
  const timings: StepTiming[] = [];
  const timed = <T>(step: StepTiming['step'], fn: () => Promise<T>) => timeStep(timings, step, fn);
  const store = req.spec.artifacts.bucket ? deps.store.withBucket(req.spec.artifacts.bucket) : deps.store;
  try {
    beat();
    const folder = store.base(req.spec.artifacts.prefix, req.actionId);
    const resultKey = `${folder}/result.json`;
    const livePrefix = liveLogPrefix(folder, req.runId);
    progress.liveLogs = store.uri(livePrefix);
    if (ctx.info.attempt > 1) {
      const finished = await finishedEarlier(deps, req, store, resultKey);
      if (finished) {
        // Nothing of the run is left here: the slot this try was given goes back at once.
        deps.capacity.release(req.runId);
        return { again: false, result: finished };
      }
    }

    // Resolved before anything else: a missing secret fails before the pull, and the values are
    // known to mask them in every output of the run.
    const secrets = await resolveSecrets(secretsOf(req.spec), deps.run.secretsDir, deps.run.env, deps.host);
    const redactor = new Redactor(Object.values(secrets));
    // Inputs are looked up while the image is made ready: a missing one fails before any container.
    if (req.spec.inputs.length && !deps.run.inputCache) {
      throw inputUnavailable(
        `host ${deps.host} cannot stage inputs: it has no container disks (the worker needs root and a local engine)`,
      );
    }
    // The action's folder belongs to the run that stored a result there first: a later run under
    // the same id (a start with AllowDuplicate) must not overwrite its out/ and result.json.
    const owner = folderOwner(store, resultKey, req.runId);
    owner.catch(() => {}); // awaited below, before the container
    const inputs = req.spec.inputs.length
      ? resolveInputs(store.s3, req.spec, store, deps.run.diskBytes(req.spec))
      : Promise.resolve([]);
    inputs.catch(() => {}); // awaited below, before the container
    // What earlier tries shipped of this attempt's log is looked up while the image is made ready.
    const log = LogShipper.open(
      store.s3,
      store.bucket,
      livePrefix,
      req.attempt,
      req.spec.resources.logSize ?? DEFAULT_LOG_SIZE,
    );
    log.catch(() => {}); // awaited by runContainer
    const image = await timed('pull', () =>
      deps.images.ensure(req.spec.image, req.spec.pullPolicy, (event) => ctx.heartbeat({ ...progress, pull: event })),
    );
    // A secret's grant names a digest: the one the host has now, and the container is made from
    // that digest, not from the tag (which another pull on the engine could move meanwhile).
    let made = req;
    if (secretsOf(req.spec).length) {
      await deps.checkGrants?.(req.spec, image.digest ?? 'unknown');
      const ref = parseImageRef(req.spec.image);
      if (ref && image.digest)
        made = { ...req, spec: { ...req.spec, image: `${ref.registry}/${ref.repository}@${image.digest}` } };
    }
    const earlierRun = await owner;
    if (earlierRun) throw folderTaken(deps.host, req.actionId, earlierRun);
    const objects = await inputs;
    progress.phase = 'RUNNING';
    const outcome: RunOutcome = await timed('run', () =>
      runContainer(deps.run, made, {
        heartbeat: (details) => {
          progress.containerId = details.containerId;
          progress.logTail = details.logTail;
          beat();
        },
        signal: ctx.cancellationSignal,
        firstTry: ctx.info.attempt === 1,
        log,
        secrets,
        inputs: objects,
      }),
    );
    progress.logTail = outcome.logTail;
    // Staging happened inside the run step, before the container started: its own line, before run's.
    if (outcome.inputsTiming) timings.splice(timings.length - 1, 0, outcome.inputsTiming);
    if (!req.canceled && outcome.reason !== 'canceled' && runsAgain(req.spec.retry, req.attempt, outcome)) {
      // The attempt's container stays until the run is removed: a retried execute of this attempt
      // re-attaches to it instead of running the attempt again. Its full logs are kept now.
      await collectEarlierAttemptLogs(
        { docker: deps.run.docker, host: deps.host, store: deps.store, redactor },
        { ...req, includeOut: false },
      );
      // What was staged is told in the last attempt's result; this answer goes into history.
      return {
        again: true,
        outcome: { ...outcome, inputs: undefined, inputsTiming: undefined },
        digest: image.digest,
        timings,
      };
    }

    // The container has stopped and no attempt follows: what is left (uploads) takes none of the
    // host's cores or memory, so the slot goes to the next action now. Its placement and dispatch
    // (tens of ms of Temporal round trips) then overlap this collect instead of following it.
    deps.capacity.release(req.runId);
    progress.phase = 'COLLECTING';
    beat();
    const includeOut = req.spec.collect === 'always' || (req.spec.collect === 'on-success' && outcome.exitCode === 0);
    const { firstFrame } = await log;
    const collected = await timed('collect', () =>
      collect(
        { docker: deps.run.docker, host: deps.host, store: deps.store, outDir: deps.outDir, redactor, firstFrame },
        { ...req, includeOut },
        ({ files, bytes }) => {
          progress.files = files;
          progress.bytes = bytes;
        },
      ),
    );
    if (req.spec.outputSchema !== undefined && collected.output !== undefined && !collected.outputError) {
      collected.outputProblems = await outputProblems(req.spec.outputSchema, collected.output);
    }
    const result = assembleResult({
      actionId: req.actionId,
      runId: req.runId,
      image: req.spec.image,
      timeoutText: formatDuration(req.spec.timeout),
      imageDigest: image.digest,
      host: deps.host,
      attempts: req.attempt,
      outcome,
      collected,
      canceled: req.canceled || outcome.reason === 'canceled',
      timings: [...req.timings, ...timings],
      startedAt: req.startedAt,
      finishedAt: new Date().toISOString(),
    });
    // The live log stopped at logSize: what followers saw ends there, and the stored logs hold the newest logSize.
    if (result.logs && (await log).cut) result.logs.truncated = true;
    if (result.logs && req.attempt > 1) {
      result.logs.earlier = Array.from({ length: req.attempt - 1 }, (_, i) => {
        const keys = logKeys(folder, i + 1);
        return { attempt: i + 1, stdout: store.uri(keys.stdout), stderr: store.uri(keys.stderr) };
      });
    }
    if (req.gpuIds?.length) result.gpus = req.gpuIds;
    result.resultUri = store.uri(resultKey);
    result.liveLogs = progress.liveLogs;
    await store.put(resultKey, JSON.stringify(result, null, 2), 'application/json');
    deps.metrics?.bytesUploaded.add(collected.totals.bytes + collected.logs.bytes, { host: deps.host });
    deps.metrics?.finished.add(1, { status: result.status, reason: result.reason });
    for (const t of result.timings) deps.metrics?.stepSeconds.record(t.ms / 1000, { step: t.step });
    // After this returns nothing of the run is needed on the host any more: its containers and disk
    // go in the background. The slot was freed at the container's stop; releasing again restarts
    // the window in which a reconcile does not count the run's leftover containers as holding one.
    deps.capacity.release(req.runId);
    const removal = new Promise<void>((resolve) => setImmediate(resolve))
      .then(() => removeRun(deps, req))
      .finally(() => deps.removals.delete(removal));
    deps.removals.add(removal);
    return { again: false, result };
  } catch (err) {
    // An image the host no longer has is pulled again by the retry.
    deps.images.forget(req.spec.image, err);
    // The engine went away: the retry comes once it answers again (and re-attaches), or the action
    // is placed on another host when it stays away.
    if (engineGone(err)) {
      const back = await deps.run.engine.answering(deps.run.engineAwayMs, ctx.cancellationSignal);
      if (back || ctx.cancellationSignal.aborted) throw err;
      // Placed elsewhere now: this host holds nothing for it (a drain must not wait for it).
      deps.capacity.release(req.runId);
      throw engineUnavailable(deps.host, deps.run.engineAwayMs);
    }
    throw artifactsUnavailable(store.bucket, err) ?? err;
  } finally {
    clearTimeout(first);
    clearInterval(ticker);
  }
}

/** The run whose result.json the folder holds, when it is another run than `runId`. */
export async function folderOwner(store: ArtifactStore, resultKey: string, runId: string): Promise<string | undefined> {
  const stored = await store.getJson<{ runId?: unknown }>(resultKey);
  if (!stored) return undefined;
  return stored.runId === runId ? undefined : typeof stored.runId === 'string' ? stored.runId : 'another run';
}

export function folderTaken(host: string, actionId: string, earlierRun: string): ApplicationFailure {
  return refusedByHost(
    host,
    'actionId',
    `action ${actionId} already has the result of run ${earlierRun}; an action id names one run: start this one under a new id`,
  );
}

/** The result an earlier try of this very run stored, when its containers are gone. */
async function finishedEarlier(
  deps: ExecuteDeps,
  req: ExecuteRequest,
  store: ArtifactStore,
  key: string,
): Promise<ActionResult | undefined> {
  const exists = await deps.run.docker
    .getContainer(containerName(req, req.attempt, deps.host))
    .inspect()
    .then(() => true)
    .catch((err: { statusCode?: number }) => {
      if (err.statusCode === 404) return false;
      throw err;
    });
  if (exists) return undefined;
  const stored = await store.getJson<ActionResult>(key);
  return stored?.runId === req.runId ? stored : undefined;
}

/** Removes every container of the run (with its volumes and disk), then frees the run's slot. */
export async function removeRun(
  deps: { run: RunDeps; host: string; capacity: HostCapacity },
  req: ContainerRequest,
): Promise<void> {
  const containers = await deps.run.docker.listContainers({ all: true, filters: runFilter(req) }).catch(() => []);
  for (const c of containers) {
    // What fails here is left to reconcile, which removes containers of finished runs (and disks
    // without a container) at the worker's next start.
    await removeContainer(deps.run.docker, deps.run.disks, c).catch(() => {});
  }
  deps.run.stopRequested.delete(req.runId);
  deps.run.engineLost.delete(req.runId);
  deps.capacity.release(req.runId);
}
