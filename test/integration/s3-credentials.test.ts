// S3 credentials against the real S3 (MinIO): temporary keys with their session token, as a CI's
// OIDC role or `aws sts assume-role` hands out, work for a client and for a worker; the long-lived
// keys of Caisson's variables still do; with no keys given, the SDK's default chain finds them.
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { DeleteObjectCommand, GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { afterAll, describe, expect, it } from 'vitest';
import { s3ClientFromEnv } from '../../common/storage/s3-client.js';
import { busybox, expectNoLeftovers, workerOfItsOwn } from '../support/actions.js';
import { env, objectText, s3 } from '../support/env.js';

const cleanups: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

interface TemporaryKeys {
  AWS_ACCESS_KEY_ID: string;
  AWS_SECRET_ACCESS_KEY: string;
  AWS_SESSION_TOKEN: string;
}

/** Fresh temporary keys from MinIO's STS (AssumeRole, signed with the long-lived keys), valid 15 minutes. */
function temporaryKeys(): TemporaryKeys {
  const xml = execFileSync(
    'curl',
    [
      '-fsS',
      '-X',
      'POST',
      '--user',
      `${env('AWS_ACCESS_KEY_ID')}:${env('AWS_SECRET_ACCESS_KEY')}`,
      '--aws-sigv4',
      `aws:amz:${process.env.AWS_REGION ?? 'us-east-1'}:sts`,
      '-d',
      'Action=AssumeRole&Version=2011-06-15&DurationSeconds=900',
      `${env('AWS_ENDPOINT_URL_S3')}/`,
    ],
    { encoding: 'utf8' },
  );
  const field = (name: string) => {
    const value = new RegExp(`<${name}>([^<]+)</${name}>`).exec(xml)?.[1];
    if (!value) throw new Error(`MinIO's STS answered without ${name}: ${xml.slice(0, 300)}`);
    return value;
  };
  return {
    AWS_ACCESS_KEY_ID: field('AccessKeyId'),
    AWS_SECRET_ACCESS_KEY: field('SecretAccessKey'),
    AWS_SESSION_TOKEN: field('SessionToken'),
  };
}

const where = () => ({
  AWS_ENDPOINT_URL_S3: env('AWS_ENDPOINT_URL_S3'),
  AWS_REGION: process.env.AWS_REGION ?? 'us-east-1',
});

/** Writes, reads back and deletes one object: what a worker and a client do with the bucket. */
async function roundTrip(client: S3Client): Promise<string> {
  const Bucket = env('CAISSON_ARTIFACTS_BUCKET');
  const Key = `s3-credentials/${randomUUID()}.txt`;
  await client.send(new PutObjectCommand({ Bucket, Key, Body: Key }));
  try {
    const got = await client.send(new GetObjectCommand({ Bucket, Key }));
    return await got.Body!.transformToString();
  } finally {
    await client.send(new DeleteObjectCommand({ Bucket, Key }));
  }
}

describe('S3 credentials', () => {
  it('temporary keys work with their session token', async () => {
    const client = s3ClientFromEnv({ ...where(), ...temporaryKeys() });
    expect(await roundTrip(client)).toMatch(/^s3-credentials\//);
  });

  it('the session token reaches S3: a wrong one is refused even with keys that need none', async () => {
    const client = s3ClientFromEnv({
      ...where(),
      AWS_ACCESS_KEY_ID: env('AWS_ACCESS_KEY_ID'),
      AWS_SECRET_ACCESS_KEY: env('AWS_SECRET_ACCESS_KEY'),
      AWS_SESSION_TOKEN: 'not-a-token',
    });
    await expect(roundTrip(client)).rejects.toMatchObject({ name: 'InvalidTokenId' });
  });

  it("the long-lived keys of Caisson's variables still work", async () => {
    expect(await roundTrip(s3())).toMatch(/^s3-credentials\//);
  });

  it("with no keys given, the SDK's default chain takes the environment's", async () => {
    expect(await roundTrip(s3ClientFromEnv(where()))).toMatch(/^s3-credentials\//);
  });

  it("a worker whose environment holds temporary keys keeps an action's /out", async () => {
    const { client, host } = await workerOfItsOwn('s3-sts', { ...temporaryKeys() }, cleanups);
    cleanups.push(() => expectNoLeftovers(host));
    const result = await (await client.start(busybox('echo kept > /out/kept.txt'))).result();
    expect(result).toMatchObject({ status: 'DONE', host });
    const kept = result.artifacts.find((a) => a.path === 'kept.txt');
    expect(kept).toBeDefined();
    expect(await objectText(s3(), kept!.uri)).toBe('kept\n');
  });
});
