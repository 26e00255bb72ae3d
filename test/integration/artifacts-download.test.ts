// Artifacts back in hand, on the real stack: an action's /out downloaded by the client (all of it,
// or what a glob selects) with the bytes S3 holds, resumed over a partial or stale file, skipped
// when already whole; keys that would land outside the folder refused; and `caisson cp` for a
// file, a folder and a glob, with its progress on stderr.
import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ActionsClient, downloadArtifacts, logStoreFromEnv, type ActionResult } from '../../client/index.js';
import { outFolderOf } from '../../client/artifacts.js';
import { partialName } from '../../common/storage/object-download.js';
import { cpCommand } from '../../cli/cp-command.js';
import { busybox, connectClient, expectNoLeftovers } from '../support/actions.js';
import { objectDigest, s3 } from '../support/env.js';

const MiB = 1 << 20;
const dir = mkdtempSync(join(tmpdir(), 'caisson-download-'));
const sha256 = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');
let client: ActionsClient;
let result: ActionResult;

/** Every file below `root`, as "/"-separated paths. */
function filesBelow(root: string): string[] {
  return (readdirSync(root, { recursive: true, withFileTypes: true }) as import('node:fs').Dirent[])
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name).slice(root.length + 1))
    .sort();
}

beforeAll(async () => {
  client = await connectClient();
  const handle = await client.start(
    busybox(`printf 'alpha\\n' > /out/a.txt; mkdir /out/sub; head -c ${MiB} /dev/urandom > /out/sub/b.bin`),
  );
  result = await handle.result();
  expect(result.status).toBe('DONE');
  await expectNoLeftovers();
}, 120_000);
afterAll(async () => {
  await client.close();
  rmSync(dir, { recursive: true, force: true });
});

async function storedDigest(path: string): Promise<string> {
  return (await objectDigest(s3(), result.artifacts.find((a) => a.path === path)!.uri)).sha256;
}

describe('handle.download', () => {
  it('brings back every file of /out with the bytes S3 holds, then skips them when they are already whole', async () => {
    const to = join(dir, 'all');
    const progress: number[] = [];
    const first = await client.attach(result.actionId).download(to, { onProgress: (p) => progress.push(p.files) });
    expect(filesBelow(to)).toEqual(['a.txt', 'sub/b.bin']);
    expect(readFileSync(join(to, 'a.txt'), 'utf8')).toBe('alpha\n');
    expect(sha256(join(to, 'sub/b.bin'))).toBe(await storedDigest('sub/b.bin'));
    expect(first).toMatchObject({ bytes: MiB + 6, fetchedBytes: MiB + 6, refused: [] });
    expect(first.files.map((f) => [f.path, f.size, f.fetched])).toEqual([
      ['a.txt', 6, true],
      ['sub/b.bin', MiB, true],
    ]);
    expect(progress.sort()).toEqual([1, 2]);

    const again = await downloadArtifacts(client, result.actionId, to);
    expect(again).toMatchObject({ bytes: MiB + 6, fetchedBytes: 0 });
    expect(again.files.every((f) => !f.fetched)).toBe(true);
  });

  it('takes only what a glob selects', async () => {
    const to = join(dir, 'glob');
    const summary = await client.attach(result.actionId).download(to, { include: ['sub/**'] });
    expect(filesBelow(to)).toEqual(['sub/b.bin']);
    expect(summary.files.map((f) => f.path)).toEqual(['sub/b.bin']);
  });

  it('resumes a stopped download: a partial temporary file and a stale file are both replaced', async () => {
    const to = join(dir, 'resume');
    mkdirSync(join(to, 'sub'), { recursive: true });
    const bin = join(to, 'sub/b.bin');
    writeFileSync(partialName(bin), Buffer.alloc(MiB / 2, 7)); // a download cut halfway
    writeFileSync(join(to, 'a.txt'), 'stale, of another size\n');
    const summary = await client.attach(result.actionId).download(to);
    expect(summary.files.every((f) => f.fetched)).toBe(true);
    expect(readFileSync(join(to, 'a.txt'), 'utf8')).toBe('alpha\n');
    expect(sha256(bin)).toBe(await storedDigest('sub/b.bin'));
    expect(existsSync(partialName(bin))).toBe(false);
    expect(filesBelow(to)).toEqual(['a.txt', 'sub/b.bin']);
  });

  it('refuses keys that would land outside the folder, and folders that are symlinks out of it', async () => {
    // MinIO itself refuses keys with "..", or an empty part: AWS S3 stores them. The listing a
    // store like that would give is played back here, with the action's real objects besides.
    const out = outFolderOf(result)!;
    const hostile = logStoreFromEnv()!;
    hostile.middlewareStack.add(
      (next, context) => async (args) => {
        const answer = await next(args);
        if (context.commandName === 'ListObjectsV2Command') {
          const listed = answer.output as { Contents?: { Key: string; Size: number; LastModified: Date }[] };
          for (const path of ['../../escaped.txt', 'sub/../../../escaped.txt', '/tmp/escaped.txt'])
            listed.Contents?.push({ Key: `${out.prefix}${path}`, Size: 6, LastModified: new Date() });
        }
        return answer;
      },
      { step: 'initialize', name: 'hostileListing' },
    );
    const hostileClient = new ActionsClient(client.client, client.taskQueue, hostile);
    const to = join(dir, 'hostile', 'into');
    mkdirSync(to, { recursive: true });
    const summary = await hostileClient.attach(result.actionId).download(to);
    expect(summary.refused).toEqual([
      { path: '../../escaped.txt', why: 'path with ".." refused' },
      { path: 'sub/../../../escaped.txt', why: 'path with ".." refused' },
      { path: '/tmp/escaped.txt', why: 'absolute path refused' },
    ]);
    expect(filesBelow(join(dir, 'hostile'))).toEqual(['into/a.txt', 'into/sub/b.bin']);
    expect(existsSync('/tmp/escaped.txt')).toBe(false);

    const linked = join(dir, 'linked');
    mkdirSync(join(dir, 'elsewhere'));
    mkdirSync(linked);
    symlinkSync(join(dir, 'elsewhere'), join(linked, 'sub'));
    const throughLink = await client.attach(result.actionId).download(linked);
    expect(throughLink.refused).toEqual([{ path: 'sub/b.bin', why: expect.stringContaining('a symlink') }]);
    expect(readdirSync(join(dir, 'elsewhere'))).toEqual([]);
  });
});

describe('caisson cp', () => {
  const run = async (...args: string[]) => {
    const lines: string[] = [];
    const code = await cpCommand(args, client, (line) => lines.push(line));
    return { code, lines };
  };

  it('copies a file, a folder and a glob, says how much on stderr, and resumes', async () => {
    const id = result.actionId;
    const file = await run(`${id}:out/sub/b.bin`, join(dir, 'cp', 'copy.bin'));
    expect(file.code).toBe(0);
    expect(sha256(join(dir, 'cp', 'copy.bin'))).toBe(await storedDigest('sub/b.bin'));
    expect(file.lines.at(-1)).toBe(`copied to ${join(dir, 'cp')}: 1 files, ${MiB} bytes`);

    const intoFolder = await run(`${id}:out/a.txt`, `${join(dir, 'cp')}/`);
    expect(intoFolder.code).toBe(0);
    expect(readFileSync(join(dir, 'cp', 'a.txt'), 'utf8')).toBe('alpha\n');

    const folder = await run(`${id}:out/sub`, join(dir, 'cp-sub'));
    expect(folder.code).toBe(0);
    expect(filesBelow(join(dir, 'cp-sub'))).toEqual(['b.bin']);

    const glob = await run(`${id}:out/**/*.txt`, join(dir, 'cp-glob'));
    expect(glob.code).toBe(0);
    expect(filesBelow(join(dir, 'cp-glob'))).toEqual(['a.txt']);

    // All of /out where the glob put a.txt already: only sub/b.bin is fetched.
    const whole = await run(`${id}:out`, join(dir, 'cp-glob'));
    expect(whole.lines.at(-1)).toBe(`copied to ${join(dir, 'cp-glob')}: 2 files, ${MiB + 6} bytes (1 already here)`);
    expect(filesBelow(join(dir, 'cp-glob'))).toEqual(['a.txt', 'sub/b.bin']);

    const none = await run(`${id}:out/missing`, join(dir, 'cp-none'));
    expect(none.code).toBe(1);
    expect(none.lines.at(-1)).toBe(`nothing in the /out of ${id} matches out/missing`);
    await expect(run('not-a-source', dir)).rejects.toThrow(/cp takes ID:out\/PATH/);
  });
});
