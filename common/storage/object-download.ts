// One S3 object into one local file, so that a download can stop anywhere and start again:
// the bytes stream (memory stays bounded whatever the size) into a temporary name next to the
// target, renamed over it only once whole; the finished file takes the object's last-modified
// time, so a later run finds it by size and time and does not fetch it twice. A file of another
// size or time (a partial, an older run's, one edited since) is fetched again.
import { constants, createWriteStream } from 'node:fs';
import { lstat, mkdir, open, realpath, rename, rm, utimes } from 'node:fs/promises';
import { basename, dirname, join, relative, isAbsolute } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { UnsafeLocalPath } from './local-target.js';

/** An object as a listing shows it. */
export interface RemoteObject {
  key: string;
  size: number;
  etag?: string;
  lastModified?: Date;
}

/** The temporary name a file is written under until it is whole (a leftover one is overwritten). */
export function partialName(local: string): string {
  return join(dirname(local), `.${basename(local)}.caisson-part`);
}

/** Whether `local` is already this object: a regular file of its size and last-modified second. */
async function alreadyPresent(local: string, object: RemoteObject): Promise<boolean> {
  const stat = await lstat(local).catch(() => undefined);
  if (!stat?.isFile() || stat.size !== object.size || !object.lastModified) return false;
  return Math.floor(stat.mtimeMs / 1000) === Math.floor(object.lastModified.getTime() / 1000);
}

/** Makes the folder of `local`, refusing one that resolves outside `root` (a symlink on the way). */
async function folderInside(root: string, local: string): Promise<void> {
  const folder = dirname(local);
  await mkdir(folder, { recursive: true });
  const [realRoot, realFolder] = await Promise.all([realpath(root), realpath(folder)]);
  const inside = relative(realRoot, realFolder);
  if (inside.startsWith('..') || isAbsolute(inside))
    throw new UnsafeLocalPath(relative(root, local), `its folder resolves outside ${root} (a symlink)`);
}

/**
 * Fetches `object` of `bucket` into `local` (below `root`) unless it is already there; says which.
 * The object is read at the version the listing saw (its ETag): one replaced meanwhile fails.
 */
export async function fetchObject(
  s3: S3Client,
  bucket: string,
  object: RemoteObject,
  root: string,
  local: string,
): Promise<'fetched' | 'present'> {
  if (await alreadyPresent(local, object)) return 'present';
  await folderInside(root, local);
  const part = partialName(local);
  // O_NOFOLLOW: a symlink planted at the temporary name is not written through.
  const handle = await open(part, constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_NOFOLLOW);
  try {
    const response = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: object.key, IfMatch: object.etag }));
    await pipeline(response.Body as Readable, createWriteStream('', { fd: handle.fd, autoClose: false }));
    const written = (await handle.stat()).size;
    if (written !== object.size)
      throw new Error(`${object.key}: read ${written} bytes, the listing said ${object.size}`);
  } catch (err) {
    await handle.close();
    await rm(part, { force: true });
    throw err;
  }
  await handle.close();
  if (object.lastModified) await utimes(part, object.lastModified, object.lastModified);
  await rename(part, local);
  return 'fetched';
}
