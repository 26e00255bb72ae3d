// The four real components are really there: Docker with an authenticated registry, Temporal, MinIO.
import { DeleteObjectCommand, GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { docker, env, s3 } from '../support/env.js';

async function pull(reference: string, authconfig?: object): Promise<void> {
  const engine = docker();
  const stream = await engine.pull(reference, authconfig ? { authconfig } : {});
  await new Promise<void>((resolve, reject) =>
    engine.modem.followProgress(stream, (err) => (err ? reject(err) : resolve())),
  );
}

describe('docker engine and registry', () => {
  const image = env('TEST_IMAGE_BUSYBOX');
  const credentials = () => ({
    username: env('TEST_REGISTRY_USERNAME'),
    password: env('TEST_REGISTRY_PASSWORD'),
    serveraddress: env('TEST_REGISTRY'),
  });

  it('runs a container from an image pulled from the local registry with credentials', async () => {
    const engine = docker();
    await engine
      .getImage(image)
      .remove({ force: true })
      .catch(() => {});
    await pull(image, credentials());
    const container = await engine.createContainer({
      Image: image,
      Cmd: ['sh', '-c', 'echo from-registry'],
      HostConfig: { NetworkMode: 'none' },
    });
    try {
      await container.start();
      expect((await container.wait()).StatusCode).toBe(0);
      const logs = (await container.logs({ stdout: true, follow: false })) as unknown as Buffer;
      expect(logs.toString()).toContain('from-registry');
    } finally {
      await container.remove({ force: true });
    }
  });

  it('refuses a pull without credentials', async () => {
    await docker()
      .getImage(image)
      .remove({ force: true })
      .catch(() => {});
    await expect(pull(image)).rejects.toThrow(/unauthorized|authentication required|no basic auth/i);
    await pull(image, credentials()); // leave the image in place for the other tests
  });

  it('enforces a memory limit: an OOM kill exits 137', async () => {
    const container = await docker().createContainer({
      Image: image,
      Cmd: ['sh', '-c', 'x=a; while true; do x=$x$x; done'],
      HostConfig: { NetworkMode: 'none', Memory: 16 << 20, MemorySwap: 16 << 20 },
    });
    try {
      await container.start();
      expect((await container.wait()).StatusCode).toBe(137);
      expect((await container.inspect()).State.OOMKilled).toBe(true);
    } finally {
      await container.remove({ force: true });
    }
  });
});

describe('temporal dev server', () => {
  it('completes a trivial workflow', async () => {
    const taskQueue = `infra-${randomUUID()}`;
    const connection = await NativeConnection.connect({ address: env('TEMPORAL_ADDRESS') });
    const worker = await Worker.create({
      connection,
      taskQueue,
      workflowsPath: fileURLToPath(new URL('../fixtures/greet-workflow.ts', import.meta.url)),
    });
    const clientConnection = await Connection.connect({ address: env('TEMPORAL_ADDRESS') });
    const client = new Client({ connection: clientConnection });
    try {
      const result = await worker.runUntil(
        client.workflow.execute('greet', { taskQueue, workflowId: `greet-${randomUUID()}`, args: ['temporal'] }),
      );
      expect(result).toBe('hello, temporal');
    } finally {
      await clientConnection.close();
      await connection.close();
    }
  });
});

describe('minio', () => {
  it('round-trips an object', async () => {
    const client = s3();
    const Bucket = env('CAISSON_ARTIFACTS_BUCKET');
    const Key = `infra/${randomUUID()}.bin`;
    const body = Buffer.from(Array.from({ length: 4096 }, (_, i) => i % 256));
    await client.send(new PutObjectCommand({ Bucket, Key, Body: body }));
    const got = await client.send(new GetObjectCommand({ Bucket, Key }));
    expect(Buffer.from(await got.Body!.transformToByteArray()).equals(body)).toBe(true);
    await client.send(new DeleteObjectCommand({ Bucket, Key }));
  });
});
