// The GitHub Action: start (or attach to) an action, stream its log into the step's log, wait,
// then set the outputs, write a job summary, and fail the step when the action did not end DONE.
import * as core from '@actions/core';
import { ActionsClient, InvalidSpecError, type ActionResult } from '../client/index.js';
import { followTail } from '../client/follow.js';
import { formatDuration } from '../spec/quantity.js';
import { actionUiLink } from '../common/ui-link.js';
import { InputError, readInputs } from './inputs.js';

export type Core = Pick<
  typeof core,
  'getInput' | 'setOutput' | 'setFailed' | 'setSecret' | 'info' | 'error' | 'saveState' | 'summary'
>;



async function writeSummary(actions: Core, result: ActionResult, link: string): Promise<void> {
  const duration = Date.parse(result.finishedAt) - Date.parse(result.startedAt);
  await actions.summary
    .addHeading(`Caisson action ${result.status}`, 3)
    .addTable([
      [{ data: 'status', header: true }, { data: result.status }],
      [{ data: 'exit code', header: true }, { data: String(result.exitCode ?? '-') }],
      [{ data: 'reason', header: true }, { data: `${result.reason}: ${result.message}` }],
      [{ data: 'duration', header: true }, { data: formatDuration(duration) }],
      [{ data: 'image', header: true }, { data: `${result.image}${result.imageDigest ? ` (${result.imageDigest})` : ''}` }],
      [{ data: 'host', header: true }, { data: result.host ?? '-' }],
      [{ data: 'artifacts', header: true }, { data: `${result.artifactTotals.files} files; ${result.artifacts.slice(0, 20).map((a) => a.uri).join('<br>')}` }],
      [{ data: 'Temporal', header: true }, { data: link || '-' }],
    ])
    .write()
    .catch(() => undefined); // no summary file outside GitHub: nothing to write
}

export async function run(actions: Core = core, env: NodeJS.ProcessEnv = process.env): Promise<void> {
  for (const secret of ['temporal-api-key', 'temporal-tls-key']) {
    const value = actions.getInput(secret);
    if (value) actions.setSecret(value);
  }
  let inputs;
  try {
    inputs = readInputs((name) => actions.getInput(name), env);
  } catch (err) {
    actions.setFailed(err instanceof InputError ? err.message : String(err));
    return;
  }
  const client = await ActionsClient.connect(inputs.temporal, inputs.taskQueue);
  try {
    const handle = await client.start(inputs.spec, { actionId: inputs.actionId });
    const link = actionUiLink(inputs.uiUrl ?? env.TEMPORAL_UI_URL, inputs.temporal.namespace, handle.actionId) ?? '';
    actions.saveState('action-id', handle.actionId);
    actions.setOutput('action-id', handle.actionId);
    actions.setOutput('temporal-ui-url', link);
    actions.info(`${handle.started ? 'started' : 'attached to'} action ${handle.actionId}${link ? ` (${link})` : ''}`);
    if (!inputs.wait) {
      actions.saveState('finished', 'true');
      return;
    }
    const resultPromise = handle.result();
    if (inputs.followLogs) await followTail(() => handle.logTail(), (lines) => lines.forEach((l) => actions.info(l)), resultPromise);
    const result = await resultPromise;
    actions.saveState('finished', 'true');
    actions.setOutput('run-id', result.runId);
    actions.setOutput('status', result.status);
    actions.setOutput('exit-code', result.exitCode === null ? '' : String(result.exitCode));
    actions.setOutput('reason', result.reason);
    actions.setOutput('artifacts', JSON.stringify(result.artifacts));
    if (result.output !== undefined) actions.setOutput('output', JSON.stringify(result.output));
    await writeSummary(actions, result, link);
    if (result.status !== 'DONE') {
      const tail = result.logTail.slice(-10).join('\n');
      actions.error(`action ${result.status}: exit code ${result.exitCode ?? '-'}, ${result.reason}: ${result.message}${tail ? `\nlast log lines:\n${tail}` : ''}`, {
        title: `Caisson action ${result.status}`,
      });
      actions.setFailed(`action ${handle.actionId} ${result.status}: ${result.message}`);
    }
  } catch (err) {
    actions.setFailed(err instanceof InvalidSpecError ? err.message : `caisson: ${(err as Error).message}`);
  } finally {
    await client.close();
  }
}
