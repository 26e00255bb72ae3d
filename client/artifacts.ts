// An action's /out back on a local disk: every file its final attempt stored (listed from S3, not
// from the result, which names the first thousand), chosen by globs, streamed a few at a time
// into a folder of the caller's. Paths come from S3 keys and are checked to stay inside that
// folder; a file already there whole is not fetched again, so a stopped download resumes.
import { resolve } from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import { parseS3Uri } from '../spec/action.js';
import type { ActionResult } from '../spec/result.js';
import { globMatcher } from '../common/text/glob.js';
import { localPathInside, UnsafeLocalPath } from '../common/storage/local-target.js';
import { fetchObject } from '../common/storage/object-download.js';
import { listUnder, type ListedObject } from '../common/storage/prefix-listing.js';

/** Files fetched at once: enough to hide S3's latency on many small files, few enough to stay light. */
const FILES_IN_FLIGHT = 4;

export interface DownloadProgress {
  /** Files done so far, fetched or found already present. */
  files: number;
  bytes: number;
  /** Of those, found whole from an earlier run and not fetched again. */
  present: number;
}

export interface DownloadOptions {
  /** Globs over paths inside /out ("*.txt", "sub/**"); none: every file. */
  include?: readonly string[];
  onProgress?: (progress: DownloadProgress) => void;
  /**
   * Where a path inside /out lands, relative to the target folder; undefined leaves it out.
   * By default the same path, for the files `include` selects.
   */
  target?: (path: string) => string | undefined;
}

export interface DownloadedFile {
  /** Its path inside /out. */
  path: string;
  /** Where it is on the local disk. */
  local: string;
  size: number;
  /** False when it was already there whole and not fetched again. */
  fetched: boolean;
}

export interface DownloadSummary {
  files: DownloadedFile[];
  /** Bytes of every file listed, fetched or already present. */
  bytes: number;
  fetchedBytes: number;
  /** Objects whose key would land outside the folder: never written. */
  refused: { path: string; why: string }[];
}

/** The bucket and key prefix of an action's /out, from where its result.json is stored. */
export function outFolderOf(result: Pick<ActionResult, 'resultUri'>): { bucket: string; prefix: string } | undefined {
  const where = result.resultUri ? parseS3Uri(result.resultUri) : undefined;
  if (!where?.key.endsWith('/result.json')) return undefined;
  return { bucket: where.bucket, prefix: `${where.key.slice(0, -'result.json'.length)}out/` };
}

/** Every file of the action's /out in S3 (none when it stored no result). */
export async function* listOut(s3: S3Client, result: Pick<ActionResult, 'resultUri'>): AsyncGenerator<ListedObject> {
  const folder = outFolderOf(result);
  if (folder) yield* listUnder(s3, folder.bucket, folder.prefix);
}

/** Downloads the files of the action's /out that `options` choose into `toDir` (see the module comment). */
export async function downloadOut(
  s3: S3Client,
  result: Pick<ActionResult, 'resultUri'>,
  toDir: string,
  options: DownloadOptions = {},
): Promise<DownloadSummary> {
  const root = resolve(toDir);
  const folder = outFolderOf(result);
  const included = globMatcher(options.include ?? []);
  const target = options.target ?? ((path: string) => (included(path) ? path : undefined));
  const summary: DownloadSummary = { files: [], bytes: 0, fetchedBytes: 0, refused: [] };
  const progress: DownloadProgress = { files: 0, bytes: 0, present: 0 };
  const inFlight = new Set<Promise<void>>();
  let failure: unknown;

  const take = async (object: ListedObject, local: string) => {
    try {
      const fetched = (await fetchObject(s3, folder!.bucket, object, root, local)) === 'fetched';
      summary.files.push({ path: object.path, local, size: object.size, fetched });
      summary.bytes += object.size;
      if (fetched) summary.fetchedBytes += object.size;
      progress.files += 1;
      progress.bytes += object.size;
      if (!fetched) progress.present += 1;
      options.onProgress?.({ ...progress });
    } catch (err) {
      if (err instanceof UnsafeLocalPath) summary.refused.push({ path: object.path, why: err.why });
      else failure ??= err;
    }
  };

  for await (const object of listOut(s3, result)) {
    if (failure) break;
    const relative = target(object.path);
    if (relative === undefined) continue;
    let local: string;
    try {
      local = localPathInside(root, relative);
    } catch (err) {
      summary.refused.push({ path: object.path, why: (err as UnsafeLocalPath).why });
      continue;
    }
    const work = take(object, local).finally(() => inFlight.delete(work));
    inFlight.add(work);
    if (inFlight.size >= FILES_IN_FLIGHT) await Promise.race(inFlight);
  }
  await Promise.all(inFlight);
  if (failure) throw failure;
  summary.files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return summary;
}
