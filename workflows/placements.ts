// Placing an action and running it there, placed again elsewhere when its host goes silent, up to
// the fleet's limit of placements.
import { isCancellation, log } from '@temporalio/workflow';
import { ActionHostKey } from '../spec/search-attributes.js';
import { hostSteps, place } from './activity-proxies.js';
import { runAttempts } from './attempts.js';
import { hostLost } from './failures.js';
import type { RunContext, RunState } from './run-state.js';
import type { Placement } from '../activities/types.js';
import type { GangMember } from '../spec/gang.js';
import { enterPhase } from './show-phase.js';

export async function placeAndRun(run: RunContext, state: RunState): Promise<void> {
  for (state.placements = 1; ; state.placements++) {
    try {
      await placeOnHost(run, state);
      await runAttempts(run, state);
      return;
    } catch (err) {
      if (!hostLost(err) || isCancellation(err)) throw err;
      if (!placesAgain(run, state)) return;
    }
  }
}

/** Waits for a host with a free slot, then RUNNING there. */
async function placeOnHost(run: RunContext, state: RunState): Promise<void> {
  const { spec, fleet } = run;
  const placedAt = new Date();
  const replica = run.input.replica;
  // A gang's replica runs where the gang's placement reserved its room.
  const placement = replica
    ? replicaPlacement(replica)
    : await place({
        actionId: run.actionId,
        runId: run.runId,
        resources: spec.resources,
        placement: spec.placement,
        timeout: spec.timeout,
        waitingSince: placedAt.getTime(),
        waitForHostMs: fleet.hostTimeoutSeconds * 1000,
      });
  state.placement = placement;
  if (!replica)
    state.timings.push({ step: 'place', startedAt: placedAt.toISOString(), ms: Date.now() - placedAt.getTime() });
  state.host = hostSteps(placement.hostQueue, fleet, spec);
  enterPhase(
    state,
    { kind: 'placed' },
    `on host ${placement.host}: pulling, running and collecting there (phase in the execute activity's heartbeat)`,
    [{ key: ActionHostKey, value: placement.host }],
  );
}

function replicaPlacement(replica: GangMember): Placement {
  const self = replica.peers[replica.index]!;
  return {
    host: self.host,
    hostQueue: replica.hostQueue,
    address: self.address,
    port: self.port,
    ...(replica.gpus ? { gpus: replica.gpus } : {}),
  };
}

/** Its host went silent: PENDING again, or the end ("no-host") once it was placed as often as allowed. */
function placesAgain(run: RunContext, state: RunState): boolean {
  const { placement, placements } = state;
  if (run.input.replica) {
    // A replica never moves on its own: its gang places every replica again.
    state.ended = { reason: 'no-host', message: `host ${placement?.host} went silent` };
    state.host = undefined;
    return false;
  }
  log.warn('host went silent; placing the action again', { host: placement?.host, placements });
  if (placements >= run.fleet.maxPlacements) {
    state.ended = {
      reason: 'no-host',
      message: `host ${placement?.host} went silent and the action was already placed ${placements} times (the limit)`,
    };
    state.host = undefined;
    return false;
  }
  enterPhase(state, { kind: 'host-lost' }, `${state.waitingFor} (the last one went silent)`);
  return true;
}
