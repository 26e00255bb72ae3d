// The GitHub Action: start (or attach to) an action, stream its log into the step's log, wait,
// then set the outputs, write a job summary, and fail the step when the action did not end DONE.
import { randomUUID } from 'node:crypto';
import * as core from '@actions/core';
import { ActionsClient, InvalidSpecError, TemplateError, type ActionResult } from '../client/index.js';
import { followTail } from '../client/follow.js';
import { formatDuration } from '../spec/quantity.js';
import { actionUiLink } from '../common/text/ui-link.js';
import { InputError, readInputs, type ActionInputs, type InputReader } from './inputs.js';
import { STATE } from './state.js';
import { downloadStep, stageUploads } from './transfer-step.js';

export type Core = InputReader &
  Pick<typeof core, 'setOutput' | 'setFailed' | 'setSecret' | 'info' | 'error' | 'debug' | 'saveState' | 'summary'>;

/** A failure as the step shows it: bad inputs and specs list every problem; anything else says it comes from caisson. */
function failureMessage(err: unknown): string {
  if (err instanceof InputError || err instanceof InvalidSpecError || err instanceof TemplateError) return err.message;
  return `caisson: ${err instanceof Error ? err.message : String(err)}`;
}

/** The stacks of an error and its causes, for the debug log (with source maps: the TypeScript files and lines). */
export function debugStack(actions: Pick<typeof core, 'debug'>, err: unknown): void {
  for (let e: unknown = err; e instanceof Error; e = e.cause) if (e.stack) actions.debug(e.stack);
}

/** Text chosen by the container (messages, file names) is shown in the summary, never read as HTML. */
function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

export async function writeSummary(actions: Pick<Core, 'summary'>, result: ActionResult, link: string): Promise<void> {
  const duration = Date.parse(result.finishedAt) - Date.parse(result.startedAt);
  const e = escapeHtml;
  await actions.summary
    .addHeading(`Caisson action ${result.status}`, 3)
    .addTable([
      [{ data: 'status', header: true }, { data: e(result.status) }],
      [{ data: 'exit code', header: true }, { data: String(result.exitCode ?? '-') }],
      [{ data: 'reason', header: true }, { data: e(`${result.reason}: ${result.message}`) }],
      [{ data: 'duration', header: true }, { data: formatDuration(duration) }],
      [
        { data: 'image', header: true },
        { data: e(`${result.image}${result.imageDigest ? ` (${result.imageDigest})` : ''}`) },
      ],
      [{ data: 'host', header: true }, { data: e(result.host ?? '-') }],
      [
        { data: 'artifacts', header: true },
        {
          data: `${result.artifactTotals.files} files; ${result.artifacts
            .slice(0, 20)
            .map((a) => e(a.uri))
            .join('<br>')}`,
        },
      ],
      [{ data: 'Temporal', header: true }, { data: e(link || '-') }],
    ])
    .write()
    .catch(() => undefined); // no summary file outside GitHub: nothing to write
}

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

async function main(actions: Core, env: NodeJS.ProcessEnv): Promise<void> {
  for (const secret of ['temporal-api-key', 'temporal-tls-key', 'codec-keys']) {
    const value = actions.getInput(secret);
    if (value) actions.setSecret(value);
  }
  if (env.CAISSON_CODEC_KEYS) actions.setSecret(env.CAISSON_CODEC_KEYS);
  const inputs = readInputs(actions, env);
  const client = await ActionsClient.connect(inputs.temporal, inputs.taskQueue);
  try {
    if (inputs.transfer.upload.length) await stageUploads(actions, client, inputs, env);
    if (inputs.array) return await runArrayStep(actions, client, inputs, env);
    const handle = inputs.template
      ? await client.startTemplate(
          inputs.template.ref,
          { input: inputs.template.input, set: inputs.template.set, inputs: inputs.template.inputs },
          { actionId: inputs.actionId },
        )
      : await client.start(inputs.spec, { actionId: inputs.actionId });
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
    actions.setOutput('run-id', result.runId);
    actions.setOutput('status', result.status);
    actions.setOutput('exit-code', result.exitCode === null ? '' : String(result.exitCode));
    actions.setOutput('reason', result.reason);
    actions.setOutput('artifacts', JSON.stringify(result.artifacts));
    if (result.output !== undefined) actions.setOutput('output', JSON.stringify(result.output));
    if (inputs.transfer.download.length) await downloadStep(actions, client, handle, inputs, env);
    await writeSummary(actions, result, link);
    if (result.status !== 'DONE') {
      const tail = result.logTail.slice(-10).join('\n');
      actions.error(
        `action ${result.status}: exit code ${result.exitCode ?? '-'}, ${result.reason}: ${result.message}${tail ? `\nlast log lines:\n${tail}` : ''}`,
        {
          title: `Caisson action ${result.status}`,
        },
      );
      actions.setFailed(`action ${handle.actionId} ${result.status}: ${result.message}`);
    }
  } finally {
    await client.close();
  }
}
