// Paths the GitHub Action reads or writes in the job's workspace: a workflow names them, so each
// must resolve (symlinks followed) inside the workspace, never to a file of the runner's host.
import { realpathSync } from 'node:fs';
import { isAbsolute, relative, resolve } from 'node:path';

/** The real path of `path` (relative to `workspace`), which must exist and lie inside the workspace. */
export function realPathInWorkspace(path: string, workspace: string, what = 'file'): string {
  let real: string;
  try {
    real = realpathSync(resolve(workspace, path));
  } catch {
    throw new Error(`${path} is not a ${what} in the workspace (${workspace})`);
  }
  const inside = relative(realpathSync(workspace), real);
  if (inside.startsWith('..') || isAbsolute(inside))
    throw new Error(`${path} lies outside the workspace (${workspace})`);
  return real;
}
