// The `post` step: when the job was cancelled (or the main step died) while the action still ran,
// cancel it, so its container stops and its output is still collected.
import * as core from '@actions/core';
import { ActionsClient } from '../client/index.js';
import { readInputs } from './inputs.js';

export async function post(actions: Pick<typeof core, 'getState' | 'getInput' | 'info' | 'warning'> = core): Promise<void> {
  const actionId = actions.getState('action-id');
  if (!actionId || actions.getState('finished') === 'true') return;
  const inputs = readInputs((name) => actions.getInput(name));
  const client = await ActionsClient.connect(inputs.temporal, inputs.taskQueue);
  try {
    await client.attach(actionId).cancel();
    actions.info(`cancelled action ${actionId}: its container stops and its output is still collected`);
  } catch (err) {
    actions.warning(`could not cancel action ${actionId}: ${(err as Error).message}`);
  } finally {
    await client.close();
  }
}
