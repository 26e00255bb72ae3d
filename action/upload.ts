// `upload`: files of the job's workspace sent to S3 into the action's own folder
// ("<root>/<action id>/in/<name>") before it starts, then staged read-only into /in/<name> by the
// spec's own `inputs` (fromAction: the action itself), so the host reads and checks them as any
// input. Only regular files go: a symlink is not followed out of the workspace, and the bytes in
// all are bounded.
import { createReadStream } from 'node:fs';
import { lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { ActionSpecInput } from '../spec/action.js';
import { stagedName } from './transfer-inputs.js';
import { realPathInWorkspace } from './workspace-path.js';

type SpecInput = NonNullable<ActionSpecInput['inputs']>[number];

/** The most files one step uploads: as many as a host stages for one action. */
const MAX_UPLOAD_FILES = 10_000;
const UPLOADS_IN_FLIGHT = 4;

/** Where the action's folder is: the artifacts bucket and the workers' root (CAISSON_ARTIFACTS_PREFIX). */
export interface ActionFolder {
  bucket: string;
  root: string;
}

interface LocalFile {
  real: string;
  /** Its path below the uploaded folder; "" for a single file. */
  rel: string;
  size: number;
}

/** Regular files below `folder`, symlinks and other kinds left out. */
async function filesBelow(folder: string, rel = ''): Promise<LocalFile[]> {
  const files: LocalFile[] = [];
  for (const entry of await readdir(join(folder, rel), { withFileTypes: true })) {
    const path = rel ? `${rel}/${entry.name}` : entry.name;
    if (entry.isDirectory()) files.push(...(await filesBelow(folder, path)));
    else if (entry.isFile())
      files.push({ real: join(folder, path), rel: path, size: (await lstat(join(folder, path))).size });
  }
  return files;
}

/** Each path's files, checked against the bounds before anything is sent. */
async function gather(paths: string[], workspace: string, maxBytes: number) {
  const sets: { name: string; folder: boolean; files: LocalFile[] }[] = [];
  for (const path of paths) {
    const real = realPathInWorkspace(path, workspace, 'file or folder');
    const folder = (await lstat(real)).isDirectory();
    const files = folder ? await filesBelow(real) : [{ real, rel: '', size: (await lstat(real)).size }];
    if (!files.length) throw new Error(`upload: ${path} holds no files`);
    sets.push({ name: stagedName(path), folder, files });
  }
  const all = sets.flatMap((s) => s.files);
  const bytes = all.reduce((sum, f) => sum + f.size, 0);
  if (all.length > MAX_UPLOAD_FILES) throw new Error(`upload: ${all.length} files, more than ${MAX_UPLOAD_FILES}`);
  if (bytes > maxBytes) throw new Error(`upload: ${bytes} bytes, more than upload-max-bytes (${maxBytes})`);
  return { sets, files: all.length, bytes };
}

/**
 * Uploads `paths` into the action's folder and returns the spec inputs that stage them, with what
 * was sent. Uploading again (a re-run of the step) writes the same objects.
 */
export async function uploadForAction(
  s3: S3Client,
  where: ActionFolder,
  actionId: string,
  paths: string[],
  workspace: string,
  maxBytes: number,
): Promise<{ inputs: SpecInput[]; files: number; bytes: number }> {
  const { sets, files, bytes } = await gather(paths, workspace, maxBytes);
  const root = where.root.replace(/^\/+|\/+$/g, '');
  const inputs: SpecInput[] = [];
  const queue: { key: string; file: LocalFile }[] = [];
  for (const set of sets) {
    const path = `in/${set.name}`;
    const base = `${root ? `${root}/` : ''}${actionId}/${path}`;
    for (const file of set.files) queue.push({ key: file.rel ? `${base}/${file.rel}` : base, file });
    inputs.push({ fromAction: actionId, path: set.folder ? `${path}/` : path, to: `/in/${set.name}` });
  }
  const send = async () => {
    for (let next = queue.shift(); next; next = queue.shift()) {
      const { key, file } = next;
      await s3.send(
        new PutObjectCommand({
          Bucket: where.bucket,
          Key: key,
          Body: createReadStream(file.real),
          ContentLength: file.size,
        }),
      );
    }
  };
  await Promise.all(Array.from({ length: UPLOADS_IN_FLIGHT }, send));
  return { inputs, files, bytes };
}
