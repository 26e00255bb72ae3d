// `caisson cp ID:out/PATH LOCAL`: files an action stored from /out, back on the local disk.
// PATH is a file (LOCAL is then the file, or a folder to put it in), a folder (its files land in
// LOCAL below it), a glob ("out/**/*.csv": the matches keep their path inside /out), or nothing
// ("ID:out": all of /out). It waits for the action to end: what its final attempt stored is what
// comes. A progress line (files, bytes) goes to stderr; a second run skips what is already there
// whole. Needs read access to the artifacts bucket (AWS_*).
import { statSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import { parseArgs } from 'node:util';
import type { ActionsClient, DownloadOptions, DownloadProgress, DownloadSummary } from '../client/index.js';
import { ActionId } from '../spec/action.js';
import { isGlob } from '../common/text/glob.js';
import { UsageError } from './spec-from-flags.js';

/** The progress line is written at most this often, and once at the end. */
const PROGRESS_EVERY_MS = 500;

/** "ID:out/PATH" split into the action id and PATH inside /out ("" for all of it). */
function parseSource(source: string): { actionId: string; path: string } {
  const at = source.indexOf(':');
  const actionId = at < 0 ? '' : source.slice(0, at);
  const rest = at < 0 ? '' : source.slice(at + 1);
  if (!ActionId.safeParse(actionId).success || !(rest === 'out' || rest.startsWith('out/')))
    throw new UsageError(`cp takes ID:out/PATH (a file, folder or glob inside the action's /out), not ${source}`);
  return { actionId, path: rest.replace(/^out\/?/, '').replace(/\/+$/, '') };
}

function isFolder(local: string): boolean {
  return local.endsWith('/') || (statSync(local, { throwIfNoEntry: false })?.isDirectory() ?? false);
}

/** Where the files go and which ones: the target folder and the download options for PATH. */
async function plan(
  client: ActionsClient,
  actionId: string,
  path: string,
  local: string,
): Promise<{ toDir: string; options: DownloadOptions }> {
  if (path === '') return { toDir: local, options: {} };
  if (isGlob(path)) return { toDir: local, options: { include: [path] } };
  let file = false;
  for await (const object of client.attach(actionId).artifactObjects())
    if (object.path === path) {
      file = true;
      break;
    }
  if (file) {
    const [toDir, name] = isFolder(local) ? [local, basename(path)] : [dirname(local), basename(local)];
    return { toDir, options: { target: (p) => (p === path ? name : undefined) } };
  }
  const below = `${path}/`;
  return { toDir: local, options: { target: (p) => (p.startsWith(below) ? p.slice(below.length) : undefined) } };
}

function progressLine(p: DownloadProgress): string {
  return `${p.files} files, ${p.bytes} bytes${p.present ? ` (${p.present} already here)` : ''}`;
}

/** Runs `caisson cp`; says what it did on `err` (stderr) and returns the exit code. */
export async function cpCommand(args: string[], client: ActionsClient, err: (text: string) => void): Promise<number> {
  const { positionals } = parseArgs({ args, allowPositionals: true, options: {} });
  if (positionals.length !== 2) throw new UsageError('cp takes ID:out/PATH and a local path');
  const { actionId, path } = parseSource(positionals[0]!);
  const local = positionals[1]!;
  const { toDir, options } = await plan(client, actionId, path, local);
  let shown = 0;
  const summary: DownloadSummary = await client.attach(actionId).download(toDir, {
    ...options,
    onProgress: (p) => {
      if (Date.now() - shown < PROGRESS_EVERY_MS) return;
      shown = Date.now();
      err(progressLine(p));
    },
  });
  const present = summary.files.filter((f) => !f.fetched).length;
  err(`copied to ${toDir}: ${progressLine({ files: summary.files.length, bytes: summary.bytes, present })}`);
  for (const r of summary.refused) err(`refused ${JSON.stringify(r.path)}: ${r.why}`);
  if (summary.refused.length) return 1;
  if (!summary.files.length) {
    err(`nothing in the /out of ${actionId} matches out/${path}`);
    return 1;
  }
  return 0;
}
