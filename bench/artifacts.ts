// Collecting /out and logs, against uploading the same bytes from the host's disk with
// @aws-sdk/lib-storage, with the worker's memory growth watched throughout.
import { mkdtempSync, rmSync, writeFileSync, createReadStream, openSync, closeSync, ftruncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import type { ActionsClient } from '../client/index.js';
import { withRssGrowth } from './rss.js';

export interface TransferResult {
  name: string;
  bytes: number;
  files: number;
  caissonSeconds: number;
  baselineSeconds: number;
  workerRssGrowthBytes: number;
}

async function uploadAll(s3: S3Client, bucket: string, prefix: string, dir: string, names: string[], parallel: number) {
  let next = 0;
  const lane = async () => {
    while (next < names.length) {
      const name = names[next++]!;
      await new Upload({
        client: s3,
        params: { Bucket: bucket, Key: `${prefix}/${name}`, Body: createReadStream(join(dir, name)) },
      }).done();
    }
  };
  await Promise.all(Array.from({ length: parallel }, lane));
}

const collectSeconds = (timings: { step: string; ms: number }[]) =>
  (timings.find((t) => t.step === 'collect')?.ms ?? NaN) / 1000;

export async function benchBigFile(
  client: ActionsClient,
  s3: S3Client,
  bucket: string,
  image: string,
  workerPid: number,
  bytes: number,
): Promise<TransferResult> {
  const dir = mkdtempSync(join(tmpdir(), 'caisson-bench-'));
  try {
    const fd = openSync(join(dir, 'big.bin'), 'w');
    ftruncateSync(fd, bytes); // zeros, like the container's /dev/zero
    closeSync(fd);
    const started = performance.now();
    await uploadAll(s3, bucket, `bench-baseline/${Date.now()}`, dir, ['big.bin'], 1);
    const baselineSeconds = (performance.now() - started) / 1000;
    const { value: result, growthBytes } = await withRssGrowth(workerPid, async () =>
      (
        await client.start({
          image,
          command: ['sh', '-c', `head -c ${bytes} /dev/zero > /out/big.bin`],
          timeout: '30m',
        })
      ).result(),
    );
    if (result.artifactTotals.bytes !== bytes)
      throw new Error(`uploaded ${result.artifactTotals.bytes} of ${bytes} bytes`);
    return {
      name: 'one big file',
      bytes,
      files: 1,
      caissonSeconds: collectSeconds(result.timings),
      baselineSeconds,
      workerRssGrowthBytes: growthBytes,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function benchManyFiles(
  client: ActionsClient,
  s3: S3Client,
  bucket: string,
  image: string,
  workerPid: number,
  files: number,
  size: number,
): Promise<TransferResult> {
  const dir = mkdtempSync(join(tmpdir(), 'caisson-bench-'));
  try {
    const names = Array.from({ length: files }, (_, i) => `f${i}.bin`);
    const body = Buffer.alloc(size, 7);
    for (const name of names) writeFileSync(join(dir, name), body);
    const started = performance.now();
    await uploadAll(s3, bucket, `bench-baseline/${Date.now()}`, dir, names, 16);
    const baselineSeconds = (performance.now() - started) / 1000;
    const script = `head -c ${size} /dev/zero > /tmp/f; i=0; while [ $i -lt ${files} ]; do cp /tmp/f /out/f$i.bin; i=$((i+1)); done`;
    const { value: result, growthBytes } = await withRssGrowth(workerPid, async () =>
      (await client.start({ image, command: ['sh', '-c', script], timeout: '30m' })).result(),
    );
    if (result.artifactTotals.files !== files)
      throw new Error(`uploaded ${result.artifactTotals.files} of ${files} files`);
    return {
      name: `${files} files of ${size} B`,
      bytes: files * size,
      files,
      caissonSeconds: collectSeconds(result.timings),
      baselineSeconds,
      workerRssGrowthBytes: growthBytes,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
