// The spec's `files`, written into the container after it is created and before it starts (the
// engine unpacks one tar into its filesystem): config files, or a secret's value as a file.
import type Docker from 'dockerode';
import { pack } from 'tar-stream';
import type { Action } from '../spec/action.js';

/** The owner of the files: the action's user when given as numbers ("1000" or "1000:1000"), else root. */
function owner(user: string | undefined): { uid: number; gid: number } {
  const m = /^(\d+)(?::(\d+))?$/.exec(user ?? '');
  return m ? { uid: Number(m[1]), gid: Number(m[2] ?? m[1]) } : { uid: 0, gid: 0 };
}

export async function writeFiles(container: Docker.Container, spec: Pick<Action, 'files' | 'user'>, secrets: Record<string, string>): Promise<void> {
  if (!spec.files.length) return;
  const tar = pack();
  const { uid, gid } = owner(spec.user);
  for (const file of spec.files) {
    const body = Buffer.from(file.content ?? secrets[file.contentFromSecret!] ?? '', 'utf8');
    // Parent folders the image lacks are made by the engine (root's, 0755).
    tar.entry({ name: file.path.slice(1), mode: file.mode, size: body.length, uid, gid, mtime: new Date() }, body);
  }
  tar.finalize();
  await container.putArchive(tar as unknown as NodeJS.ReadableStream, { path: '/' });
}
