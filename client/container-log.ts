// The stored log of one container of a pod (spec.containers), read once the action has ended:
// the host keeps only the top-level container's log live, and stores each other one's stdout and
// stderr whole when the run is collected (logs/<name>/, named by the result's `containers`).
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { ActionResult } from '../spec/result.js';
import { isMissingObject } from '../common/storage/s3-client.js';
import type { StreamName } from '../common/storage/log-segments.js';
import { parseS3Uri } from './log-reader.js';

/** A piece of a stored log, as it was written, with the stream it came from. */
export interface StoredLogChunk {
  stream: StreamName;
  bytes: Uint8Array;
}

/** The container is not one of the action's, or its log was never stored (it was never made). */
export class ContainerLogMissingError extends Error {
  constructor(actionId: string, container: string, known: string[]) {
    super(
      known.includes(container)
        ? `container "${container}" of ${actionId} left no log: it was never started`
        : `${actionId} has no container "${container}"${known.length ? ` (it has ${known.join(', ')})` : ''}`,
    );
    this.name = 'ContainerLogMissingError';
  }
}

/** The container's stdout, then its stderr, each streamed from S3 as it was stored. */
export async function* storedContainerLog(
  s3: S3Client,
  result: ActionResult,
  container: string,
  signal?: AbortSignal,
): AsyncGenerator<StoredLogChunk> {
  const logs = result.containers?.[container]?.logs;
  if (!logs) throw new ContainerLogMissingError(result.actionId, container, Object.keys(result.containers ?? {}));
  for (const [stream, uri] of [
    ['stdout', logs.stdout],
    ['stderr', logs.stderr],
  ] as const) {
    const { bucket, prefix: key } = parseS3Uri(uri);
    const object = await s3
      .send(new GetObjectCommand({ Bucket: bucket, Key: key }), { abortSignal: signal })
      .catch((err: unknown) => {
        if (isMissingObject(err)) return undefined;
        throw err;
      });
    if (!object?.Body) continue;
    for await (const bytes of object.Body as AsyncIterable<Uint8Array>) yield { stream, bytes };
  }
}
