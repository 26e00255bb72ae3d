// caisson_s3_errors counts S3 requests that failed, not the answers "no such object" and "changed".
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { HeadObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import type { Metrics } from '../../activities/metrics.js';
import { countS3Errors } from '../../worker/s3-errors.js';

/** An S3 client whose every request gets `status`, and what the counter was told. */
function answering(status: number) {
  const counted: Record<string, string>[] = [];
  const s3 = new S3Client({
    region: 'us-east-1',
    maxAttempts: 1,
    credentials: { accessKeyId: 'k', secretAccessKey: 's' },
    requestHandler: {
      handle: async () => ({ response: { statusCode: status, headers: {}, body: Readable.from([]) } }),
    } as never,
  });
  const metrics = { s3Errors: { add: (_: number, tags: Record<string, string>) => counted.push(tags) } };
  countS3Errors(s3, metrics as unknown as Metrics, 'h1');
  return { s3, counted };
}

describe('countS3Errors', () => {
  it('counts a failed request by host and operation, and lets the error through', async () => {
    const { s3, counted } = answering(503);
    await expect(s3.send(new PutObjectCommand({ Bucket: 'b', Key: 'k', Body: 'x' }))).rejects.toThrow();
    expect(counted).toEqual([{ host: 'h1', operation: 'PutObjectCommand' }]);
  });

  it('does not count a missing object or a lost conditional write', async () => {
    for (const status of [404, 412]) {
      const { s3, counted } = answering(status);
      await expect(s3.send(new HeadObjectCommand({ Bucket: 'b', Key: 'k' }))).rejects.toThrow();
      expect(counted).toEqual([]);
    }
  });
});
