// Where a downloaded object lands on the local disk: a path taken from an S3 key is the store's
// word, not ours, so it is checked to stay inside the folder the caller chose before anything is
// written. A key S3 stores may still be hostile ("../../.bashrc", "/etc/cron.d/x", "..\\x").
import { isAbsolute, join, relative, sep } from 'node:path';

/** Why `path` (relative, "/"-separated, from an S3 key) cannot be written below a folder; undefined when it can. */
export function localPathProblem(path: string): string | undefined {
  if (path === '') return 'empty path';
  if (path.includes('\0')) return 'path holds a NUL byte';
  if (path.startsWith('/') || path.startsWith('\\') || isAbsolute(path) || /^[A-Za-z]:/.test(path))
    return 'absolute path refused';
  // A backslash separates folders on Windows: "..\\x" climbs there, so it counts as a separator here too.
  const parts = path.split(/[\\/]/);
  if (parts.some((part) => part === '..')) return 'path with ".." refused';
  if (parts.some((part) => part === '' || part === '.')) return 'path with "." or an empty part refused';
  return undefined;
}

export class UnsafeLocalPath extends Error {
  constructor(
    readonly path: string,
    readonly why: string,
  ) {
    super(`${JSON.stringify(path)}: ${why}`);
    this.name = 'UnsafeLocalPath';
  }
}

/** `path` below `root`, or an UnsafeLocalPath when it would not stay inside. */
export function localPathInside(root: string, path: string): string {
  const problem = localPathProblem(path);
  if (problem) throw new UnsafeLocalPath(path, problem);
  const joined = join(root, path);
  const inside = relative(root, joined);
  if (inside === '' || inside === '..' || inside.startsWith(`..${sep}`) || isAbsolute(inside))
    throw new UnsafeLocalPath(path, 'path leaves the target folder');
  return joined;
}
