// One way to reach S3 for every side (worker, client, CLI, Action): the AWS SDK's own variables.
import { NoSuchKey, S3Client } from '@aws-sdk/client-s3';

export function s3ClientFromEnv(config: {
  AWS_ENDPOINT_URL_S3?: string;
  AWS_REGION: string;
  AWS_ACCESS_KEY_ID?: string;
  AWS_SECRET_ACCESS_KEY?: string;
}): S3Client {
  return new S3Client({
    region: config.AWS_REGION,
    endpoint: config.AWS_ENDPOINT_URL_S3,
    // Self-hosted S3 servers (MinIO and the like) serve buckets by path, not by host name.
    forcePathStyle: Boolean(config.AWS_ENDPOINT_URL_S3),
    credentials:
      config.AWS_ACCESS_KEY_ID && config.AWS_SECRET_ACCESS_KEY
        ? { accessKeyId: config.AWS_ACCESS_KEY_ID, secretAccessKey: config.AWS_SECRET_ACCESS_KEY }
        : undefined,
  });
}

/** S3's "no such object" in its several shapes (GetObject throws NoSuchKey, HeadObject a bare 404). */
export function isMissingObject(err: unknown): boolean {
  const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
  return err instanceof NoSuchKey || e.name === 'NoSuchKey' || e.name === 'NotFound' || e.$metadata?.httpStatusCode === 404;
}
