// A gang (spec.replicas with gang: true): its replicas placed whole (gang-placement.ts), run as child
// actions that live and end together (replicas.ts), and the whole gang run again, placed anew, when
// a replica's failure is one the spec's retry policy retries, or its host went silent.
import { CancellationScope, log } from '@temporalio/workflow';
import { firstFailed, type ReplicaOutcome } from '../spec/gang.js';
import { runsAgain } from '../spec/result.js';
import { placeGang, release, showPlaced } from './gang-placement.js';
import { runReplicas } from './replicas.js';
import type { GangState, RunContext, RunState } from './run-state.js';
import { enterPhase } from './show-phase.js';

export async function runGang(run: RunContext, state: RunState): Promise<void> {
  const replicas = run.spec.replicas!;
  const gang: GangState = { attempt: 0, replicas: [], ends: [] };
  state.gang = gang;
  let placements = 0;
  for (gang.attempt = 1; ; gang.attempt++) {
    state.attempt = gang.attempt;
    gang.ends = [];
    const placedAt = new Date();
    const placed = await placeGang(run, state, replicas);
    if (!placed) return;
    placements++;
    state.placements = placements;
    state.timings.push({ step: 'place', startedAt: placedAt.toISOString(), ms: Date.now() - placedAt.getTime() });
    showPlaced(state, placed);
    const ends = await runReplicas(run, gang, placed);
    // A replica that never reached its host (its child failed to start, or was cancelled first)
    // left its reservation there: given back now rather than when its claim lapses. Those taken
    // over by a replica's run are no longer under the gang's keys, so this touches none of them.
    await release(run, placed);
    if (CancellationScope.current().consideredCancelled) {
      // A cancel (or the deadline, which the run's end tells apart) stopped the replicas.
      state.canceled = true;
      return;
    }
    const again = runsAgainWhole(run, ends, gang.attempt, placements);
    if (!again) return;
    log.info('running the gang again', { attempt: gang.attempt, why: again });
    enterPhase(state, { kind: 'host-lost' }, `the gang runs again (${again})`);
  }
}

/** Why the whole gang runs again after this attempt, or undefined when it ends here. */
function runsAgainWhole(
  run: RunContext,
  ends: ReplicaOutcome[],
  attempt: number,
  placements: number,
): string | undefined {
  const failed = firstFailed(ends);
  if (!failed) return undefined;
  const result = failed.result;
  // A host that went silent is not the action's failure: placed again, up to the fleet's limit.
  if (result?.reason === 'no-host') {
    return placements < run.fleet.maxPlacements ? `replica ${failed.rank}'s host went silent` : undefined;
  }
  const outcome = { reason: result?.reason ?? 'error', exitCode: result?.exitCode ?? null };
  if (!runsAgain(run.spec.retry, attempt, outcome)) return undefined;
  return `replica ${failed.rank} ${result?.message ?? 'failed'}; attempt ${attempt + 1} of ${run.spec.retry.attempts}`;
}
