// Moves what a run left behind into S3: every regular file of /out and the full stdout and stderr.
// /out is read through the engine's archive API, not from the host's disk: the engine hands over a
// tar in which a symlink is only a name, so nothing outside the container can ever be read.
// Everything streams; memory stays bounded whatever the size of /out or of the logs.
import type Docker from 'dockerode';
import { PassThrough, Readable } from 'node:stream';
import { extract, type Header } from 'tar-stream';
import type { Artifact } from '../spec/result.js';
import type { CollectAnswer, CollectRequest } from './types.js';
import { containerName } from './labels.js';
import { demux } from './log-stream.js';
import { ArtifactStore } from './artifact-store.js';

/** Files up to this size are read whole and uploaded many at a time; larger ones stream alone. */
const SMALL_FILE = 1 << 20;
const SMALL_IN_FLIGHT = 16;
/** The result lists this many artifacts; the totals count them all. */
export const LISTED_ARTIFACTS = 1000;
/** How much stdout is kept to be parsed when the action's output is JSON. */
const JSON_OUTPUT_LIMIT = 1 << 20;

export interface CollectDeps {
  docker: Docker;
  host: string;
  store: ArtifactStore;
}

/** A path inside /out as it may be stored, or why not. */
export function safeRelativePath(tarName: string): { path: string } | { why: string } {
  const trimmed = tarName.replace(/\/+$/, '');
  if (trimmed.startsWith('/')) return { why: 'absolute path refused' };
  const parts = trimmed.split('/');
  if (parts[0] !== 'out') return { why: 'outside /out' };
  const rest = parts.slice(1);
  if (rest.some((p) => p === '..' || p === '.' || p === '')) return { why: 'path with "..", "." or an empty part refused' };
  return { path: rest.join('/') };
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

async function collectOut(
  deps: CollectDeps,
  container: Docker.Container,
  base: string,
  progress: (files: number, bytes: number) => void,
): Promise<Pick<CollectAnswer, 'artifacts' | 'skipped' | 'totals'>> {
  const artifacts: Artifact[] = [];
  const skipped: { path: string; why: string }[] = [];
  const totals = { files: 0, bytes: 0 };
  const stored = new Map<string, string>(); // path → key, for hard links inside /out
  const inFlight = new Set<Promise<void>>();
  let failure: unknown;

  const record = (path: string, size: number) => {
    totals.files += 1;
    totals.bytes += size;
    if (artifacts.length < LISTED_ARTIFACTS) artifacts.push({ path, uri: deps.store.uri(`${base}/out/${path}`), size });
    progress(totals.files, totals.bytes);
  };
  const track = (work: Promise<void>) => {
    const p = work.catch((err) => void (failure ??= err)).finally(() => inFlight.delete(p));
    inFlight.add(p);
  };

  const archive = (await container.getArchive({ path: '/out' })) as unknown as Readable;
  const tar = extract();
  const done = new Promise<void>((resolve, reject) => {
    tar.on('finish', resolve);
    tar.on('error', reject);
    archive.on('error', reject);
  });

  tar.on('entry', (header: Header, source, next) => {
    // tar-stream hands out streamx streams; the S3 uploader wants a Node.js Readable.
    source.on('error', (err: Error) => void (failure ??= err));
    const entry = Readable.from(source as AsyncIterable<Buffer>, { objectMode: false });
    void (async () => {
      const safe = safeRelativePath(header.name);
      if ('why' in safe || safe.path === '') {
        if ('why' in safe) skipped.push({ path: header.name, why: safe.why });
        entry.resume();
        return;
      }
      const key = `${base}/out/${safe.path}`;
      if (header.type === 'file' || header.type === 'contiguous-file') {
        const size = header.size ?? 0;
        if (size <= SMALL_FILE) {
          const body = await readAll(entry);
          while (inFlight.size >= SMALL_IN_FLIGHT) await Promise.race(inFlight);
          track(deps.store.put(key, body).then(() => record(safe.path, size)));
        } else {
          await deps.store.upload(key, entry);
          record(safe.path, size);
        }
        stored.set(safe.path, key);
      } else if (header.type === 'link') {
        const target = safeRelativePath(header.linkname ?? '');
        const source = 'path' in target ? stored.get(target.path) : undefined;
        if (source) {
          await Promise.all(inFlight);
          await deps.store.copy(source, key);
          record(safe.path, (await deps.store.size(key)) ?? 0);
        } else skipped.push({ path: safe.path, why: 'hard link to a file outside /out' });
        entry.resume();
      } else {
        if (header.type === 'symlink') skipped.push({ path: safe.path, why: `symlink (to ${header.linkname}) not followed` });
        else if (header.type !== 'directory') skipped.push({ path: safe.path, why: `${header.type} is not a regular file` });
        entry.resume();
      }
    })().then(
      () => (failure ? next(failure as Error) : next()),
      (err: Error) => next(err),
    );
  });

  archive.pipe(tar);
  try {
    await done;
  } catch (err) {
    archive.destroy();
    tar.destroy();
    throw err;
  }
  await Promise.all(inFlight);
  if (failure) throw failure;
  return { artifacts, skipped, totals };
}

async function collectLogs(deps: CollectDeps, container: Docker.Container, base: string, captureStdout: boolean) {
  const stdout = new PassThrough({ highWaterMark: 1 << 20 });
  const stderr = new PassThrough({ highWaterMark: 1 << 20 });
  const keys = { stdout: `${base}/logs/stdout.log`, stderr: `${base}/logs/stderr.log` };
  const uploads = Promise.all([deps.store.upload(keys.stdout, stdout, 'text/plain; charset=utf-8'), deps.store.upload(keys.stderr, stderr, 'text/plain; charset=utf-8')]);
  let bytes = 0;
  const captured: Buffer[] = [];
  let capturedBytes = 0;
  let overflow = false;
  // follow on a finished container returns its whole log and then ends: a stream, never one buffer.
  const source = (await container.logs({ follow: true, stdout: true, stderr: true })) as unknown as AsyncIterable<Buffer>;
  try {
    await demux(source, { stdout, stderr }, (stream, payload) => {
      bytes += payload.length;
      if (!captureStdout || stream !== 'stdout') return;
      if (capturedBytes + payload.length > JSON_OUTPUT_LIMIT) overflow = true;
      else {
        captured.push(payload);
        capturedBytes += payload.length;
      }
    });
  } finally {
    stdout.end();
    stderr.end();
  }
  await uploads;
  return {
    logs: { stdout: deps.store.uri(keys.stdout), stderr: deps.store.uri(keys.stderr), bytes },
    stdoutText: overflow ? undefined : Buffer.concat(captured).toString('utf8'),
    overflow,
  };
}

export async function collect(
  deps: CollectDeps,
  req: CollectRequest,
  heartbeat: (details: { files: number; bytes: number }) => void,
): Promise<CollectAnswer> {
  const container = deps.docker.getContainer(containerName(req, req.attempt, deps.host));
  const base = deps.store.base(req.spec.artifacts.prefix, req.actionId);
  const store = req.spec.artifacts.bucket ? deps.store.withBucket(req.spec.artifacts.bucket) : deps.store;
  const scoped = { ...deps, store };
  const wantsJson = req.spec.output === 'json';
  // Logs and /out are read through separate engine streams: upload both at once.
  const [logs, out] = await Promise.all([
    collectLogs(scoped, container, base, wantsJson),
    req.includeOut
      ? collectOut(scoped, container, base, (files, bytes) => heartbeat({ files, bytes }))
      : { artifacts: [], skipped: [], totals: { files: 0, bytes: 0 } },
  ]);

  const answer: CollectAnswer = { ...out, logs: logs.logs };
  if (wantsJson) {
    if (logs.overflow) answer.outputError = `stdout is larger than ${JSON_OUTPUT_LIMIT} bytes; output "json" expects one JSON value (log to stderr)`;
    else {
      try {
        answer.output = JSON.parse(logs.stdoutText ?? '');
      } catch (err) {
        answer.outputError = `stdout is not JSON (${(err as Error).message}); with output "json" the action prints one JSON value on stdout and logs to stderr`;
      }
    }
  }
  return answer;
}
