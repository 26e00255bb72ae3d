// The spec's `files` (container-files.ts): the host writes a file only at a plain absolute path in
// the container, outside the folders it mounts from the host, whatever the request says; a
// refusal names the field and nothing reaches the engine.
import { Readable } from 'node:stream';
import type Docker from 'dockerode';
import { ApplicationFailure } from '@temporalio/activity';
import { extract } from 'tar-stream';
import { describe, expect, it } from 'vitest';
import { filePaths, writeFiles } from '../../activities/container/container-files.js';
import type { Action } from '../../spec/action.js';

const HOST = 'host-a';
const spec = (...paths: string[]) =>
  ({ files: paths.map((path) => ({ path, content: 'x', mode: 0o644 })), user: undefined }) as unknown as Pick<
    Action,
    'files' | 'user'
  >;

/** A container that records the names of the tar entries it is given. */
function fakeContainer(): { container: Docker.Container; names: Promise<string[]>; calls: number } {
  const state = { calls: 0 } as { calls: number; resolve?: (names: string[]) => void };
  const names = new Promise<string[]>((resolve) => (state.resolve = resolve));
  const container = {
    putArchive: async (tar: NodeJS.ReadableStream) => {
      state.calls++;
      const seen: string[] = [];
      const ex = extract();
      ex.on('entry', (header, stream, next) => {
        seen.push(header.name);
        stream.resume();
        stream.on('end', next);
      });
      ex.on('finish', () => state.resolve!(seen));
      (tar as unknown as Readable).pipe(ex);
    },
  } as unknown as Docker.Container;
  return {
    container,
    names,
    get calls() {
      return state.calls;
    },
  };
}

function refusal(f: () => unknown): { field: string; message: string } {
  try {
    f();
  } catch (err) {
    expect(err).toBeInstanceOf(ApplicationFailure);
    expect((err as ApplicationFailure).type).toBe('RefusedByHost');
    return {
      field: ((err as ApplicationFailure).details?.[0] as { field: string }).field,
      message: (err as Error).message,
    };
  }
  throw new Error('not refused');
}

describe('filePaths', () => {
  it('gives the tar names of plain absolute paths, spaces and newlines included', () => {
    expect(filePaths(spec('/etc/app.conf', '/run/a b/c\nd'), HOST)).toEqual(['etc/app.conf', 'run/a b/c\nd']);
  });

  it('refuses "..", relative paths, NUL, "/" itself, empty parts and the mounted folders, naming the field', () => {
    for (const [path, why] of [
      ['/etc/../../../../host/etc/cron.d/x', /"\.\." part/],
      ['etc/x', /not an absolute path/],
      ['/etc/x\0y', /NUL/],
      ['/', /not a path below \//],
      ['//etc/x', /empty/],
      ['/out/x', /lies in \/out/],
      ['/in/x', /lies in \/in/],
      ['/tmp_disk', /lies in \/tmp_disk/],
    ] as const) {
      const got = refusal(() => filePaths(spec('/ok', path), HOST));
      expect(got.field).toBe('files.1.path');
      expect(got.message).toMatch(why);
    }
  });
});

describe('writeFiles', () => {
  it('hands the engine entries relative to the container root', async () => {
    const fake = fakeContainer();
    await writeFiles(fake.container, spec('/etc/app.conf', '/a b'), {}, HOST);
    expect(await fake.names).toEqual(['etc/app.conf', 'a b']);
  });

  it('hands the engine nothing when one path is refused', async () => {
    const fake = fakeContainer();
    await expect(writeFiles(fake.container, spec('/etc/ok', '/etc/../../x'), {}, HOST)).rejects.toMatchObject({
      type: 'RefusedByHost',
    });
    expect(fake.calls).toBe(0);
  });
});
