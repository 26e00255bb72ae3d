// Staging a large input into /in, against downloading the same object from S3 to the host's disk
// with the AWS SDK: the first action fetches it (into the host's cache, then onto its disk), a
// second one on the host copies it from the cache; the worker's memory growth watched throughout.
import { createHash } from 'node:crypto';
import { createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import type { ActionsClient } from '../client/index.js';
import { withRssGrowth } from './rss.js';

export interface InputResult {
  bytes: number;
  /** Downloading the object to a file on this machine with the SDK (one stream). */
  downloadSeconds: number;
  /** The action's `inputs` step: first on the host (fetched), then again (from the host's cache). */
  coldSeconds: number;
  warmSeconds: number;
  /** The whole action, start to result, cold. */
  coldActionSeconds: number;
  workerRssGrowthBytes: number;
}

const inputsSeconds = (timings: { step: string; ms: number }[]) =>
  (timings.find((t) => t.step === 'inputs')?.ms ?? NaN) / 1000;

export async function benchBigInput(
  client: ActionsClient,
  s3: S3Client,
  bucket: string,
  image: string,
  workerPid: number,
  bytes: number,
  root: string,
): Promise<InputResult> {
  // Under the worker's artifacts root: where a worker without a reads grant lets inputs come from.
  const key = `${root}/bench-inputs-${Date.now()}/big.bin`;
  const block = Buffer.alloc(1 << 20);
  const hash = createHash('sha256');
  // Every MiB differs (its index in front): nothing on the way can shortcut a repeat.
  const body = Readable.from(
    (function* () {
      for (let i = 0; i * block.length < bytes; i++) {
        block.writeUInt32BE(i, 0);
        const chunk = block.subarray(0, Math.min(block.length, bytes - i * block.length));
        hash.update(chunk);
        yield Buffer.from(chunk);
      }
    })(),
  );
  await new Upload({
    client: s3,
    params: { Bucket: bucket, Key: key, Body: body },
    partSize: 16 << 20,
    queueSize: 2,
  }).done();
  const sha256 = hash.digest('hex');

  const dir = mkdtempSync(join(tmpdir(), 'caisson-bench-inputs-'));
  try {
    const started = performance.now();
    const response = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    await pipeline(response.Body as Readable, createWriteStream(join(dir, 'big.bin')));
    const downloadSeconds = (performance.now() - started) / 1000;
    rmSync(join(dir, 'big.bin'));

    const spec = {
      image,
      command: ['sh', '-c', 'test -s /in/big.bin'],
      timeout: '30m',
      resources: { tmpDisk: `${Math.ceil(bytes / 2 ** 20) + 64}Mi` },
      inputs: [{ from: `s3://${bucket}/${key}`, to: '/in/big.bin' }],
    };
    const actionStarted = performance.now();
    const { value: cold, growthBytes } = await withRssGrowth(workerPid, async () =>
      (await client.start(spec)).result(),
    );
    const coldActionSeconds = (performance.now() - actionStarted) / 1000;
    const warm = await (await client.start(spec)).result();
    for (const r of [cold, warm]) {
      if (r.status !== 'DONE' || r.inputs?.[0]?.sha256 !== sha256)
        throw new Error(`the input was not staged whole: ${r.status} ${r.message}`);
    }
    if (!warm.inputs![0]!.cached)
      throw new Error('the second action fetched the object again instead of copying it from the host cache');
    return {
      bytes,
      downloadSeconds,
      coldSeconds: inputsSeconds(cold.timings),
      warmSeconds: inputsSeconds(warm.timings),
      coldActionSeconds,
      workerRssGrowthBytes: growthBytes,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
