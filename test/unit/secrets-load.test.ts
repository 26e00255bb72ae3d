// The worker loads a secret only when it can keep it out of the output (4 characters or more), and
// only from a file inside CAISSON_SECRETS_DIR: a name or a link that leads elsewhere is refused, as
// is a file that is not a plain one or too large to be a secret.
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MAX_SECRET_BYTES, resolveSecrets } from '../../activities/trust/secrets.js';

const HOST = 'host-1';
let top: string;
let dir: string;
let outside: string;

beforeEach(async () => {
  top = await mkdtemp(join(tmpdir(), 'caisson-secrets-'));
  dir = join(top, 'secrets');
  outside = join(top, 'elsewhere');
  await mkdir(dir);
  await mkdir(outside);
  await writeFile(join(outside, 'x'), 'OUTSIDE-VALUE');
});
afterEach(() => rm(top, { recursive: true, force: true }));

/** The failure resolveSecrets ends with, checked to be final and to hold none of `values`. */
async function failure(names: string[], env: NodeJS.ProcessEnv, values: string[]): Promise<ApplicationFailure> {
  const err = await resolveSecrets(names, dir, env, HOST).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ApplicationFailure);
  const failed = err as ApplicationFailure;
  expect(failed.nonRetryable).toBe(true);
  for (const value of values) expect(failed.message).not.toContain(value);
  return failed;
}

describe('a secret', () => {
  it('comes from its file (without the last newline), else from the environment', async () => {
    await writeFile(join(dir, 'TOKEN'), 'file-value\n');
    const env = { CAISSON_SECRET_TOKEN: 'env-value', CAISSON_SECRET_OTHER: 'other-value' };
    expect(await resolveSecrets(['TOKEN', 'OTHER'], dir, env, HOST)).toEqual({
      TOKEN: 'file-value',
      OTHER: 'other-value',
    });
    expect(await resolveSecrets(['OTHER'], join(top, 'no-such-dir'), env, HOST)).toEqual({ OTHER: 'other-value' });
  });

  it('follows links that stay inside the folder (a Kubernetes secret volume)', async () => {
    await mkdir(join(dir, '..2024_01_01'));
    await writeFile(join(dir, '..2024_01_01', 'TOKEN'), 'mounted-value');
    await symlink('..2024_01_01', join(dir, '..data'));
    await symlink('..data/TOKEN', join(dir, 'TOKEN'));
    expect(await resolveSecrets(['TOKEN'], dir, {}, HOST)).toEqual({ TOKEN: 'mounted-value' });
  });

  it('not configured is final, as before', async () => {
    const failed = await failure(['NOPE'], {}, []);
    expect(failed.type).toBe('SecretMissing');
    expect(failed.message).toContain(`secret NOPE not configured on host ${HOST}`);
  });
});

describe('a secret too short to mask', () => {
  it('is refused when the worker loads it, from a file or the environment, naming it but never showing it', async () => {
    await writeFile(join(dir, 'PIN'), 'ab7\n');
    const failed = await failure(
      ['PIN', 'EMPTY', 'FINE'],
      { CAISSON_SECRET_EMPTY: '', CAISSON_SECRET_FINE: 'long-enough' },
      ['ab7'],
    );
    expect(failed.type).toBe('SecretMissing');
    expect(failed.message).toContain('secrets PIN, EMPTY');
    expect(failed.message).toContain('under 4 characters');
    expect(failed.message).toContain('too short to be masked');
  });

  it('is named alongside the missing ones', async () => {
    const failed = await failure(['GONE', 'PIN'], { CAISSON_SECRET_PIN: 'xyz' }, ['xyz']);
    expect(failed.message).toMatch(/secret GONE not configured.*; secret PIN on host host-1 is under 4 characters/);
  });

  it('of exactly 4 characters is given', async () => {
    expect(await resolveSecrets(['PIN'], dir, { CAISSON_SECRET_PIN: '1234' }, HOST)).toEqual({ PIN: '1234' });
  });
});

describe('a secret file', () => {
  it.each([
    ['../elsewhere/x', 'leads outside its root'],
    ['..', 'leads outside its root'],
    ['/tmp/elsewhere/x', 'is absolute'],
    ['/etc/passwd', 'is absolute'],
    ['X\0Y', 'contains a NUL character'],
    ['', 'leads outside its root'],
  ])('named %j is refused: %s', async (name, why) => {
    const failed = await failure([name], {}, ['OUTSIDE-VALUE']);
    expect(failed.type).toBe('RefusedByHost');
    expect(failed.message).toContain(`refused by host ${HOST}: secrets: secret name`);
    expect(failed.message).toContain(why);
  });

  it('that is a link leading outside the folder is refused, not followed', async () => {
    await symlink(join(outside, 'x'), join(dir, 'LEAK'));
    await symlink('../elsewhere', join(dir, 'sub'));
    for (const name of ['LEAK', 'sub/x']) {
      const failed = await failure([name], { CAISSON_SECRET_LEAK: 'env-fallback' }, ['OUTSIDE-VALUE']);
      expect(failed.type).toBe('RefusedByHost');
      expect(failed.message).toContain('a link that leads outside the secrets folder');
    }
  });

  it('that is a link to the folder itself, or a dangling one, is not a value', async () => {
    await symlink('.', join(dir, 'SELF'));
    expect((await failure(['SELF'], {}, [])).type).toBe('RefusedByHost');
    await symlink('nowhere', join(dir, 'DANGLING'));
    expect(await resolveSecrets(['DANGLING'], dir, { CAISSON_SECRET_DANGLING: 'from-env' }, HOST)).toEqual({
      DANGLING: 'from-env',
    });
  });

  it('that is a folder or a FIFO is refused (a FIFO is not waited on)', async () => {
    await mkdir(join(dir, 'FOLDER'));
    expect((await failure(['FOLDER'], {}, [])).message).toContain('the file of secret FOLDER is not a regular file');
    execFileSync('mkfifo', [join(dir, 'PIPE')]);
    expect((await failure(['PIPE'], {}, [])).message).toContain('the file of secret PIPE is not a regular file');
  });

  it('larger than 1 MiB is refused with its bound; one of exactly 1 MiB is read whole', async () => {
    await writeFile(join(dir, 'HUGE'), Buffer.alloc(MAX_SECRET_BYTES + 1, 'h'));
    const failed = await failure(['HUGE'], {}, ['hhhh']);
    expect(failed.type).toBe('RefusedByHost');
    expect(failed.message).toContain(`the file of secret HUGE is larger than ${MAX_SECRET_BYTES} bytes`);
    await writeFile(join(dir, 'BIG'), Buffer.alloc(MAX_SECRET_BYTES, 'b'));
    expect((await resolveSecrets(['BIG'], dir, {}, HOST)).BIG).toHaveLength(MAX_SECRET_BYTES);
  });
});
