// Staging inputs (inputs.ts, input-cache.ts) on a real temporary folder: whatever `to` a request
// carries, nothing is written outside the host folder that stands for /in, no link on the way or
// at the file's name is followed, and a refusal names the spec field.
import {
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import type { S3Client } from '@aws-sdk/client-s3';
import { ApplicationFailure } from '@temporalio/activity';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { InputCache } from '../../activities/inputs/input-cache.js';
import { checkInputTargets, stageInputs, stagedPath, type InputObject } from '../../activities/inputs/inputs.js';
import type { Action } from '../../spec/action.js';

const HOST = 'host-a';
let dir: string;
let folder: string;
let outside: string;
let cache: InputCache;

// GetObject answers with the key's first letter, 100 times.
const s3 = {
  send: async (command: { input: { Key: string } }) => ({
    Body: Readable.from([Buffer.alloc(100, command.input.Key)]),
  }),
} as unknown as S3Client;
const object = (to: string, field = 'inputs.0.to'): InputObject => ({
  bucket: 'b',
  key: `k${to}`,
  etag: `"${to}"`,
  size: 100,
  to,
  field,
});

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'paths-inputs-'));
  folder = join(dir, 'disk', 'mnt', 'in');
  outside = join(dir, 'outside');
  mkdirSync(folder, { recursive: true });
  mkdirSync(outside);
  cache = new InputCache(s3, join(dir, 'cache'), 10_000);
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** The host's refusal, or a failure of the test when there was none. */
async function refusedWith(f: () => unknown): Promise<{ field: string; message: string }> {
  let err: unknown;
  try {
    await f();
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(ApplicationFailure);
  const failure = err as ApplicationFailure;
  expect(failure.type).toBe('RefusedByHost');
  expect(failure.nonRetryable).toBe(true);
  return { field: (failure.details?.[0] as { field: string }).field, message: failure.message };
}

const spec = (inputs: Partial<Action['inputs'][number]>[]) => ({ inputs }) as unknown as Pick<Action, 'inputs'>;

describe('checkInputTargets', () => {
  it('takes plain paths under /in, and /in itself for a prefix', () => {
    expect(() =>
      checkInputTargets(
        spec([
          { from: 's3://b/k', to: '/in/a b/c\nd' },
          { from: 's3://b/p/', to: '/in' },
        ]),
        HOST,
      ),
    ).not.toThrow();
  });

  it('refuses "..", absolute paths elsewhere, NUL, relative paths and a single object at /in, naming the field', async () => {
    for (const [to, why] of [
      ['/in/../../../../tmp/x', /"\.\." part/],
      ['/etc/cron.d/x', /not a path below \/in/],
      ['/in/a\0b', /NUL/],
      ['in/x', /not an absolute path/],
      ['/in', /not a path below \/in/],
    ] as const) {
      const got = await refusedWith(() =>
        checkInputTargets(
          spec([
            { from: 's3://b/ok', to: '/in/ok' },
            { from: 's3://b/k', to },
          ]),
          HOST,
        ),
      );
      expect(got.field).toBe('inputs.1.to');
      expect(got.message).toMatch(why);
      expect(got.message).toContain(`refused by host ${HOST}`);
    }
  });
});

describe('stagedPath', () => {
  it('is below the folder for a plain path, and a refusal naming the field otherwise', async () => {
    expect(stagedPath(folder, object('/in/a b/c'), HOST)).toBe(join(folder, 'a b', 'c'));
    expect((await refusedWith(() => stagedPath(folder, object('/in/x/../../..', 'inputs.3.to'), HOST))).field).toBe(
      'inputs.3.to',
    );
    expect((await refusedWith(() => stagedPath(folder, object('/tmp/x'), HOST))).field).toBe('inputs.0.to');
  });
});

describe('stageInputs', () => {
  it('stages plain names (spaces and newlines too) inside the folder', async () => {
    const staged = await stageInputs(
      [object('/in/a b/c\nd.bin'), object('/in/e.bin', 'inputs.1.to')],
      folder,
      cache,
      HOST,
    );
    expect(staged.map((s) => s.path)).toEqual(['/in/a b/c\nd.bin', '/in/e.bin']);
    expect(readFileSync(join(folder, 'a b', 'c\nd.bin')).length).toBe(100);
  });

  it('refuses a target that climbs out before writing anything, even the good ones', async () => {
    const got = await refusedWith(() =>
      stageInputs([object('/in/good.bin'), object('/in/../../../outside/x', 'inputs.1.to')], folder, cache, HOST),
    );
    expect(got.field).toBe('inputs.1.to');
    expect(readdirSync(folder)).toEqual([]);
    expect(readdirSync(outside)).toEqual([]);
  });

  it('refuses an absolute target and one with NUL', async () => {
    expect((await refusedWith(() => stageInputs([object(join(outside, 'x'))], folder, cache, HOST))).field).toBe(
      'inputs.0.to',
    );
    expect((await refusedWith(() => stageInputs([object('/in/x\0y')], folder, cache, HOST))).field).toBe('inputs.0.to');
    expect(readdirSync(outside)).toEqual([]);
  });

  it('does not follow a link in a folder on the way: refused, nothing made where it points', async () => {
    symlinkSync(outside, join(folder, 'sub'));
    const got = await refusedWith(() => stageInputs([object('/in/sub/deeper/x.bin')], folder, cache, HOST));
    expect(got.field).toBe('inputs.0.to');
    expect(got.message).toMatch(/symlink, not followed/);
    expect(readdirSync(outside)).toEqual([]);
  });

  it("does not write through a link at the file's own name, downloaded or copied from the cache", async () => {
    const target = join(outside, 'target');
    writeFileSync(target, 'the host file');
    symlinkSync(target, join(folder, 'x.bin'));
    // Downloaded: the name is opened with O_NOFOLLOW, which fails on the link.
    await expect(stageInputs([object('/in/x.bin')], folder, cache, HOST)).rejects.toMatchObject({ code: 'ELOOP' });
    expect(readFileSync(target, 'utf8')).toBe('the host file');
    // Cached meanwhile (through another action), then copied: the link is replaced, not followed.
    mkdirSync(join(dir, 'other'));
    await stageInputs([object('/in/x.bin')], join(dir, 'other'), cache, HOST);
    const copied = await stageInputs([object('/in/x.bin')], folder, cache, HOST);
    expect(copied[0]!.cached).toBe(true);
    expect(readFileSync(target, 'utf8')).toBe('the host file');
    expect(lstatSync(join(folder, 'x.bin')).isFile()).toBe(true);
    expect(readFileSync(join(folder, 'x.bin')).length).toBe(100);
  });
});
