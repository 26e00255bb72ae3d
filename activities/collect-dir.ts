// /out read from the container's folder on the host, after the container has stopped (nothing
// writes to it any more). Every entry is lstat'ed and every file opened with O_NOFOLLOW: a symlink
// is skipped with its reason, never followed, so no host file is ever read through one. Hard links
// cannot reach outside: the folder is a filesystem of its own.
import { constants } from 'node:fs';
import { lstat, open, readdir, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { CollectAnswer } from './types.js';
import type { OutUploader } from './out-uploader.js';

export async function collectOutFromFolder(folder: string, out: OutUploader): Promise<Pick<CollectAnswer, 'artifacts' | 'skipped' | 'totals'>> {
  await walk(folder, '', out);
  return out.finish();
}

async function walk(folder: string, prefix: string, out: OutUploader): Promise<void> {
  // Sorted: the listing (and the first 1000 the result names) does not depend on the disk's order.
  const names = (await readdir(join(folder, prefix))).sort();
  for (const name of names) {
    const path = prefix ? `${prefix}/${name}` : name;
    const full = join(folder, path);
    // A name that is not valid UTF-8 comes back altered by readdir and cannot be found: skipped.
    const info = await lstat(full).catch(() => undefined);
    if (!info) {
      out.skip(path, 'name could not be read back (not valid UTF-8?)');
      continue;
    }
    if (info.isDirectory()) await walk(folder, path, out);
    else if (info.isSymbolicLink()) out.skip(path, `symlink (to ${await readlink(full).catch(() => '?')}) not followed`);
    else if (!info.isFile()) out.skip(path, `${kind(info)} is not a regular file`);
    else {
      // O_NOFOLLOW: should the name have turned into a symlink since the lstat, opening it fails.
      const handle = await open(full, constants.O_RDONLY | constants.O_NOFOLLOW).catch((err: NodeJS.ErrnoException) => {
        out.skip(path, `could not be read (${err.code ?? err.message})`);
        return undefined;
      });
      if (!handle) continue;
      // Nothing writes here any more (the container has stopped): the size lstat saw stands.
      await out.file(path, info.size, {
        whole: () => handle.readFile().finally(() => handle.close()),
        stream: () => handle.createReadStream(),
      });
    }
  }
}

function kind(info: { isFIFO(): boolean; isSocket(): boolean; isCharacterDevice(): boolean; isBlockDevice(): boolean }): string {
  if (info.isFIFO()) return 'fifo';
  if (info.isSocket()) return 'socket';
  if (info.isCharacterDevice()) return 'character device';
  if (info.isBlockDevice()) return 'block device';
  return 'special file';
}
