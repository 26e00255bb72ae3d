// The `post` step: when the job was cancelled (or the main step died) while the action still ran,
// cancel it, so its container stops and its output is still collected.
import * as core from '@actions/core';
import { ActionsClient } from '../client/index.js';
import { debugStack } from './main.js';
import { readConnectionInputs, type InputReader } from './inputs.js';
import { STATE } from './state.js';

export type PostCore = InputReader & Pick<typeof core, 'getState' | 'info' | 'debug' | 'setFailed'>;

/** The `post` step. Never throws: a failure (Temporal unreachable, the cancel refused) ends in setFailed. */
export async function post(actions: PostCore = core): Promise<void> {
  const actionId = actions.getState(STATE.actionId);
  if (!actionId || actions.getState(STATE.finished) === 'true') return;
  try {
    const inputs = readConnectionInputs(actions);
    const client = await ActionsClient.connect(inputs.temporal, inputs.taskQueue);
    try {
      // Temporal takes cancelling an action that has ended since main's last look as a no-op.
      await client.attach(actionId).cancel();
      actions.info(`cancelled action ${actionId}: its container stops and its output is still collected`);
    } finally {
      await client.close();
    }
  } catch (err) {
    debugStack(actions, err);
    actions.setFailed(
      `caisson: could not cancel action ${actionId}: ${err instanceof Error ? err.message : String(err)}`,
    );
  }
}
