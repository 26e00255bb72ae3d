// `download`: once the action has ended, the files of its /out that the globs select are brought
// into the workspace (`download-path`, which must stay inside it), within `download-max-bytes`
// counted before anything is written; the `downloaded` output lists them.
import { mkdirSync } from 'node:fs';
import { isAbsolute, relative, resolve } from 'node:path';
import type { ActionHandle } from '../client/index.js';
import { globMatcher } from '../common/text/glob.js';
import type { TransferInputs } from './transfer-inputs.js';
import { realPathInWorkspace } from './workspace-path.js';

/** What one file downloaded is, as the `downloaded` output lists it. */
interface DownloadedEntry {
  /** Its path in the action, "out/…". */
  path: string;
  /** Where it is, relative to the workspace. */
  file: string;
  size: number;
}

/** The bytes the globs select, refused over the bound before anything is written. */
async function checkBound(handle: ActionHandle, transfer: TransferInputs): Promise<void> {
  const selected = globMatcher(transfer.download);
  let bytes = 0;
  for await (const object of handle.artifactObjects()) if (selected(object.path)) bytes += object.size;
  if (bytes > transfer.downloadMaxBytes)
    throw new Error(
      `download: the files selected hold ${bytes} bytes, more than download-max-bytes (${transfer.downloadMaxBytes}); narrow the globs or raise the bound`,
    );
}

/** Downloads what `transfer.download` selects into the workspace; returns the entries for the output. */
export async function downloadToWorkspace(
  handle: ActionHandle,
  transfer: TransferInputs,
  workspace: string,
): Promise<{ entries: DownloadedEntry[]; bytes: number; folder: string }> {
  const target = resolve(workspace, transfer.downloadPath);
  const lexical = relative(resolve(workspace), target);
  if (lexical.startsWith('..') || isAbsolute(lexical))
    throw new Error(`download-path ${transfer.downloadPath} lies outside the workspace (${workspace})`);
  await checkBound(handle, transfer);
  mkdirSync(target, { recursive: true });
  const folder = realPathInWorkspace(transfer.downloadPath, workspace, 'folder');
  const summary = await handle.download(folder, { include: transfer.download });
  if (summary.refused.length)
    throw new Error(
      `download refused ${summary.refused.length} files whose names would land outside ${transfer.downloadPath}: ${summary.refused
        .slice(0, 5)
        .map((r) => `${JSON.stringify(r.path)} (${r.why})`)
        .join(', ')}`,
    );
  const root = realPathInWorkspace('.', workspace, 'folder');
  const entries = summary.files.map((f) => ({ path: `out/${f.path}`, file: relative(root, f.local), size: f.size }));
  return { entries, bytes: summary.bytes, folder: relative(root, folder) || '.' };
}
