// One workflow execution is one action run: place it on a host with a free slot, then one host
// activity per attempt does the work there (image, container, wait, /out and logs to S3,
// result.json) and reports its phase in heartbeats. The workflow only decides, so a crashed worker
// or a restarted server replays it to the same decisions and never starts a container twice.
// The phases are modules of their own; this one runs them in order on the run's one state record.
import { CancellationScope, deprecatePatch, patched, workflowInfo } from '@temporalio/workflow';
import type { ActionResult } from '../spec/result.js';
import {
  fleetSettings,
  INLINE_SPEC_BYTES,
  withoutBulk,
  type FleetOptions,
  type RunActionInput,
} from '../spec/workflow-api.js';
import { underDeadline } from './deadline.js';
import { finish } from './finish.js';
import { placeAndRun } from './placements.js';
import { runGang } from './gang.js';
import { answerQueries } from './queries.js';
import { takeDeadline, takeFailure } from './reactions.js';
import { newRunState, type RunContext } from './run-state.js';
import { checkedSpec, showPending } from './start-run.js';

/** The marker runs of this shape recorded while runs of the per-step shape could still be open. */
const ONE_HOST_ACTIVITY = 'one-host-activity';
/** The marker of runs whose large spec is not copied into each host activity call. */
const SPEC_FROM_HISTORY = 'spec-from-history';

export async function runAction(input: RunActionInput, fleetOptions: FleetOptions = {}): Promise<ActionResult> {
  // Runs of the per-step shape (before this marker) are no longer served; runs that recorded the
  // marker still replay. Remove this call once no open run has the marker (docs/development.md).
  deprecatePatch(ONE_HOST_ACTIVITY);

  const { workflowId: actionId, runId } = workflowInfo();
  const fleet = fleetSettings(fleetOptions);
  const startedAt = new Date();
  const state = newRunState();
  answerQueries(actionId, input, state);

  const spec = checkedSpec(input, state);
  const elided = JSON.stringify(spec).length > INLINE_SPEC_BYTES && patched(SPEC_FROM_HISTORY);
  const carried = elided ? withoutBulk(spec) : spec;
  const run: RunContext = { actionId, runId, input, fleet, startedAt, spec, carried, elided };
  showPending(spec, state);

  const root = CancellationScope.current();
  try {
    // A gang's replicas are child runs of this one; each of them is placed and run as one action.
    // (Only specs with replicas take this way: no run recorded before gangs existed has any.)
    const gang = (spec.replicas ?? 1) > 1 && !input.replica;
    await underDeadline(run, state, () => (gang ? runGang(run, state) : placeAndRun(run, state)));
  } catch (err) {
    takeFailure(state, err);
  }
  if (state.deadlinePassed && !root.consideredCancelled) takeDeadline(run, state);

  return await CancellationScope.nonCancellable(() => finish(run, state));
}
