// Every path the host builds from something it was told (a secret's name, an input's target, a
// file the container left in /out) must name something inside the folder it belongs to. The spec's
// schemas already refuse "..", but the host checks again where it joins: a bug or a new caller
// elsewhere must not turn into a write outside the root.
import { isAbsolute, relative, resolve } from 'node:path';

export class PathOutsideRoot extends Error {
  constructor(
    readonly root: string,
    readonly path: string,
    /** What is wrong with the path, in words that follow it ("is absolute"). */
    readonly why: string,
  ) {
    super(`${JSON.stringify(path)} ${why} (it must stay inside ${root})`);
    this.name = 'PathOutsideRoot';
  }
}

/**
 * `parts` joined under `root`, refused when the result is not strictly inside it: "..", an absolute
 * part, a NUL, or an empty result. Symlinks are not followed here: callers that open what a
 * container could have planted use O_NOFOLLOW or lstat as well.
 */
export function insideRoot(root: string, ...parts: string[]): string {
  const shown = parts.join('/');
  if (parts.some((p) => p.includes('\0'))) throw new PathOutsideRoot(root, shown, 'contains a NUL character');
  if (parts.some((p) => isAbsolute(p))) throw new PathOutsideRoot(root, shown, 'is absolute');
  const base = resolve(root);
  const joined = resolve(base, ...parts);
  const rel = relative(base, joined);
  if (rel === '' || rel === '..' || rel.startsWith('../') || isAbsolute(rel))
    throw new PathOutsideRoot(root, shown, 'leads outside its root');
  return joined;
}

/**
 * `name` as one entry of `root` (a container's disk folder, a cached object): a single plain name,
 * so that removing it recursively can never remove `root` itself or anything beside it.
 */
export function entryOf(root: string, name: string): string {
  if (name.includes('/')) throw new PathOutsideRoot(root, name, 'is not a single name (it holds "/")');
  return insideRoot(root, name);
}

/**
 * The part of the container path `path` below the container folder `dir` ("/in/a/b" below "/in" is
 * "a/b"), for joining under the host folder that stands for `dir`. Stricter than insideRoot, as the
 * spec is: `path` must be absolute, lie strictly below `dir`, and every part must be a plain name
 * (no empty, "." or ".." part, no NUL), so the same path never has two spellings.
 */
export function belowDir(dir: string, path: string): string {
  if (path.includes('\0')) throw new PathOutsideRoot(dir, path, 'contains a NUL character');
  if (!path.startsWith('/')) throw new PathOutsideRoot(dir, path, 'is not an absolute path in the container');
  const prefix = dir === '/' ? '/' : `${dir}/`;
  if (!path.startsWith(prefix) || path.length === prefix.length)
    throw new PathOutsideRoot(dir, path, `is not a path below ${dir}`);
  const rel = path.slice(prefix.length);
  if (rel.split('/').some((part) => part === '' || part === '.' || part === '..')) {
    throw new PathOutsideRoot(dir, path, 'has an empty, "." or ".." part');
  }
  return rel;
}
