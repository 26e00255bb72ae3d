// The GitHub Action: start (or attach to) an action, stream its log into the step's log, wait,
// then set the outputs, write a job summary, and fail the step when the action did not end DONE.
import { randomUUID } from 'node:crypto';
import * as core from '@actions/core';
import { ActionsClient, InvalidSpecError, TemplateError, type ActionHandle } from '../client/index.js';
import { followTail } from '../client/follow.js';
import { actionUiLink } from '../common/text/ui-link.js';
import { attachExisting, NoSuchActionError } from './await-action.js';
import { maskSecrets } from './connection-inputs.js';
import { failureAnnotation } from './failure-annotation.js';
import { printContainerLogs } from './container-logs.js';
import { InputError, readInputs, type ActionInputs, type InputReader } from './inputs.js';
import { STATE } from './state.js';
import { writeSummary } from './summary.js';
import { downloadStep, stageUploads } from './transfer-step.js';

export type Core = InputReader &
  Pick<typeof core, 'setOutput' | 'setFailed' | 'setSecret' | 'info' | 'error' | 'debug' | 'saveState' | 'summary'>;

/** A failure as the step shows it: bad inputs and specs list every problem; anything else says it comes from caisson. */
function failureMessage(err: unknown): string {
  if (
    err instanceof InputError ||
    err instanceof InvalidSpecError ||
    err instanceof TemplateError ||
    err instanceof NoSuchActionError
  )
    return err.message;
  return `caisson: ${err instanceof Error ? err.message : String(err)}`;
}

/** The stacks of an error and its causes, for the debug log (with source maps: the TypeScript files and lines). */
export function debugStack(actions: Pick<typeof core, 'debug'>, err: unknown): void {
  for (let e: unknown = err; e instanceof Error; e = e.cause) if (e.stack) actions.debug(e.stack);
}

export { writeSummary } from './summary.js';

/** The `main` step. Never throws: every failure, bad inputs and an unreachable Temporal included, ends in setFailed. */
export async function run(actions: Core = core, env: NodeJS.ProcessEnv = process.env): Promise<void> {
  try {
    await main(actions, env);
  } catch (err) {
    debugStack(actions, err);
    actions.setFailed(failureMessage(err));
  }
}

/**
 * Prints what the container wrote as text only. A line such as "::add-mask::" or "::set-output"
 * from the container must never act on the job, so the runner's workflow commands are paused
 * around it (`::stop-commands::`) with a token the container cannot know, and resumed after.
 */
async function relayAsText(actions: Core, relay: () => Promise<void>): Promise<void> {
  const token = `caisson-${randomUUID()}`;
  actions.info(`::stop-commands::${token}`);
  try {
    await relay();
  } finally {
    actions.info(`::${token}::`);
  }
}

/** An array: started, awaited, summarised (counts, each child's status and exit code); fails the step unless DONE. */
async function runArrayStep(
  actions: Core,
  client: ActionsClient,
  inputs: ActionInputs,
  env: NodeJS.ProcessEnv,
): Promise<void> {
  const spec = inputs.template ? await client.templateSpec(inputs.template.ref, inputs.template) : inputs.spec;
  const handle = await client.startArray(spec, inputs.array!, { actionId: inputs.actionId });
  const link = actionUiLink(inputs.uiUrl ?? env.TEMPORAL_UI_URL, inputs.temporal.namespace, handle.actionId) ?? '';
  actions.saveState(STATE.actionId, handle.actionId);
  actions.setOutput('action-id', handle.actionId);
  actions.setOutput('temporal-ui-url', link);
  actions.info(`started array ${handle.actionId}${link ? ` (${link})` : ''}`);
  if (!inputs.wait) {
    actions.saveState(STATE.finished, 'true');
    return;
  }
  const result = await handle.result();
  actions.saveState(STATE.finished, 'true');
  actions.setOutput('status', result.status);
  actions.setOutput('reason', result.reason);
  actions.setOutput('children', JSON.stringify(result.byStatus));
  actions.setOutput(
    'children-list',
    JSON.stringify(result.children.map((c) => ({ index: c.index, status: c.status, exitCode: c.exitCode }))),
  );
  actions.info(`array ${result.status}: ${result.message}`);
  if (result.status !== 'DONE') actions.setFailed(`array ${handle.actionId} ${result.status}: ${result.message}`);
}

/** The step's action: attached to when the step only names its id, else started (or attached to, on a re-run). */
function startOrAttach(client: ActionsClient, inputs: ActionInputs): Promise<ActionHandle> {
  if (inputs.awaitOnly) return attachExisting(client, inputs.actionId, inputs.temporal.namespace);
  if (inputs.template)
    return client.startTemplate(
      inputs.template.ref,
      { input: inputs.template.input, set: inputs.template.set, inputs: inputs.template.inputs },
      { actionId: inputs.actionId },
    );
  return client.start(inputs.spec, { actionId: inputs.actionId });
}

async function main(actions: Core, env: NodeJS.ProcessEnv): Promise<void> {
  maskSecrets(actions, env);
  const inputs = readInputs(actions, env);
  const client = await ActionsClient.connect(inputs.temporal, inputs.taskQueue);
  try {
    if (inputs.transfer.upload.length) await stageUploads(actions, client, inputs, env);
    if (inputs.array) return await runArrayStep(actions, client, inputs, env);
    const handle = await startOrAttach(client, inputs);
    const link = actionUiLink(inputs.uiUrl ?? env.TEMPORAL_UI_URL, inputs.temporal.namespace, handle.actionId) ?? '';
    actions.saveState(STATE.actionId, handle.actionId);
    actions.setOutput('action-id', handle.actionId);
    actions.setOutput('temporal-ui-url', link);
    actions.setOutput('attached', String(!handle.started));
    actions.info(`${handle.started ? 'started' : 'attached to'} action ${handle.actionId}${link ? ` (${link})` : ''}`);
    if (!inputs.wait) {
      actions.saveState(STATE.finished, 'true');
      return;
    }
    const resultPromise = handle.result();
    if (inputs.followLogs) {
      if (handle.canReadLogs) {
        // Every line, from the segments the host ships to S3; stderr in red.
        await relayAsText(actions, async () => {
          try {
            for await (const line of handle.logs({ follow: true, until: resultPromise }))
              actions.info(line.stream === 'stderr' ? `\x1b[31m${line.text}\x1b[0m` : line.text);
          } catch (err) {
            // The action goes on; only the view of its log broke. Its full log is in S3 at the end.
            actions.info(`(following the log stopped: ${(err as Error).message})`);
          }
        });
      } else {
        actions.info(
          '(no access to the artifacts bucket: set AWS_* on the step to see every line; showing the last lines the host reports)',
        );
        await relayAsText(actions, () =>
          followTail(
            () => handle.logTail(),
            (lines) => lines.forEach((l) => actions.info(l)),
            resultPromise,
          ),
        );
      }
    }
    const result = await resultPromise;
    actions.saveState(STATE.finished, 'true');
    // A pod's other containers: their logs are stored, not live; shown once it has ended.
    if (inputs.followLogs && handle.canReadLogs && result.containers)
      await relayAsText(actions, () => printContainerLogs((line) => actions.info(line), handle, result));
    actions.setOutput('run-id', result.runId);
    actions.setOutput('status', result.status);
    actions.setOutput('exit-code', result.exitCode === null ? '' : String(result.exitCode));
    actions.setOutput('reason', result.reason);
    actions.setOutput('artifacts', JSON.stringify(result.artifacts));
    if (result.output !== undefined) actions.setOutput('output', JSON.stringify(result.output));
    const downloaded = inputs.transfer.download.length
      ? await downloadStep(actions, client, handle, inputs, env)
      : undefined;
    await writeSummary(actions, result, link, downloaded);
    if (result.status !== 'DONE') {
      const { title, message } = failureAnnotation(handle.actionId, result);
      actions.error(message, { title });
      actions.setFailed(`action ${handle.actionId} ${result.status}: ${result.message}`);
    }
  } finally {
    await client.close();
  }
}
