// Placing a gang: every replica at once or none. Each round asks the shared queue to place all
// replicas at the same moment; a host that takes one holds it as a reservation (its slot, resources,
// GPUs and a port) until the round's end. When the round ends with some replicas unplaced, every
// reservation made is given back and the gang waits a random while before the next round, so that
// two gangs that each hold part of what both need never wait on each other: one of them soon finds
// the whole fleet free.
import { CancellationScope, isCancellation, log, setCurrentDetails, sleep, workflowInfo } from '@temporalio/workflow';
import { formatDuration } from '../spec/quantity.js';
import type { Placement } from '../activities/types.js';
import { FailureType } from '../spec/failures.js';
import { gangPlace, hostSteps } from './activity-proxies.js';
import { failureMessage, finalReason } from './failures.js';
import type { RunContext, RunState } from './run-state.js';
import { enterPhase } from './show-phase.js';
import { waitingFor } from '../spec/placement.js';
import { ActionHostKey } from '../spec/search-attributes.js';

/** How long one round gives every replica to be placed. */
const ROUND_MS = 8_000;
/** Past the round's end, how long the answers of places under way are waited for. */
const ROUND_GRACE_MS = 2_000;
/** How long the answers of places being withdrawn are waited for. */
const WITHDRAW_WAIT_MS = 10_000;
/** The wait between rounds: at least this, plus a random part of up to a round's length, doubled every 3 rounds up to a minute. */
const BACKOFF_MIN_MS = 500;
const MAX_BACKOFF_MS = 60_000;
/**
 * Past this many events a gang still placing ends (no-host) rather than grow its history towards
 * the server's limit (50,000): a round costs about 3 events per replica and a dozen more.
 */
const HISTORY_BUDGET = 20_000;

/** A round that ended without the whole gang: what was placed, and why the rest was not. */
interface RoundEnd {
  placed: (Placement | undefined)[];
  /** The newest failure a place raised, in words (what the gang waits for). */
  why?: string;
  /** A failure that ends the gang (no host could ever hold it, the policy refuses it). */
  final?: unknown;
}

/**
 * Places every replica of the gang, or throws what ends it; waits as many rounds as that takes,
 * each wait longer than the last (up to a minute), and ends (undefined, with state.ended set) once
 * the rounds have filled the history as far as one run of the gang may.
 */
export async function placeGang(run: RunContext, state: RunState, replicas: number): Promise<Placement[] | undefined> {
  const since = Date.now();
  for (let round = 1; ; round++) {
    const end = await placeRound(run, replicas);
    if (end.placed.every((p) => p !== undefined)) return end.placed as Placement[];
    await release(run, end.placed);
    if (end.final !== undefined) throw end.final;
    const count = end.placed.filter((p) => p !== undefined).length;
    if (workflowInfo().historyLength > HISTORY_BUDGET) {
      state.ended = {
        reason: 'no-host',
        message:
          `no room for all ${replicas} replicas at once in ${round} rounds over ` +
          `${formatDuration(Date.now() - since)} (the last placed ${count}): start it again when the fleet has room`,
      };
      return undefined;
    }
    state.waitingFor =
      `all ${replicas} replicas at once, each needing ${waitingFor(run.spec)} ` +
      `(round ${round} placed ${count} of ${replicas}${end.why ? `: ${end.why}` : ''})`;
    setCurrentDetails(`**PENDING**: waiting for ${state.waitingFor}`);
    log.info('gang not placed whole; reservations given back', { round, placed: count, replicas });
    // Math.random is the workflow's own (seeded by its run): replays draw the same waits.
    const spread = Math.min(MAX_BACKOFF_MS, ROUND_MS * 2 ** Math.min(3, Math.floor((round - 1) / 3)));
    await sleep(BACKOFF_MIN_MS + Math.floor(Math.random() * spread));
  }
}

/** One round: every replica asked for at once, until all are placed, one fails for good, or time is up. */
async function placeRound(run: RunContext, replicas: number): Promise<RoundEnd> {
  const end: RoundEnd = { placed: new Array<Placement | undefined>(replicas).fill(undefined) };
  const reserveUntil = Date.now() + ROUND_MS;
  const scope = new CancellationScope();
  let ended: () => void = () => {};
  const finalFailure = new Promise<void>((resolve) => (ended = resolve));
  const calls = Array.from({ length: replicas }, (_, index) =>
    scope
      .run(() =>
        gangPlace({
          actionId: run.actionId,
          runId: run.runId,
          resources: run.spec.resources,
          placement: run.spec.placement,
          timeout: run.spec.timeout,
          gang: { index, replicas, reserveUntil },
        }),
      )
      .then(
        (placement) => void (end.placed[index] = placement),
        (err: unknown) => {
          if (isCancellation(err) && scope.consideredCancelled) return;
          const final = finalReason(err);
          if (final && !isRoundOver(err)) {
            end.final ??= err;
            ended();
          } else end.why = failureMessage(err);
        },
      ),
  );
  const all = Promise.all(calls);
  // Places still waiting in the queue are withdrawn; those a host is answering finish first, so
  // that every reservation made is known (and given back). Bounded: a reservation nobody heard of
  // lapses on its host by itself (capacity.ts).
  const withdraw = () => {
    scope.cancel();
    return CancellationScope.nonCancellable(() => Promise.race([all, sleep(WITHDRAW_WAIT_MS)]));
  };
  try {
    await Promise.race([all, finalFailure, sleep(ROUND_MS + ROUND_GRACE_MS)]);
  } catch (err) {
    // The gang was cancelled (or its deadline passed) mid-round: nothing it holds is kept.
    await withdraw();
    await release(run, end.placed);
    throw err;
  }
  if (end.placed.some((p) => p === undefined)) await withdraw();
  return end;
}

const isRoundOver = (err: unknown) =>
  err instanceof Error &&
  'cause' in err &&
  (err.cause as { type?: string } | undefined)?.type === FailureType.GangRoundOver;

/** Gives back reservations of the gang's run (those of `placed`, by index), host by host. */
export async function release(run: RunContext, placed: (Placement | undefined)[]): Promise<void> {
  const byQueue = new Map<string, number[]>();
  placed.forEach((p, index) => {
    if (p) byQueue.set(p.hostQueue, [...(byQueue.get(p.hostQueue) ?? []), index]);
  });
  await CancellationScope.nonCancellable(() =>
    Promise.all(
      [...byQueue].map(([queue, indexes]) =>
        hostSteps(queue, run.fleet, run.spec)
          .releasePlacement({ actionId: run.actionId, runId: run.runId, indexes })
          .catch((err: unknown) => {
            // The host's claim lapses on its own (capacity.ts) if its worker cannot be reached now.
            log.warn('a gang reservation was not given back', { queue, error: failureMessage(err) });
          }),
      ),
    ),
  );
}

/** A gang placed whole: RUNNING, with where each replica runs. */
export function showPlaced(state: RunState, placements: Placement[]): void {
  const hosts = [...new Set(placements.map((p) => p.host))];
  // The gang's host, as the UI and `caisson list` show it, is rank 0's (MASTER_ADDR's).
  enterPhase(state, { kind: 'placed' }, `${placements.length} replicas placed on ${hosts.join(', ')}`, [
    { key: ActionHostKey, value: placements[0]!.host },
  ]);
}
