// S3 credentials as the AWS SDK resolves them: the keys Caisson's variables name, with their session
// token, and otherwise the SDK's default provider chain (here: the environment and a profile).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { s3ClientFromEnv } from '../../common/storage/s3-client.js';
import { logStoreFromEnv } from '../../client/index.js';

const resolved = (client: { config: { credentials: () => Promise<unknown> } }) => client.config.credentials();

/** Nothing from this machine's AWS setup reaches the default chain: only what a test sets. */
const AMBIENT = [
  'AWS_ACCESS_KEY_ID',
  'AWS_SECRET_ACCESS_KEY',
  'AWS_SESSION_TOKEN',
  'AWS_CREDENTIAL_EXPIRATION',
  'AWS_PROFILE',
  'AWS_WEB_IDENTITY_TOKEN_FILE',
  'AWS_ROLE_ARN',
  'AWS_CONTAINER_CREDENTIALS_RELATIVE_URI',
  'AWS_CONTAINER_CREDENTIALS_FULL_URI',
];
let dir: string;
beforeEach(() => {
  for (const name of AMBIENT) vi.stubEnv(name, undefined);
  dir = mkdtempSync(join(tmpdir(), 'caisson-aws-'));
  vi.stubEnv('AWS_CONFIG_FILE', join(dir, 'config'));
  vi.stubEnv('AWS_SHARED_CREDENTIALS_FILE', join(dir, 'credentials'));
  vi.stubEnv('AWS_EC2_METADATA_DISABLED', 'true');
});
afterEach(() => {
  vi.unstubAllEnvs();
  rmSync(dir, { recursive: true, force: true });
});

const temporary = {
  AWS_ACCESS_KEY_ID: 'ASIATEMPORARY',
  AWS_SECRET_ACCESS_KEY: 'temporary-secret',
  AWS_SESSION_TOKEN: 'the-session-token',
};

describe('S3 credentials', () => {
  it('keep the session token of temporary keys given with them', async () => {
    const client = s3ClientFromEnv({ AWS_REGION: 'us-east-1', ...temporary });
    expect(await resolved(client)).toMatchObject({
      accessKeyId: 'ASIATEMPORARY',
      secretAccessKey: 'temporary-secret',
      sessionToken: 'the-session-token',
    });
  });

  it('keep it through the client package, which reads them from an environment', async () => {
    const client = logStoreFromEnv({ AWS_ENDPOINT_URL_S3: 'http://127.0.0.1:9000', ...temporary });
    expect(await resolved(client!)).toMatchObject({ accessKeyId: 'ASIATEMPORARY', sessionToken: 'the-session-token' });
  });

  it("take the environment's token for the environment's keys (a worker's config does not carry it)", async () => {
    for (const [name, value] of Object.entries(temporary)) vi.stubEnv(name, value);
    const { AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY } = temporary;
    const client = s3ClientFromEnv({ AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY });
    expect(await resolved(client)).toMatchObject({ accessKeyId: 'ASIATEMPORARY', sessionToken: 'the-session-token' });
  });

  it("never pair the environment's token with other keys", async () => {
    for (const [name, value] of Object.entries(temporary)) vi.stubEnv(name, value);
    const client = s3ClientFromEnv({
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'minio-user',
      AWS_SECRET_ACCESS_KEY: 'minio-secret',
    });
    const credentials = await resolved(client);
    expect(credentials).toMatchObject({ accessKeyId: 'minio-user', secretAccessKey: 'minio-secret' });
    expect(credentials).not.toHaveProperty('sessionToken');
  });

  it('are the long-lived keys the variables name, as for MinIO', async () => {
    const client = s3ClientFromEnv({
      AWS_REGION: 'us-east-1',
      AWS_ENDPOINT_URL_S3: 'http://127.0.0.1:9000',
      AWS_ACCESS_KEY_ID: 'caisson',
      AWS_SECRET_ACCESS_KEY: 's3cret',
    });
    const credentials = await resolved(client);
    expect(credentials).toMatchObject({ accessKeyId: 'caisson', secretAccessKey: 's3cret' });
    expect(credentials).not.toHaveProperty('sessionToken');
  });

  it("without keys, come from the SDK's default chain: the environment, token included", async () => {
    for (const [name, value] of Object.entries(temporary)) vi.stubEnv(name, value);
    const client = s3ClientFromEnv({ AWS_REGION: 'us-east-1' });
    expect(await resolved(client)).toMatchObject({ accessKeyId: 'ASIATEMPORARY', sessionToken: 'the-session-token' });
  });

  it("without keys, come from the SDK's default chain: a profile", async () => {
    writeFileSync(
      join(dir, 'credentials'),
      '[ci]\naws_access_key_id = ASIAPROFILE\naws_secret_access_key = profile-secret\naws_session_token = profile-token\n',
    );
    vi.stubEnv('AWS_PROFILE', 'ci');
    const client = s3ClientFromEnv({ AWS_REGION: 'us-east-1' });
    expect(await resolved(client)).toMatchObject({
      accessKeyId: 'ASIAPROFILE',
      secretAccessKey: 'profile-secret',
      sessionToken: 'profile-token',
    });
  });
});
