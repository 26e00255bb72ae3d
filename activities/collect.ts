// Moves what a run left behind into S3: every regular file of /out and the full stdout and stderr.
// /out is read from the container's own filesystem on the host when the worker has one
// (collect-dir.ts: never following a symlink), else through the engine's archive API, whose tar
// holds a symlink as a name only. Either way nothing outside the container can be read.
// Everything streams; memory stays bounded whatever the size of /out or of the logs.
import type Docker from 'dockerode';
import { PassThrough, Readable } from 'node:stream';
import { extract, type Header } from 'tar-stream';
import type { CollectAnswer, CollectRequest } from './types.js';
import { containerName } from './labels.js';
import { demux } from './log-stream.js';
import { ArtifactStore } from './artifact-store.js';
import { collectOutFromFolder } from './collect-dir.js';
import { OutUploader } from './out-uploader.js';
import { ENGINE_LOG_FILE_BYTES, ENGINE_LOG_FILES } from './run-container.js';

/** How much stdout is kept to be parsed when the action's output is JSON. */
const JSON_OUTPUT_LIMIT = 1 << 20;

export interface CollectDeps {
  docker: Docker;
  host: string;
  store: ArtifactStore;
  /** The host folder holding the container's /out, where the worker sees the engine's disk. */
  outDir?: (req: CollectRequest) => Promise<string | undefined>;
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

/** /out through the engine's archive API: for engines whose disk this worker cannot see. */
async function collectOutFromArchive(
  deps: CollectDeps,
  container: Docker.Container,
  out: OutUploader,
): Promise<Pick<CollectAnswer, 'artifacts' | 'skipped' | 'totals'>> {
  const stored = new Set<string>(); // paths stored so far, for hard links inside /out
  const archive = (await container.getArchive({ path: '/out' })) as unknown as Readable;
  const tar = extract();
  const done = new Promise<void>((resolve, reject) => {
    tar.on('finish', resolve);
    tar.on('error', reject);
    archive.on('error', reject);
  });

  tar.on('entry', (header: Header, source, next) => {
    // tar-stream hands out streamx streams; the S3 uploader wants a Node.js Readable.
    source.on('error', (err: Error) => out.fail(err));
    const entry = Readable.from(source as AsyncIterable<Buffer>, { objectMode: false });
    void (async () => {
      const safe = safeRelativePath(header.name);
      if ('why' in safe || safe.path === '') {
        if ('why' in safe) out.skip(header.name, safe.why);
        entry.resume();
        return;
      }
      if (header.type === 'file' || header.type === 'contiguous-file') {
        await out.file(safe.path, header.size ?? 0, entry);
        stored.add(safe.path);
      } else if (header.type === 'link') {
        const target = safeRelativePath(header.linkname ?? '');
        if ('path' in target && stored.has(target.path)) await out.copy(safe.path, target.path);
        else out.skip(safe.path, 'hard link to a file outside /out');
        entry.resume();
      } else {
        if (header.type === 'symlink') out.skip(safe.path, `symlink (to ${header.linkname}) not followed`);
        else if (header.type !== 'directory') out.skip(safe.path, `${header.type} is not a regular file`);
        entry.resume();
      }
    })().then(
      () => (out.failed ? next(out.failed as Error) : next()),
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
  return out.finish();
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
    logs: {
      stdout: deps.store.uri(keys.stdout),
      stderr: deps.store.uri(keys.stderr),
      bytes,
      // Rotation drops a whole file only once the files left hold at least all but one of them.
      ...(bytes >= (ENGINE_LOG_FILES - 1) * ENGINE_LOG_FILE_BYTES ? { truncated: true } : {}),
    },
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
  const out = new OutUploader(store, base, (files, bytes) => heartbeat({ files, bytes }));
  const folder = req.includeOut && deps.outDir ? await deps.outDir(req) : undefined;
  const [logs, listing] = await Promise.all([
    collectLogs(scoped, container, base, wantsJson),
    !req.includeOut
      ? out.finish()
      : folder
        ? collectOutFromFolder(folder, out)
        : collectOutFromArchive(scoped, container, out),
  ]);

  const answer: CollectAnswer = { ...listing, logs: logs.logs };
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
