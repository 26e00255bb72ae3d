// Input objects, downloaded once per host: several actions on a host that ask for the same object
// version (bucket, key and ETag) copy it from this folder instead of fetching it again. The folder
// has a size bound; the least recently used objects go first, never one being copied. Objects
// larger than half the bound are not cached: they stream straight into the action's disk.
import { createHash, randomUUID } from 'node:crypto';
import { constants, type WriteStream } from 'node:fs';
import {
  copyFile,
  lstat,
  mkdir,
  open,
  readdir,
  readFile,
  rename,
  rm,
  stat,
  utimes,
  writeFile,
  type FileHandle,
} from 'node:fs/promises';
import { Transform, Writable, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { entryOf } from '../trust/contained-path.js';

/**
 * How a destination is opened: never through a symlink at its name (O_NOFOLLOW fails instead), so
 * a link left where a file goes cannot send the object's bytes anywhere else on the host.
 */
const WRITE_NO_FOLLOW = constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_NOFOLLOW;

/** One object version in S3, as listing or HEAD found it. */
export interface ObjectVersion {
  bucket: string;
  key: string;
  etag: string;
  size: number;
}

export interface Fetched {
  sha256: string;
  size: number;
  /** Copied from this host's cache: no download for this action. */
  cached: boolean;
}

/**
 * Streams one object version into each of `dests` at once, hashing as it goes: at most a few chunks
 * of it are in memory, whatever its size, and it is read from S3 once. A changed object (another
 * ETag) fails the download, to be retried.
 */
export async function download(
  s3: S3Client,
  obj: ObjectVersion,
  ...dests: string[]
): Promise<{ sha256: string; size: number }> {
  const handles = await openAll(dests);
  const response = await s3
    .send(new GetObjectCommand({ Bucket: obj.bucket, Key: obj.key, IfMatch: obj.etag }))
    .catch(async (err: unknown) => {
      await Promise.all(handles.map((h) => h.close()));
      throw err;
    });
  const hash = createHash('sha256');
  let size = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      hash.update(chunk);
      size += chunk.length;
      done(null, chunk);
    },
  });
  // Each stream closes its handle when it ends or is destroyed.
  const files = handles.map((handle) => handle.createWriteStream());
  const written = (file: WriteStream, chunk: Buffer) =>
    new Promise<void>((resolve, reject) => file.write(chunk, (err) => (err ? reject(err) : resolve())));
  const ended = (file: WriteStream) => new Promise<void>((resolve, reject) => file.once('error', reject).end(resolve));
  // Each chunk goes to every file before the next is read: the slowest disk sets the pace.
  const fanOut = new Writable({
    write(chunk: Buffer, _encoding, done) {
      Promise.all(files.map((f) => written(f, chunk))).then(() => done(), done);
    },
    final(done) {
      Promise.all(files.map(ended)).then(() => done(), done);
    },
    destroy(err, done) {
      for (const f of files) f.destroy();
      done(err);
    },
  });
  await pipeline(response.Body as Readable, counter, fanOut);
  if (size !== obj.size)
    throw new Error(`s3://${obj.bucket}/${obj.key}: read ${size} bytes of ${obj.size}; it is read again`);
  return { sha256: hash.digest('hex'), size };
}

/** Opens every destination (never through a link at its name), or none: a failure closes the others. */
async function openAll(dests: string[]): Promise<FileHandle[]> {
  const opened = await Promise.allSettled(dests.map((dest) => open(dest, WRITE_NO_FOLLOW, 0o644)));
  const failed = opened.find((o) => o.status === 'rejected');
  const handles = opened.flatMap((o) => (o.status === 'fulfilled' ? [o.value] : []));
  if (!failed) return handles;
  await Promise.all(handles.map((h) => h.close()));
  throw failed.reason;
}

interface Entry {
  file: string;
  sha256: string;
  size: number;
}

export class InputCache {
  private readonly filling = new Map<string, Promise<Entry>>();
  private readonly inUse = new Map<string, number>();
  /**
   * The order of use in this process, which mtimes cannot give: a touch is stamped in whole
   * milliseconds while a new file gets the kernel's finer time, so a later use could look older.
   */
  private readonly usedAt = new Map<string, number>();
  private uses = 0;

  constructor(
    private readonly s3: S3Client,
    readonly folder: string,
    readonly maxBytes: number,
  ) {}

  /** Puts the object at `dest`: from the cache, or downloaded (into the cache when it fits there). */
  async fetchTo(obj: ObjectVersion, dest: string): Promise<Fetched> {
    if (obj.size > this.maxBytes / 2) return { ...(await download(this.s3, obj, dest)), cached: false };
    const id = createHash('sha256').update(`${obj.bucket}\0${obj.key}\0${obj.etag}`).digest('hex');
    this.inUse.set(id, (this.inUse.get(id) ?? 0) + 1);
    try {
      const stored = this.filling.has(id) ? undefined : await this.stored(id);
      this.usedAt.set(id, ++this.uses);
      // Looked up again after the wait: another action may have begun the download meanwhile.
      const entry: Entry | Promise<Entry> | undefined = stored ?? this.filling.get(id);
      if (!entry) {
        // The one that fetches writes the action's copy and the cache's in the same pass.
        const filling = this.fill(id, obj, dest).finally(() => this.filling.delete(id));
        this.filling.set(id, filling);
        const { sha256, size } = await filling;
        return { sha256, size, cached: false };
      }
      const { file, sha256, size } = await entry;
      await copyNoFollow(file, dest);
      const now = new Date();
      await utimes(`${file}.json`, now, now).catch(() => {}); // recently used: evicted last
      return { sha256, size, cached: true };
    } finally {
      const left = (this.inUse.get(id) ?? 1) - 1;
      if (left) this.inUse.set(id, left);
      else this.inUse.delete(id);
    }
  }

  private async stored(id: string): Promise<Entry | undefined> {
    const file = entryOf(this.folder, id);
    try {
      const meta = JSON.parse(await readFile(`${file}.json`, 'utf8')) as { sha256: string; size: number };
      // The record is written after the object: one without its full object is a leftover. Only a
      // regular file counts (lstat): a link there would copy whatever it points at into /in.
      const info = await lstat(file);
      if (info.isFile() && info.size === meta.size) return { file, ...meta };
    } catch {
      // Not cached (or half written by a worker that died): fetched again.
    }
    return undefined;
  }

  private async fill(id: string, obj: ObjectVersion, dest: string): Promise<Entry> {
    await mkdir(this.folder, { recursive: true });
    await this.evict(obj.size);
    const file = entryOf(this.folder, id);
    const part = `${file}.part-${randomUUID()}`;
    try {
      const got = await download(this.s3, obj, part, dest);
      await rename(part, file);
      await writeFile(`${file}.json`, JSON.stringify({ ...got, bucket: obj.bucket, key: obj.key, etag: obj.etag }));
      return { file, ...got };
    } catch (err) {
      await rm(part, { force: true });
      throw err;
    }
  }

  /** Removes the least recently used objects until `room` more bytes fit under the bound. */
  private async evict(room: number): Promise<void> {
    const names = await readdir(this.folder);
    const entries: { id: string; size: number; usedMs: number }[] = [];
    for (const name of names) {
      if (name.includes('.part-')) {
        // A download a dead worker left half done (live ones are younger than a minute's worth of writes).
        const info = await stat(entryOf(this.folder, name)).catch(() => undefined);
        if (info && Date.now() - info.mtimeMs > 3_600_000) await rm(entryOf(this.folder, name), { force: true });
        continue;
      }
      if (!name.endsWith('.json')) continue;
      const id = name.slice(0, -'.json'.length);
      if (!id) continue; // ".json" alone: no object of ours is named by it
      const [meta, data] = await Promise.all([
        stat(entryOf(this.folder, name)).catch(() => undefined),
        stat(entryOf(this.folder, id)).catch(() => undefined),
      ]);
      if (meta && data) entries.push({ id, size: data.size, usedMs: meta.mtimeMs });
    }
    let total = entries.reduce((sum, e) => sum + e.size, 0);
    // Objects not used since this worker started are the oldest, by mtime; the rest in order of use.
    const order = (e: { id: string }) => this.usedAt.get(e.id) ?? 0;
    entries.sort((a, b) => order(a) - order(b) || a.usedMs - b.usedMs);
    for (const e of entries) {
      if (total + room <= this.maxBytes) break;
      if (this.inUse.has(e.id)) continue;
      await rm(`${entryOf(this.folder, e.id)}.json`, { force: true });
      await rm(entryOf(this.folder, e.id), { force: true });
      this.usedAt.delete(e.id);
      total -= e.size;
    }
  }
}

/**
 * Copies a cached object to `dest` without following a link at `dest`: what a crashed earlier
 * staging left there is removed (rm removes a link, not its target), then the copy creates the
 * name afresh (COPYFILE_EXCL opens with O_EXCL, which fails on any link rather than follow it).
 */
async function copyNoFollow(file: string, dest: string): Promise<void> {
  await rm(dest, { force: true });
  await copyFile(file, dest, constants.COPYFILE_EXCL);
}
