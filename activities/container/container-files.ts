// The spec's `files`, written into the container after it is created and before it starts (the
// engine unpacks one tar into its filesystem): config files, or a secret's value as a file.
import { pack } from 'tar-stream';
import { MOUNTED_DIRS, pathWithin, type Action } from '../../spec/action.js';
import { belowDir, PathOutsideRoot } from '../trust/contained-path.js';
import { refusedByHost } from '../trust/refused.js';
import type { EngineContainer } from './engine.js';

/** The owner of the files: the action's user when given as numbers ("1000" or "1000:1000"), else root. */
function owner(user: string | undefined): { uid: number; gid: number } {
  const m = /^(\d+)(?::(\d+))?$/.exec(user ?? '');
  return m ? { uid: Number(m[1]), gid: Number(m[2] ?? m[1]) } : { uid: 0, gid: 0 };
}

/**
 * Each file's name in the tar, relative to the container's "/": refused (naming `files.N.path`)
 * unless it is a plain absolute path, and outside the folders the worker mounts. The engine
 * unpacks into the container's root, but a write through a bind mount would land in the host
 * folder behind it (/out, /in), so the host checks again whatever the request says.
 */
export function filePaths(spec: Pick<Action, 'files'>, host: string): string[] {
  return spec.files.map((file, i) => {
    const field = `files.${i}.path`;
    let rel: string;
    try {
      rel = belowDir('/', file.path);
    } catch (err) {
      if (err instanceof PathOutsideRoot) throw refusedByHost(host, field, err.message);
      throw err;
    }
    const mounted = MOUNTED_DIRS.find((dir) => pathWithin(file.path, dir));
    if (mounted)
      throw refusedByHost(host, field, `${JSON.stringify(file.path)} lies in ${mounted}, which the worker mounts`);
    return rel;
  });
}

/**
 * Writes the spec's files, and `hostFiles` the host gives (a gang replica's peers file: paths of
 * the host's own, readable by all).
 */
export async function writeFiles(
  container: Pick<EngineContainer, 'putArchive'>,
  spec: Pick<Action, 'files' | 'user'>,
  secrets: Record<string, string>,
  host: string,
  hostFiles: { path: string; content: string }[] = [],
): Promise<void> {
  if (!spec.files.length && !hostFiles.length) return;
  const names = filePaths(spec, host);
  const tar = pack();
  const { uid, gid } = owner(spec.user);
  for (const file of hostFiles) {
    const body = Buffer.from(file.content, 'utf8');
    tar.entry({ name: file.path.replace(/^\//, ''), mode: 0o444, size: body.length, mtime: new Date() }, body);
  }
  spec.files.forEach((file, i) => {
    const body = Buffer.from(file.content ?? secrets[file.contentFromSecret!] ?? '', 'utf8');
    // Parent folders the image lacks are made by the engine (root's, 0755).
    tar.entry({ name: names[i]!, mode: file.mode, size: body.length, uid, gid, mtime: new Date() }, body);
  });
  tar.finalize();
  await container.putArchive(tar as unknown as NodeJS.ReadableStream, { path: '/' });
}
