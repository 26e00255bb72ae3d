// Stopping a worker without cutting runs short: SIGINT or SIGTERM drains the host (it takes nothing
// new, and the fleet is told), what runs is waited for up to the drain time, then the workers shut
// down. A second signal shuts them down at once. Runs still going then are re-attached by their
// retries when a worker of this host starts again.
import type { Client } from '@temporalio/client';
import type { Worker } from '@temporalio/worker';
import type { HostCapacity } from '../activities/placement/capacity.js';

interface DrainLog {
  info(message: string, meta?: Record<string, unknown>): void;
  warn(message: string, meta?: Record<string, unknown>): void;
}

export interface DrainOptions {
  capacity: HostCapacity;
  workers: Worker[];
  reports: { selfDrain(why: string): Promise<void> };
  /** Whether an action's workflow is still open (its last workflow task may still need this worker). */
  workflowOpen: (actionId: string) => Promise<boolean>;
  drainMs: number;
  log: DrainLog;
}

/** How often a drain looks again at what still runs. */
const DRAIN_POLL_MS = 250;
/** The longest a drain waits for the workflows of its finished runs to take their last step. */
const SETTLE_MS = 10_000;

/** Whether the action's workflow is still running, as `client` sees it; gone or unreachable is not. */
export function workflowOpenIn(client: Client): (actionId: string) => Promise<boolean> {
  return async (actionId) => {
    try {
      return (await client.workflow.getHandle(actionId).describe()).status.name === 'RUNNING';
    } catch {
      return false; // gone, or not reachable now: nothing this worker can still finish for it
    }
  };
}

/** Drains on SIGINT and SIGTERM (see above); returns the function that stops listening for them. */
export function drainThenStop(options: DrainOptions): () => void {
  const { capacity, workers, drainMs, log } = options;
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
    void drain(options, signal).then(shutdown);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return () => {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  };
}

const pause = () => new Promise((r) => setTimeout(r, DRAIN_POLL_MS));

/** Tells the fleet, then waits for the runs here and the workflows they belong to, up to the drain time. */
async function drain(options: DrainOptions, signal: NodeJS.Signals): Promise<void> {
  const { capacity, reports, workflowOpen, drainMs, log } = options;
  const ran = capacity.actions();
  await reports.selfDrain(`the worker is stopping (${signal})`);
  const deadline = Date.now() + drainMs;
  while (capacity.inUse() > 0 && Date.now() < deadline) await pause();
  if (capacity.inUse() > 0)
    log.warn('drain time is up: stopping; the runs still going re-attach when this host starts again', {
      running: capacity.actions(),
    });
  // The host activity has returned, but the workflow still has a task to finish (its result). When
  // this is the only worker on the queue, stopping now would leave the action open until another
  // comes: wait for those workflows too, briefly (one that runs on, e.g. to retry on another host,
  // needs no more of this worker).
  const settleBy = Math.min(deadline, Date.now() + SETTLE_MS);
  let open = ran;
  while (open.length && Date.now() < settleBy) {
    open = (await Promise.all(open.map(async (id) => ((await workflowOpen(id)) ? [id] : [])))).flat();
    if (open.length) await pause();
  }
}
