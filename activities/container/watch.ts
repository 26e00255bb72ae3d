// The watch phase: from the start (or a re-attach) until the container has stopped. The engine is
// waited on (one `wait` call); the log is followed into S3 and the heartbeat's tail; the deadline
// is a timer from the container's own start; the layer is sampled where the engine cannot bound it.
// A worker shutting down, the engine's connection breaking or the log's upload failing end the
// watch early: the retry re-attaches.
import { boundedStopGrace } from '../../spec/workflow-api.js';
import { demux, type StreamName } from '../logs/log-stream.js';
import { EngineLost } from './engine-watch.js';
import { stoppedByEngineShutdown } from './engine-shutdown.js';
import { delay, status } from './engine-errors.js';
import { watchRootfs } from './rootfs-watch.js';
import { followUsage, type Usage } from './usage.js';
import { knownOf, type RunState } from './run-state.js';

const HEARTBEAT_EVERY_MS = 2000;

/** What the watch learnt of how the container ended, for the outcome phase. */
export interface Watched {
  /** The worker stopped it at its deadline. */
  timedOut: boolean;
  usage: Usage;
  /** The budget of the container's own filesystem, when the worker measures it. */
  rootfsBudget?: number;
  /** Set when the worker stopped it for holding more than that budget. */
  rootfsOver: { bytes?: number };
}

/** The log as it is followed: `following` settles once the engine ends the follow. */
interface FollowedLog {
  following: Promise<unknown>;
  onFrame: (stream: StreamName, payload: Buffer) => void;
  close: () => void;
}

export async function watch(state: RunState): Promise<Watched> {
  const { deps, req, shipper } = state;
  const known = knownOf(state);
  // Waited on first, and the log follow and the stats stream opened meanwhile: a short run may be
  // over before they are set up, and its end should not wait for them.
  const waiting = state.container.wait();
  waiting.catch(() => {}); // raced below
  const watched: Watched = {
    timedOut: false,
    usage: {},
    rootfsBudget: known.measured ? deps.rootfsBytes?.(req.spec) : undefined,
    rootfsOver: {},
  };
  const log = await followLog(state, watched.usage);
  const stopTimers = startTimers(state, watched);
  try {
    await awaitEnd(state, watched, waiting, log.following);
  } catch (err) {
    shipper?.abandon();
    throw err;
  } finally {
    stopTimers();
    log.close();
  }
  if (shipper && !shipper.complete) {
    // Whatever the follow missed (cut short, or the engine dropped the stream) is read again from
    // the last shipped position; the shipper skips what it already has.
    await log.following.catch(() => {});
    await shipper.consume((await readLog(state)) as unknown as AsyncIterable<Buffer>, log.onFrame);
  }
  return watched;
}

/**
 * Follows the log: into S3 as it is written (when shipping), and into the tail carried in
 * heartbeats. The full log is read again at collection for logs/stdout.log and stderr.log.
 * Following a stopped container's log returns all of it and ends: a stream, never one buffer.
 */
function readLog(state: RunState): Promise<NodeJS.ReadableStream> {
  const { shipper } = state;
  return state.container.logs({
    follow: true,
    stdout: true,
    stderr: true,
    ...(shipper ? { timestamps: true, since: shipper.sinceSeconds } : { tail: 100 }),
  });
}

/** Opens the log follow and the stats stream; both are closed by `close`. */
async function followLog(state: RunState, usage: Usage): Promise<FollowedLog> {
  const { shipper, tail } = state;
  const usageFollowed = followUsage(state.container, usage); // never rejects
  const logs = shipper?.complete
    ? undefined
    : await readLog(state).catch(async (err: unknown) => {
        (await usageFollowed)();
        throw err;
      });
  const stopUsage = await usageFollowed;
  const onFrame = (stream: StreamName, payload: Buffer) => tail.push(stream, payload);
  const following: Promise<unknown> = !logs
    ? Promise.resolve()
    : shipper
      ? shipper.consume(logs as unknown as AsyncIterable<Buffer>, onFrame)
      : demux(logs as unknown as AsyncIterable<Buffer>, {}, onFrame);
  following.catch(() => {}); // settled by the watch
  const close = () => {
    stopUsage();
    (logs as unknown as { destroy?: () => void })?.destroy?.();
  };
  return { following, onFrame, close };
}

/** The deadline, the heartbeats and the layer's sampling while the container runs; returns their stop. */
function startTimers(state: RunState, watched: Watched): () => void {
  const { deps, req, hooks, container, tail } = state;
  const known = knownOf(state);
  const grace = boundedStopGrace(req.stopGraceSeconds);
  // The deadline counts from the container's own start, so a re-attach keeps the original one.
  const deadline = known.running
    ? setTimeout(
        () => {
          watched.timedOut = true;
          container.stop({ t: grace }).catch((err) => {
            if (status(err) === 304) watched.timedOut = false; // it had ended on its own meanwhile
          });
        },
        Math.max(0, known.startedMs + req.spec.timeout - Date.now()),
      )
    : undefined;
  const beat = () => {
    deps.capacity.touch(req.runId);
    hooks.heartbeat({ containerId: known.id, logTail: tail.lines() });
  };
  beat();
  const ticker = setInterval(beat, HEARTBEAT_EVERY_MS);
  const stopRootfs =
    watched.rootfsBudget !== undefined && known.running
      ? watchRootfs(container, watched.rootfsBudget, grace, watched.rootfsOver)
      : () => {};
  return () => {
    clearTimeout(deadline);
    clearInterval(ticker);
    stopRootfs();
  };
}

/** Settles once the container has stopped and its log is read; rejects when the watch must end early. */
async function awaitEnd(
  state: RunState,
  watched: Watched,
  waiting: Promise<{ StatusCode?: number }>,
  following: Promise<unknown>,
): Promise<void> {
  const { deps, req, hooks, shipper } = state;
  const aborted = new Promise<never>((_, reject) => {
    const onAbort = () =>
      reject(new Error('the worker is shutting down; the container keeps running and the retry re-attaches to it'));
    if (hooks.signal.aborted) onAbort();
    else hooks.signal.addEventListener('abort', onAbort, { once: true });
  });
  // The wait never settles when the engine's connection breaks under it: the break ends the watch.
  const engineBreak = deps.engine.brokenSince(state.epoch);
  const engineLost = engineBreak.broken.then(() => Promise.reject(new EngineLost(deps.host)));
  engineLost.catch(() => {}); // raced below
  try {
    // A log that cannot be shipped (the bucket went away) ends the run now, not at the deadline.
    const waited = await Promise.race([waiting, aborted, engineLost, ...(shipper ? [shipper.whenFailed()] : [])]);
    // Stopped by the worker (deadline, cancel, disk budget): not the engine's doing.
    const stoppedHere = watched.timedOut || deps.stopRequested.has(req.runId) || watched.rootfsOver.bytes !== undefined;
    // A run re-attached after its engine went away knows that already: its end is read later.
    const knownLost = deps.engineLost.has(req.runId);
    if (
      !stoppedHere &&
      !knownLost &&
      (await stoppedByEngineShutdown(
        state.container,
        waited.StatusCode,
        deps.engine,
        state.epoch,
        deps.engineShutdownMs,
      ))
    ) {
      // The retry re-attaches once the engine is back, and reads this end as engine-restarted.
      deps.engineLost.add(req.runId);
      throw new EngineLost(deps.host, 'stopped the container as it shut down; waiting for it to come back');
    }
    // The engine ends a follow once the container has stopped and its log is read; one that lags
    // is cut and the rest is read again by the watch.
    await Promise.race([following, delay(2000)]);
  } finally {
    engineBreak.forget();
  }
}
