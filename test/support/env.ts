// Clients of the real components, configured by the variables `scripts/dev-env env` prints.
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { dockerClient } from '../../worker/docker.js';
import { s3ClientFromEnv } from '../../activities/store/artifact-store.js';
import { LABEL } from '../../activities/container/labels.js';
import { engineEvents } from './engine-events.js';

export const env = (name: string): string => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run via "npm test" or eval "$(scripts/dev-env env)"`);
  return value;
};

export const docker = () => (env('DOCKER_HOST'), dockerClient());

export const s3 = (): S3Client =>
  s3ClientFromEnv({
    AWS_ENDPOINT_URL_S3: env('AWS_ENDPOINT_URL_S3'),
    AWS_REGION: process.env.AWS_REGION ?? 'us-east-1',
    AWS_ACCESS_KEY_ID: env('AWS_ACCESS_KEY_ID'),
    AWS_SECRET_ACCESS_KEY: env('AWS_SECRET_ACCESS_KEY'),
  });

export function parseS3Uri(uri: string): { bucket: string; key: string } {
  const match = /^s3:\/\/([^/]+)\/(.+)$/.exec(uri);
  if (!match) throw new Error(`not an s3 URI: ${uri}`);
  return { bucket: match[1]!, key: match[2]! };
}

/** Streams an object and returns its sha256 and size, never holding it whole. */
export async function objectDigest(client: S3Client, uri: string): Promise<{ sha256: string; size: number }> {
  const { bucket, key } = parseS3Uri(uri);
  const response = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of response.Body as Readable) {
    hash.update(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  return { sha256: hash.digest('hex'), size };
}

export async function objectText(client: S3Client, uri: string): Promise<string> {
  const { bucket, key } = parseS3Uri(uri);
  const response = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return response.Body!.transformToString('utf8');
}

/** How often the engine started a container of this run since `since` (ms), from its events. */
export async function containerStarts(runId: string, since: number): Promise<number> {
  return (await engineEvents(docker(), since, [`${LABEL.runId}=${runId}`], ['start'])).length;
}
