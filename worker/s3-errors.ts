// Counts the worker's S3 requests that failed once the SDK gave up retrying them, by operation, for
// caisson_s3_errors (an alert on it says S3 is down or refuses this host's keys). An object that is
// not there is an answer, not an error: the fleet's drain markers are read that way every few seconds.
import type { S3Client } from '@aws-sdk/client-s3';
import type { Metrics } from '../activities/metrics.js';
import { isMissingObject } from '../common/storage/s3-client.js';

export function countS3Errors(s3: S3Client, metrics: Metrics, host: string): void {
  s3.middlewareStack.add(
    (next, context) => async (args) => {
      try {
        return await next(args);
      } catch (err) {
        const status = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
        // 412: a conditional write that lost its race, an answer as well.
        if (!isMissingObject(err) && status !== 412)
          metrics.s3Errors.add(1, { host, operation: context.commandName ?? '' });
        throw err;
      }
    },
    { step: 'initialize', name: 'caissonS3ErrorCount' },
  );
}
