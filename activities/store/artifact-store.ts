// The S3 side of artifacts: one bucket, keys under "<root>/<action id>/", uploads that stream.
import { GetObjectCommand, NoSuchKey, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { ApplicationFailure } from '@temporalio/activity';
import type { Readable } from 'node:stream';
import { FailureType } from '../../spec/failures.js';

export { s3ClientFromEnv } from '../../common/storage/s3-client.js';

// Multipart parts of 8 MiB, 4 in flight: at most 32 MiB of a large file is held at once.
const PART_SIZE = 8 << 20;
const PARTS_IN_FLIGHT = 4;

export class ArtifactStore {
  constructor(
    readonly s3: S3Client,
    readonly bucket: string,
    private readonly defaultPrefix: string,
  ) {}

  /** The worker's root: every action's folder is under it. */
  get root(): string {
    return this.defaultPrefix;
  }

  withBucket(bucket: string): ArtifactStore {
    return new ArtifactStore(this.s3, bucket, this.defaultPrefix);
  }

  /**
   * The folder of one action: "<root>/<action id>", the root being the worker's prefix. A spec's
   * prefix only adds folders inside it ("<root>/<action id>/<prefix>"), so no action can write into
   * another's folder, whatever prefix it names.
   */
  base(prefix: string | undefined, actionId: string): string {
    const trim = (text: string) => text.replace(/^\/+|\/+$/g, '');
    const root = trim(this.defaultPrefix);
    const own = root ? `${root}/${actionId}` : actionId;
    const inside = trim(prefix ?? '');
    return inside ? `${own}/${inside}` : own;
  }

  uri(key: string): string {
    return `s3://${this.bucket}/${key}`;
  }

  async put(key: string, body: Buffer | string, contentType?: string): Promise<void> {
    await this.s3.send(new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: body, ContentType: contentType }));
  }

  async upload(key: string, body: Readable, contentType?: string): Promise<void> {
    await new Upload({
      client: this.s3,
      params: { Bucket: this.bucket, Key: key, Body: body, ContentType: contentType },
      partSize: PART_SIZE,
      queueSize: PARTS_IN_FLIGHT,
    }).done();
  }

  /** A stored JSON object, or undefined when there is none under the key. */
  async getJson<T>(key: string): Promise<T | undefined> {
    try {
      const response = await this.s3.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
      return JSON.parse(await response.Body!.transformToString('utf8')) as T;
    } catch (err) {
      if (err instanceof NoSuchKey || (err as { name?: string }).name === 'NoSuchKey') return undefined;
      throw err;
    }
  }
}

/** S3's answers that mean the bucket cannot take this action's objects: waiting will not change them. */
const REFUSALS = new Set([
  'NoSuchBucket',
  'AccessDenied',
  'AllAccessDisabled',
  'InvalidAccessKeyId',
  'SignatureDoesNotMatch',
  'InvalidBucketName',
  'AccountProblem',
]);

export function isBucketRefusal(err: unknown): boolean {
  const name = (err as { name?: string; Code?: string })?.name ?? (err as { Code?: string })?.Code;
  return typeof name === 'string' && REFUSALS.has(name);
}

/**
 * The failure that ends an action whose artifacts cannot be stored (reason artifacts-unavailable),
 * or undefined for any other error (an outage is retried instead).
 */
export function artifactsUnavailable(bucket: string, err: unknown): ApplicationFailure | undefined {
  if (!isBucketRefusal(err)) return undefined;
  const name = (err as { name: string }).name;
  const hint =
    name === 'NoSuchBucket'
      ? 'create it, or name another one in artifacts.bucket'
      : "give the worker's S3 credentials write access to it, or name another bucket";
  return ApplicationFailure.create({
    type: FailureType.ArtifactsUnavailable,
    nonRetryable: true,
    message: `artifacts bucket "${bucket}" cannot be written (${name}: ${(err as Error).message}); ${hint}`,
  });
}
