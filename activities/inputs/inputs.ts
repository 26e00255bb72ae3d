// Input artifacts: what the spec's `inputs` name is looked up before anything else of the attempt
// (so that a missing object fails before the pull, reason input-unavailable), then staged into the
// container's own filesystem under /in before it starts, mounted read-only. Staged inputs take room
// on that filesystem: they count against the action's disk budget (outDisk + tmpDisk).
import { lstat, mkdir } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { HeadObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { ApplicationFailure } from '@temporalio/activity';
import { INPUTS_DIR, parseS3Uri, type Action } from '../../spec/action.js';
import type { StagedInput } from '../../spec/result.js';
import { formatBytes } from '../../spec/quantity.js';
import { isMissingObject } from '../../common/storage/s3-client.js';
import type { ArtifactStore } from '../store/artifact-store.js';
import type { InputCache, ObjectVersion } from './input-cache.js';
import { s3KeyProblem } from '../store/s3-key.js';
import { belowDir, insideRoot, PathOutsideRoot } from '../trust/contained-path.js';
import { refusedByHost } from '../trust/refused.js';
import { FailureType } from '../../spec/failures.js';

/** One object to stage, and where in the container it goes. */
export interface InputObject extends ObjectVersion {
  to: string;
  /** The spec field `to` came from ("inputs.0.to"), named when the host refuses it. */
  field?: string;
}

/** Objects one action may stage in all: a prefix of millions is refused, not listed for minutes. */
const MAX_INPUT_OBJECTS = 10_000;
/** Downloads (or copies from the cache) at once: many small objects are not fetched one by one. */
const STAGING_IN_FLIGHT = 4;

export function inputUnavailable(message: string): ApplicationFailure {
  return ApplicationFailure.create({ type: FailureType.InputUnavailable, nonRetryable: true, message });
}

/** S3 answers that no retry changes: the object, prefix or bucket is not there or not readable. */
function refusal(err: unknown): string | undefined {
  if (isMissingObject(err)) return 'no such object';
  const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
  if (e.name === 'NoSuchBucket') return 'no such bucket';
  if (e.name === 'AccessDenied' || e.$metadata?.httpStatusCode === 403) return 'access denied to the worker';
  return undefined;
}

/** The path below a prefix as a file name: every part one a file system and a reader can take. */
function relativeName(rel: string): string | undefined {
  if (!rel || rel.endsWith('/')) return undefined; // a folder marker
  return s3KeyProblem(rel) ? undefined : rel;
}

/**
 * Every object the inputs name, with its size and version, or a final failure naming the input.
 * `store` is where this action's artifacts go: `fromAction` reads that bucket and root.
 */
export async function resolveInputs(
  s3: S3Client,
  spec: Action,
  store: ArtifactStore,
  diskBytes: number,
): Promise<InputObject[]> {
  const objects: InputObject[] = [];
  for (const [i, input] of spec.inputs.entries()) {
    const where = input.from
      ? parseS3Uri(input.from)!
      : { bucket: store.bucket, key: `${store.base(undefined, input.fromAction!)}/${input.path}` };
    const uri = `s3://${where.bucket}/${where.key}`;
    const field = `inputs.${i}`;
    try {
      if (!where.key.endsWith('/')) {
        const head = await s3.send(new HeadObjectCommand({ Bucket: where.bucket, Key: where.key }));
        objects.push({
          ...where,
          etag: head.ETag ?? '',
          size: head.ContentLength ?? 0,
          to: input.to,
          field: `${field}.to`,
        });
        continue;
      }
      let found = 0;
      let token: string | undefined;
      do {
        const page = await s3.send(
          new ListObjectsV2Command({ Bucket: where.bucket, Prefix: where.key, ContinuationToken: token }),
        );
        for (const o of page.Contents ?? []) {
          const rel = relativeName(o.Key!.slice(where.key.length));
          if (rel === undefined) continue;
          if (objects.length >= MAX_INPUT_OBJECTS)
            throw inputUnavailable(`${field}: more than ${MAX_INPUT_OBJECTS} objects in all; name a narrower prefix`);
          objects.push({
            bucket: where.bucket,
            key: o.Key!,
            etag: o.ETag ?? '',
            size: o.Size ?? 0,
            to: `${input.to}/${rel}`,
            field: `${field}.to`,
          });
          found++;
        }
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (token);
      if (!found) throw inputUnavailable(`${field}: no objects under ${uri}`);
    } catch (err) {
      if (err instanceof ApplicationFailure) throw err;
      const why = refusal(err);
      if (why) throw inputUnavailable(`${field}: ${uri} cannot be read (${why}); the container was not started`);
      throw err; // an outage: the attempt is tried again
    }
  }
  const total = objects.reduce((sum, o) => sum + o.size, 0);
  if (total > diskBytes) {
    throw inputUnavailable(
      `the inputs hold ${formatBytes(total)}, more than the action's disk of ${formatBytes(diskBytes)} (outDisk + tmpDisk, which inputs share): raise resources.tmpDisk`,
    );
  }
  return objects;
}

/**
 * Refuses, naming the field, an input whose `to` is not a plain path under /in: the request may
 * come from any worker of the namespace, so the host checks before it makes anything. A prefix
 * may land at /in itself; a single object needs a name below it.
 */
export function checkInputTargets(spec: Pick<Action, 'inputs'>, host: string): void {
  spec.inputs.forEach((input, i) => {
    const prefix = (input.from ?? input.path ?? '').endsWith('/');
    if (prefix && input.to === INPUTS_DIR) return;
    hostPath(host, `inputs.${i}.to`, () => belowDir(INPUTS_DIR, input.to));
  });
}

/** Where on the host `obj` is staged: below `folder` (the host side of /in), or a refusal. */
export function stagedPath(folder: string, obj: InputObject, host: string): string {
  return hostPath(host, obj.field ?? 'inputs', () => insideRoot(folder, belowDir(INPUTS_DIR, obj.to)));
}

/** `build()`, with a path it refuses turned into the host's refusal of `field`. */
function hostPath(host: string, field: string, build: () => string): string {
  try {
    return build();
  } catch (err) {
    if (err instanceof PathOutsideRoot) throw refusedByHost(host, field, err.message);
    throw err;
  }
}

/**
 * Stages the objects into `folder`, the host folder mounted at /in: each at its path below /in,
 * `concurrency` at a time. Returns what each became: its path in the container, size and sha256.
 */
export async function stageInputs(
  objects: InputObject[],
  folder: string,
  cache: InputCache,
  host: string,
): Promise<StagedInput[]> {
  // Every target is checked before the first byte is written: a refusal leaves /in empty.
  const dests = objects.map((obj) => stagedPath(folder, obj, host));
  const made = new Set<string>();
  const staged: StagedInput[] = new Array(objects.length);
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < objects.length; i = next++) {
      const obj = objects[i]!;
      const dest = dests[i]!;
      await mkdirNoFollow(folder, dirname(dest), made).catch((err: unknown) => {
        if (err instanceof PathOutsideRoot) throw refusedByHost(host, obj.field ?? 'inputs', err.message);
        throw err;
      });
      // The file itself is opened without following a link at its name (see input-cache.ts).
      const got = await cache.fetchTo(obj, dest);
      staged[i] = {
        path: obj.to,
        source: `s3://${obj.bucket}/${obj.key}`,
        size: got.size,
        sha256: got.sha256,
        cached: got.cached,
      };
    }
  };
  await Promise.all(Array.from({ length: Math.min(STAGING_IN_FLIGHT, objects.length) }, worker));
  return staged;
}

/**
 * Makes `dir` (inside `root`) one folder at a time, never through a link: an existing part must
 * be a real folder (lstat). mkdir -p would follow a link on the way and make folders, then write
 * the file, wherever it points. /in is the worker's alone (the container sees it read-only, and
 * only once started), so a link there is a bug or tampering on the host: refused all the same.
 * `made`: folders known to be real already, shared by one staging's concurrent downloads.
 */
async function mkdirNoFollow(root: string, dir: string, made: Set<string>): Promise<void> {
  let path = root;
  for (const part of relative(root, dir).split('/').filter(Boolean)) {
    path = join(path, part);
    if (made.has(path)) continue;
    await mkdir(path).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'EEXIST') throw err;
    });
    const info = await lstat(path);
    if (!info.isDirectory())
      throw new PathOutsideRoot(root, path, info.isSymbolicLink() ? 'is a symlink, not followed' : 'is not a folder');
    made.add(path);
  }
}
