// Moves what a run left behind into S3: every regular file of /out and the full stdout and stderr.
// /out is read from the container's own filesystem on the host when the worker has one
// (collect-dir.ts: never following a symlink), else through the engine's archive API, whose tar
// holds a symlink as a name only. Either way nothing outside the container can be read.
// Both ways apply the same rules: a name S3 cannot store (s3-key.ts) or that is not UTF-8 is
// skipped with its reason while every other file is stored, and a file with several names (hard
// links) is stored once, under its first name, the others listed as skipped naming it.
// Everything streams; memory stays bounded whatever the size of /out or of the logs.
import type Docker from 'dockerode';
import { PassThrough, Readable } from 'node:stream';
import { extract, type Header } from 'tar-stream';
import type { CollectAnswer, CollectRequest } from '../types.js';
import { containerName, memberContainerName } from '../container/labels.js';
import { extraMembers, isPod, MAIN_CONTAINER } from '../../spec/containers.js';
import { demux } from '../logs/log-stream.js';
import { ArtifactStore } from '../store/artifact-store.js';
import { collectOutFromFolder } from './collect-dir.js';
import { folderWhy, hardLinkWhy, OutUploader, type Listing } from './out-uploader.js';
import { shownBytes, utf8Name } from '../store/s3-key.js';
import { ENGINE_LOG_FILES, engineLogFileBytes } from '../container/run-container.js';
import type { Redactor } from '../logs/redaction.js';

/** How much stdout is kept to be parsed when the action's output is JSON. */
const JSON_OUTPUT_LIMIT = 1 << 20;

export interface CollectDeps {
  docker: Docker;
  host: string;
  store: ArtifactStore;
  /** Masks the action's secrets in the logs and output it stores. */
  redactor?: Redactor;
  /** The host folder holding the container's /out, where the worker sees the engine's disk. */
  outDir?: (req: CollectRequest) => Promise<string | undefined>;
  /** The start of the first frame the live log read from the beginning (LogShipper.firstFrame). */
  firstFrame?: Buffer;
}

/** A path inside /out as it may be stored, or why not. */
export function safeRelativePath(tarName: string): { path: string } | { why: string } {
  const trimmed = tarName.replace(/\/+$/, '');
  if (trimmed.startsWith('/')) return { why: 'absolute path refused' };
  const parts = trimmed.split('/');
  if (parts[0] !== 'out') return { why: 'outside /out' };
  const rest = parts.slice(1);
  if (rest.some((p) => p === '..' || p === '.' || p === ''))
    return { why: 'path with "..", "." or an empty part refused' };
  return { path: rest.join('/') };
}

/** /out through the engine's archive API: for engines whose disk this worker cannot see. */
async function collectOutFromArchive(container: Docker.Container, out: OutUploader): Promise<Listing> {
  const archive = (await container.getArchive({ path: '/out' })) as unknown as Readable;
  return collectOutFromTar(archive, out);
}

/** A tar of /out, as the engine's archive API writes it, uploaded entry by entry as it streams by. */
export async function collectOutFromTar(archive: Readable, out: OutUploader): Promise<Listing> {
  // Names in the tar header itself come one char a byte, to be decoded strictly (archiveText).
  const tar = extract({ filenameEncoding: 'latin1' } as Parameters<typeof extract>[0]);
  const refused = new RefusedFolder();
  const done = new Promise<void>((resolve, reject) => {
    tar.on('finish', resolve);
    tar.on('error', reject);
    archive.on('error', reject);
  });

  tar.on('entry', (header: Header, source, next) => {
    // tar-stream hands out streamx streams; the S3 uploader wants a Node.js Readable.
    source.on('error', (err: Error) => out.fail(err));
    const entry = Readable.from(source as AsyncIterable<Buffer>, { objectMode: false });
    takeEntry(header, entry, out, refused)
      // Whatever was not read (all but a stored file's content) is drained to reach the next entry.
      .then(() => void entry.resume())
      .then(
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

/**
 * The last folder refused (by its name in the archive): the engine lists a folder before what is
 * in it, so what follows under that name is left out silently, as the folder walk never enters it.
 */
class RefusedFolder {
  private name: string | undefined;

  set(name: string): void {
    this.name = name.endsWith('/') ? name : `${name}/`;
  }

  holds(name: string): boolean {
    return this.name !== undefined && name.startsWith(this.name);
  }
}

/** One entry of the archive: a regular file is uploaded, anything else recorded as skipped, with why. */
async function takeEntry(header: Header, entry: Readable, out: OutUploader, refused: RefusedFolder): Promise<void> {
  if (refused.holds(header.name)) return;
  const at = outPath(header.name, fromPax(header, 'path'), out);
  if (at === undefined) return; // /out itself
  if ('why' in at) {
    if (header.type === 'directory') refused.set(header.name);
    return out.skip(at.shown, header.type === 'directory' ? folderWhy(at.why) : at.why);
  }
  switch (header.type) {
    case 'file':
    case 'contiguous-file':
      return out.file(at.path, header.size ?? 0, entry);
    case 'directory':
      return;
    case 'link':
      return out.skip(at.path, hardLinkInArchive(header, out));
    case 'symlink':
      return out.skip(at.path, `symlink (to ${shownLinkname(header)}) not followed`);
    default:
      return out.skip(at.path, `${header.type} is not a regular file`);
  }
}

/**
 * A second name of a file. The engine writes a file's first name with its content and each later
 * name as a link to it, without content: like the folder walk, the content is stored once, under
 * the first name. That name was stored unless its own name was refused (then nothing can be).
 */
function hardLinkInArchive(header: Header, out: OutUploader): string {
  const first = outPath(header.linkname ?? '', fromPax(header, 'linkpath'), out);
  if (first && 'path' in first) return hardLinkWhy(first.path);
  return `hard link of ${first?.shown ?? '/out'}, which was not stored (${first?.why ?? 'not a file'})`;
}

type OutPath = { path: string } | { shown: string; why: string };

/** Where a name of the archive lies in /out and may be stored, or why not; undefined for /out itself. */
function outPath(raw: string, pax: boolean, out: OutUploader): OutPath | undefined {
  const text = archiveText(raw, pax);
  if ('shown' in text) return { shown: text.shown.replace(/^out\//, ''), why: 'name is not valid UTF-8' };
  const safe = safeRelativePath(text.text);
  if ('why' in safe) return { shown: text.text, why: safe.why };
  if (safe.path === '') return undefined;
  const problem = out.keyProblem(safe.path);
  return problem ? { shown: safe.path, why: problem } : { path: safe.path };
}

/**
 * The text of a name of the archive, or how to show it when it is not UTF-8. A name in the header
 * block came one char a byte and is decoded strictly here. A name too long for the header (or not
 * ASCII: the engine's writer then always uses a PAX record) was decoded by tar-stream, which puts
 * U+FFFD for bytes that are not UTF-8: such a name is refused, and so, unavoidably, is a name
 * that really holds U+FFFD (the folder walk, reading bytes, stores that one).
 */
function archiveText(raw: string, pax: boolean): { text: string } | { shown: string } {
  if (pax) return raw.includes('\uFFFD') ? { shown: raw } : { text: raw };
  const bytes = Buffer.from(raw, 'latin1');
  const text = utf8Name(bytes);
  return text === undefined ? { shown: shownBytes(bytes) } : { text };
}

/** Whether the entry's name (or link target) came from a PAX record rather than the header block. */
function fromPax(header: Header, key: 'path' | 'linkpath'): boolean {
  const pax = header.pax as Record<string, string | undefined> | null | undefined;
  return Boolean(pax?.[key]); // tar-stream applies a PAX value only when it is not empty
}

function shownLinkname(header: Header): string {
  const text = archiveText(header.linkname ?? '', fromPax(header, 'linkpath'));
  return 'text' in text ? text.text : text.shown;
}

/** Where an attempt's full logs go: the last attempt's in logs/, each earlier one's in logs/attempt-<n>/. */
export function logKeys(base: string, earlierAttempt?: number): { stdout: string; stderr: string } {
  return containerLogKeys(base, MAIN_CONTAINER, earlierAttempt);
}

/**
 * Where one container's full logs go: the main one's (a lone container's too) as logKeys says; each
 * other container of a pod (spec.containers) in a folder of its name beside them, logs/<name>/.
 */
export function containerLogKeys(
  base: string,
  container: string,
  earlierAttempt?: number,
): { stdout: string; stderr: string } {
  const attempt = earlierAttempt ? `${base}/logs/attempt-${earlierAttempt}` : `${base}/logs`;
  const folder = container === MAIN_CONTAINER ? attempt : `${attempt}/${container}`;
  return { stdout: `${folder}/stdout.log`, stderr: `${folder}/stderr.log` };
}

/** The full logs of a pod's other containers (those that were made), each under containerLogKeys. */
async function collectMemberLogs(
  deps: CollectDeps,
  req: CollectRequest,
  base: string,
  earlierAttempt?: number,
): Promise<Record<string, { stdout: string; stderr: string }>> {
  const mainName = containerName(req, req.attempt, deps.host);
  const stored: Record<string, { stdout: string; stderr: string }> = {};
  for (const member of extraMembers(req.spec)) {
    const container = deps.docker.getContainer(memberContainerName(mainName, member.name));
    const made = await container.inspect().then(
      () => true,
      (err: { statusCode?: number }) => {
        if (err.statusCode === 404) return false;
        throw err;
      },
    );
    if (!made) continue;
    const keys = containerLogKeys(base, member.name, earlierAttempt);
    const { logs } = await collectLogs(deps, container, keys, false, engineLogFileBytes(req.spec));
    stored[member.name] = { stdout: logs.stdout, stderr: logs.stderr };
  }
  return stored;
}

/**
 * Stores the full logs of an attempt that is followed by another (retry): each attempt's logs are
 * kept, not only the last one's.
 */
export async function collectEarlierAttemptLogs(deps: CollectDeps, req: CollectRequest): Promise<void> {
  const container = deps.docker.getContainer(containerName(req, req.attempt, deps.host));
  const store = req.spec.artifacts.bucket ? deps.store.withBucket(req.spec.artifacts.bucket) : deps.store;
  await collectLogs(
    { ...deps, store },
    container,
    logKeys(store.base(req.spec.artifacts.prefix, req.actionId), req.attempt),
    false,
    engineLogFileBytes(req.spec),
  );
  if (isPod(req.spec))
    await collectMemberLogs({ ...deps, store }, req, store.base(req.spec.artifacts.prefix, req.actionId), req.attempt);
}

async function collectLogs(
  deps: CollectDeps,
  container: Docker.Container,
  keys: { stdout: string; stderr: string },
  captureStdout: boolean,
  fileBytes: number,
) {
  // With secrets, each stream is masked line by line on its way to S3; without, bytes pass as they are.
  const redactor = deps.redactor?.active ? deps.redactor : undefined;
  const sink = () => (redactor ? redactor.stream() : new PassThrough({ highWaterMark: 1 << 20 }));
  const stdout = sink();
  const stderr = sink();
  const uploads = Promise.all([
    deps.store.upload(
      keys.stdout,
      stdout.pipe(new PassThrough({ highWaterMark: 1 << 20 })),
      'text/plain; charset=utf-8',
    ),
    deps.store.upload(
      keys.stderr,
      stderr.pipe(new PassThrough({ highWaterMark: 1 << 20 })),
      'text/plain; charset=utf-8',
    ),
  ]);
  let bytes = 0;
  const captured: Buffer[] = [];
  let capturedBytes = 0;
  let overflow = false;
  let beginsAsSeen = true;
  // follow on a finished container returns its whole log and then ends: a stream, never one buffer.
  const source = (await container.logs({
    follow: true,
    stdout: true,
    stderr: true,
  })) as unknown as AsyncIterable<Buffer>;
  try {
    await demux(source, { stdout, stderr }, (stream, payload) => {
      if (bytes === 0 && deps.firstFrame)
        beginsAsSeen = payload.subarray(0, deps.firstFrame.length).equals(deps.firstFrame);
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
      // Rotation drops a whole file only once the files left hold at least all but one of them;
      // and a log whose first frame is not the one the live log saw first lost its start to
      // rotation. (The byte rule counts payload while the files also hold per-line overhead, and a
      // live log that lags behind a fast writer may never reach its own cut: CI saw both miss.)
      ...(bytes >= (ENGINE_LOG_FILES - 1) * fileBytes || (deps.firstFrame && !beginsAsSeen) ? { truncated: true } : {}),
    },
    stdoutText: overflow
      ? undefined
      : (redactor?.text.bind(redactor) ?? ((t: string) => t))(Buffer.concat(captured).toString('utf8')),
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
    collectLogs(scoped, container, logKeys(base), wantsJson, engineLogFileBytes(req.spec)),
    !req.includeOut ? out.finish() : folder ? collectOutFromFolder(folder, out) : collectOutFromArchive(container, out),
  ]);

  const answer: CollectAnswer = { ...listing, logs: logs.logs };
  if (isPod(req.spec)) answer.containerLogs = await collectMemberLogs(scoped, req, base);
  if (wantsJson) {
    if (logs.overflow)
      answer.outputError = `stdout is larger than ${JSON_OUTPUT_LIMIT} bytes; output "json" expects one JSON value (log to stderr)`;
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
