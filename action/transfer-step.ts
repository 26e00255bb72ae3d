// The step's side of `upload` and `download`: where the action's folder is, S3 access, and what
// the step logs and outputs about the files it moved (upload.ts and download.ts move them).
import type * as core from '@actions/core';
import type { ActionHandle, ActionsClient } from '../client/index.js';
import { downloadToWorkspace } from './download.js';
import type { ActionInputs } from './inputs.js';
import type { DownloadedFile } from './summary.js';
import { uploadForAction } from './upload.js';

const workspaceOf = (env: NodeJS.ProcessEnv) => env.GITHUB_WORKSPACE || process.cwd();

/** Moving files needs the artifacts bucket: the step's AWS_* variables, as for following the log. */
function bucketAccess(client: ActionsClient, input: string) {
  if (!client.logStore)
    throw new Error(
      `${input} needs access to the artifacts bucket: set AWS_* on the step (AWS_ENDPOINT_URL_S3 for a self-hosted S3)`,
    );
  return client.logStore;
}

/**
 * Uploads the `upload` paths into the action's folder and adds the inputs that stage them to the
 * spec (or the template run) the step is about to start.
 */
export async function stageUploads(
  actions: Pick<typeof core, 'info'>,
  client: ActionsClient,
  inputs: ActionInputs,
  env: NodeJS.ProcessEnv,
): Promise<void> {
  const s3 = bucketAccess(client, 'upload');
  const bucket = inputs.spec.artifacts?.bucket || env.CAISSON_ARTIFACTS_BUCKET;
  if (!bucket)
    throw new Error(
      'upload needs the artifacts bucket: set CAISSON_ARTIFACTS_BUCKET on the step (or artifacts-bucket)',
    );
  // The workers' root, which they read fromAction inputs under; theirs is "actions" unless set.
  const root = env.CAISSON_ARTIFACTS_PREFIX ?? 'actions';
  const sent = await uploadForAction(
    s3,
    { bucket, root },
    inputs.actionId,
    inputs.transfer.upload,
    workspaceOf(env),
    inputs.transfer.uploadMaxBytes,
  );
  if (inputs.template) inputs.template.inputs = [...(inputs.template.inputs ?? []), ...sent.inputs];
  else inputs.spec.inputs = [...(inputs.spec.inputs ?? []), ...sent.inputs];
  actions.info(
    `uploaded ${sent.files} files (${sent.bytes} bytes), staged at ${sent.inputs.map((i) => i.to).join(', ')}`,
  );
}

/** Downloads what `download` selects into the workspace, sets the `downloaded` output and returns its entries. */
export async function downloadStep(
  actions: Pick<typeof core, 'info' | 'setOutput'>,
  client: ActionsClient,
  handle: ActionHandle,
  inputs: ActionInputs,
  env: NodeJS.ProcessEnv,
): Promise<DownloadedFile[]> {
  bucketAccess(client, 'download');
  const { entries, bytes, folder } = await downloadToWorkspace(handle, inputs.transfer, workspaceOf(env));
  actions.setOutput('downloaded', JSON.stringify(entries));
  actions.info(`downloaded ${entries.length} files (${bytes} bytes) into ${folder}`);
  return entries;
}
