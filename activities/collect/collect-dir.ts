// /out read from the container's folder on the host, after the container has stopped (nothing
// writes to it any more). Every entry is lstat'ed and every file opened with O_NOFOLLOW: a symlink
// is skipped with its reason ("symlink (to <target>) not followed" in the result's skipped list),
// never followed, and a symlink to a folder is not entered, so no host file is ever read or listed
// through one. Hard links cannot reach outside: the folder is a filesystem of its own. Names come
// from readdir, one part at a time: never "", "." or "..", never holding "/".
// Names are read as bytes: a name that is not UTF-8, or that S3 cannot store as a key, is skipped
// with its reason and every other file is still stored. A file with several names (hard links) is
// uploaded once, under the first of its names in walk order.
import { constants, type BigIntStats } from 'node:fs';
import { lstat, open, readdir, readlink } from 'node:fs/promises';
import { clip, folderWhy, hardLinkWhy, SKIPPED_TEXT, type Listing, type OutUploader } from './out-uploader.js';
import { shownBytes, utf8Name } from '../store/s3-key.js';

/**
 * How many files with several names are remembered by inode. Past it a further name of a file not
 * remembered is uploaded again: a waste of space, never a wrong listing, and memory stays bounded.
 */
const REMEMBERED_INODES = 10_000;

/** A symlink's target is shown up to this many bytes: the listing cuts its reasons anyway. */
const SHOWN_TARGET_BYTES = 400;
const SLASH = Buffer.from('/');

export async function collectOutFromFolder(folder: string, out: OutUploader): Promise<Listing> {
  await checkRoot(folder);
  await walk({ out, links: new HardLinks() }, Buffer.from(folder), '');
  return out.finish();
}

/**
 * The folder itself must be a real folder, not a link: the walk below lstat's every entry, and
 * this does the same for the root, so nothing outside the container's disk is ever listed.
 */
async function checkRoot(folder: string): Promise<void> {
  const info = await lstat(folder);
  if (!info.isDirectory())
    throw new Error(
      `${folder} is not a folder (${info.isSymbolicLink() ? 'a symlink' : 'another kind of file'}): /out is not read through it`,
    );
}

interface Walk {
  out: OutUploader;
  links: HardLinks;
}

/**
 * The first stored name of each file that has several (nlink > 1), by device and inode. Only the
 * first name is uploaded; the others are listed as skipped, naming it. Skipped rather than listed
 * as artifacts with the first one's uri: the listing then says exactly which objects exist in S3.
 */
class HardLinks {
  private readonly first = new Map<string, string>();

  of(info: BigIntStats): string | undefined {
    return info.nlink > 1n ? this.first.get(inode(info)) : undefined;
  }

  remember(info: BigIntStats, path: string): void {
    // Kept as cut as the reason that names it will be: memory per file stays small.
    if (info.nlink > 1n && this.first.size < REMEMBERED_INODES) this.first.set(inode(info), clip(path, SKIPPED_TEXT));
  }
}

function inode(info: BigIntStats): string {
  return `${info.dev}:${info.ino}`;
}

/** One folder, `dir` on the host (as bytes: names need not be UTF-8), `prefix` inside /out. */
async function walk(w: Walk, dir: Buffer, prefix: string): Promise<void> {
  const names = await readdir(dir, { encoding: 'buffer' }).catch((err: NodeJS.ErrnoException) => {
    // The root itself must be readable: without it nothing of /out would be stored, silently.
    if (!prefix) throw err;
    w.out.skip(prefix, folderWhy(`could not be read (${err.code ?? err.message})`));
    return [];
  });
  // Sorted by bytes: the listing (and the first 1000 the result names) does not depend on the
  // disk's order, and it is the order the engine's archive uses.
  names.sort(Buffer.compare);
  for (const name of names) await visit(w, Buffer.concat([dir, SLASH, name]), prefix, name);
}

async function visit(w: Walk, full: Buffer, prefix: string, raw: Buffer): Promise<void> {
  const { out } = w;
  const info = await lstat(full, { bigint: true }).catch((err: NodeJS.ErrnoException) => err);
  const name = utf8Name(raw);
  const path = join(prefix, name ?? shownBytes(raw));
  if (info instanceof Error) return out.skip(path, `could not be read (${info.code ?? info.message})`);
  const whyNot = name === undefined ? 'name is not valid UTF-8' : out.keyProblem(path);
  // A refused folder is not entered: every name under it would be refused for the same reason.
  if (whyNot) return out.skip(path, info.isDirectory() ? folderWhy(whyNot) : whyNot);
  if (info.isDirectory()) return walk(w, full, path);
  if (info.isSymbolicLink()) return out.skip(path, `symlink (to ${await linkTarget(full)}) not followed`);
  if (!info.isFile()) return out.skip(path, `${kind(info)} is not a regular file`);
  const first = w.links.of(info);
  if (first !== undefined) return out.skip(path, hardLinkWhy(first));
  if (await upload(out, full, path, Number(info.size))) w.links.remember(info, path);
}

/** Uploads one regular file; false when it could not be opened (then it is skipped, with why). */
async function upload(out: OutUploader, full: Buffer, path: string, size: number): Promise<boolean> {
  // O_NOFOLLOW: should the name have turned into a symlink since the lstat, opening it fails.
  const handle = await open(full, constants.O_RDONLY | constants.O_NOFOLLOW).catch((err: NodeJS.ErrnoException) => {
    out.skip(path, `could not be read (${err.code ?? err.message})`);
    return undefined;
  });
  if (!handle) return false;
  let used = false;
  try {
    // Nothing writes here any more (the container has stopped): the size lstat saw stands.
    await out.file(path, size, {
      whole: () => {
        used = true;
        return handle.readFile().finally(() => handle.close());
      },
      stream: () => {
        used = true;
        return handle.createReadStream(); // closes the handle when done or destroyed
      },
    });
  } finally {
    // file() gave up before reading (an upload had already failed): the handle is still open.
    if (!used) await handle.close();
  }
  return true;
}

async function linkTarget(full: Buffer): Promise<string> {
  const target = await readlink(full, { encoding: 'buffer' }).catch(() => undefined);
  if (!target) return '?';
  // Cut here already: a 4 KB target is never carried further than the listing would keep of it.
  const shown = shownBytes(target.subarray(0, SHOWN_TARGET_BYTES));
  return target.length > SHOWN_TARGET_BYTES ? `${shown}…` : shown;
}

function join(prefix: string, name: string): string {
  return prefix ? `${prefix}/${name}` : name;
}

function kind(info: {
  isFIFO(): boolean;
  isSocket(): boolean;
  isCharacterDevice(): boolean;
  isBlockDevice(): boolean;
}): string {
  if (info.isFIFO()) return 'fifo';
  if (info.isSocket()) return 'socket';
  if (info.isCharacterDevice()) return 'character device';
  if (info.isBlockDevice()) return 'block device';
  return 'special file';
}
