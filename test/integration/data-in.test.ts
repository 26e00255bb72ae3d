// Data in, on the real stack: inputs from S3 and from an earlier action's /out staged read-only
// under /in (checked by checksum inside the container), fetched once per host, a missing one
// failing before any container starts, a 1 GiB one streamed with bounded worker memory; and files
// written into the container before it starts.
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ActionsClient } from '../../client/index.js';
import type { CountingProxy } from '../../harness/counting-proxy.js';
import { busybox, expectNoLeftovers, workerBehindS3Proxy } from '../support/actions.js';
import { busyboxDigestRef, grant } from '../support/granted.js';
import { containerStarts, env, objectDigest, objectText, s3 } from '../support/env.js';

const dir = mkdtempSync(join(tmpdir(), 'caisson-data-in-'));
const cleanups: (() => Promise<unknown>)[] = [];
const bucket = env('CAISSON_ARTIFACTS_BUCKET');
const root = `inputs-test/${randomUUID()}`;
const sha256 = (data: Buffer | string) => createHash('sha256').update(data).digest('hex');
const objects: Record<string, Buffer> = {
  'single.bin': randomBytes(300_000),
  'set/a.txt': Buffer.from('alpha\n'),
  'set/sub/b.txt': Buffer.from('beta\n'),
  'shared.bin': randomBytes(3 << 20),
};
const uri = (name: string) => `s3://${bucket}/${root}/${name}`;
/** The one script granted CONFIG_TOKEN (with the two files it writes besides the secret's). */
const FILES_SCRIPT =
  'stat -c "%a %n" /etc/app/config.yaml /run/secrets/token /usr/local/bin/hello; cat /etc/app/config.yaml; /usr/local/bin/hello; [ "$(cat /run/secrets/token)" = s3cret-token-value ] && echo TOKEN-MATCHES; echo "env has it: $(env | grep -c s3cret)"; cat /run/secrets/token';
let client: ActionsClient;
let host: string;
let proxy: CountingProxy;
let workerPid: number;

beforeAll(async () => {
  const policyFile = join(dir, 'policy.json');
  writeFileSync(
    policyFile,
    // The test's objects live outside the worker's artifacts root: the policy grants reads there.
    JSON.stringify({
      secrets: {
        CONFIG_TOKEN: [
          grant(await busyboxDigestRef(), FILES_SCRIPT, { files: ['/etc/app/config.yaml', '/usr/local/bin/hello'] }),
        ],
      },
      reads: [`s3://${bucket}/inputs-test/`],
    }),
  );
  let worker;
  ({ client, host, proxy, worker } = await workerBehindS3Proxy('data-in', cleanups, {
    CAISSON_POLICY_FILE: policyFile,
    CAISSON_SECRET_CONFIG_TOKEN: 's3cret-token-value',
    CAISSON_INPUT_CACHE_DIR: join(dir, 'input-cache'),
  }));
  workerPid = worker.process.pid!;
  for (const [name, body] of Object.entries(objects))
    await s3().send(new PutObjectCommand({ Bucket: bucket, Key: `${root}/${name}`, Body: body }));
}, 120_000);
afterEach(async () => {
  await expectNoLeftovers(host);
});
afterAll(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  rmSync(dir, { recursive: true, force: true });
});

/** The lines the container printed, from its stored stdout. */
async function stdoutOf(result: { logs?: { stdout: string } }): Promise<string> {
  return objectText(s3(), result.logs!.stdout);
}

describe('inputs', () => {
  it("arrive whole under /in, read-only, from S3 objects, a prefix and an earlier action's /out", async () => {
    const first = await (await client.start(busybox('head -c 200000 /dev/urandom > /out/model.bin'))).result();
    expect(first.status).toBe('DONE');
    const model = await objectDigest(s3(), first.artifacts.find((a) => a.path === 'model.bin')!.uri);

    const result = await (
      await client.start(
        busybox(
          'cd /in && sha256sum single.bin set/a.txt set/sub/b.txt model.bin; touch /in/new 2>/dev/null && echo WRITABLE || echo READ-ONLY',
          {
            inputs: [
              { from: uri('single.bin'), to: '/in/single.bin' },
              { from: uri('set/'), to: '/in/set' },
              { fromAction: first.actionId, path: 'out/model.bin', to: '/in/model.bin' },
            ],
          },
        ),
      )
    ).result();
    expect(result.status).toBe('DONE');
    const printed = await stdoutOf(result);
    expect(printed).toContain(`${sha256(objects['single.bin']!)}  single.bin`);
    expect(printed).toContain(`${sha256('alpha\n')}  set/a.txt`);
    expect(printed).toContain(`${sha256('beta\n')}  set/sub/b.txt`);
    expect(printed).toContain(`${model.sha256}  model.bin`);
    expect(printed).toContain('READ-ONLY');
    // The result tells what came in: each file's path, source, size and sha256.
    expect(result.inputTotals).toEqual({ files: 4, bytes: 300_000 + 6 + 5 + model.size });
    expect(result.inputs).toContainEqual(
      expect.objectContaining({
        path: '/in/set/sub/b.txt',
        source: uri('set/sub/b.txt'),
        size: 5,
        sha256: sha256('beta\n'),
      }),
    );
    expect(result.inputs).toContainEqual(
      expect.objectContaining({ path: '/in/model.bin', size: model.size, sha256: model.sha256 }),
    );
  });

  it("are fetched once per host: a second action asking for the same object version copies it from the host's cache", async () => {
    const spec = busybox('sha256sum /in/shared.bin', { inputs: [{ from: uri('shared.bin'), to: '/in/shared.bin' }] });
    const gets = new RegExp(`^/${bucket}/${root}/shared\\.bin`);
    proxy.reset();
    const first = await (await client.start(spec)).result();
    const second = await (await client.start(spec)).result();
    expect([first.status, second.status]).toEqual(['DONE', 'DONE']);
    expect(first.inputs![0]).toMatchObject({ cached: false, sha256: sha256(objects['shared.bin']!) });
    expect(second.inputs![0]).toMatchObject({ cached: true, sha256: sha256(objects['shared.bin']!) });
    expect(await stdoutOf(second)).toContain(sha256(objects['shared.bin']!));
    expect(proxy.count('GET', gets)).toBe(1);
  });

  it("that are missing, or larger than the action's disk, fail input-unavailable before any container starts", async () => {
    const since = Date.now();
    const missing = await (
      await client.start(busybox('true', { inputs: [{ from: uri('no-such.bin'), to: '/in/x' }] }))
    ).result();
    expect(missing).toMatchObject({ status: 'FAILED', reason: 'input-unavailable', exitCode: null });
    expect(missing.message).toContain(`inputs.0: ${uri('no-such.bin')} cannot be read (no such object)`);
    const empty = await (
      await client.start(busybox('true', { inputs: [{ from: uri('nothing-here/'), to: '/in/x' }] }))
    ).result();
    expect(empty).toMatchObject({ status: 'FAILED', reason: 'input-unavailable' });
    expect(empty.message).toContain(`no objects under ${uri('nothing-here/')}`);
    const tooLarge = await (
      await client.start(
        busybox('true', {
          resources: { outDisk: '1Mi', tmpDisk: '1Mi' },
          inputs: [{ from: uri('shared.bin'), to: '/in/shared.bin' }],
        }),
      )
    ).result();
    expect(tooLarge).toMatchObject({ status: 'FAILED', reason: 'input-unavailable' });
    expect(tooLarge.message).toMatch(/the inputs hold 3(\.0)?Mi, more than the action's disk of 2(\.0)?Mi/);
    for (const r of [missing, empty, tooLarge]) expect(await containerStarts(r.runId, since)).toBe(0);
  });

  it('of 1 GiB stream through the worker: its memory grows by far less than the object', async () => {
    const hash = createHash('sha256');
    const size = 1 << 30;
    const block = randomBytes(1 << 20);
    let sent = 0;
    // Every MiB differs (its index in front), so nothing along the way could shortcut a repeat.
    const body = Readable.from(
      (function* () {
        for (; sent < size; sent += block.length) {
          block.writeUInt32BE(sent / block.length, 0);
          hash.update(block);
          yield Buffer.from(block);
        }
      })(),
    );
    await new Upload({
      client: s3(),
      params: { Bucket: bucket, Key: `${root}/big.bin`, Body: body },
      partSize: 16 << 20,
      queueSize: 2,
    }).done();
    const expected = hash.digest('hex');
    const peakBefore = peakRss(workerPid);
    const result = await (
      await client.start(
        busybox('sha256sum /in/big.bin', {
          timeout: '5m',
          resources: { tmpDisk: '1100Mi' },
          inputs: [{ from: uri('big.bin'), to: '/in/big.bin' }],
        }),
      )
    ).result();
    expect(result.status).toBe('DONE');
    expect(result.inputs![0]).toMatchObject({ size, sha256: expected });
    expect(await stdoutOf(result)).toContain(`${expected}  /in/big.bin`);
    const growth = peakRss(workerPid) - peakBefore;
    expect(growth).toBeLessThan(128 << 20);
  }, 300_000);
});

/** The most memory the process has held (VmHWM), in bytes. */
function peakRss(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8')
    .split('\n')
    .find((l) => l.startsWith('VmHWM:'))!;
  return Number(/(\d+)/.exec(line)![1]) * 1024;
}

describe('files', () => {
  it("are in the container before it starts, with their modes; a secret's value is a file, not in env or the log", async () => {
    const result = await (
      await client.start(
        busybox(FILES_SCRIPT, {
          files: [
            { path: '/etc/app/config.yaml', content: 'level: 3\n' },
            { path: '/run/secrets/token', contentFromSecret: 'CONFIG_TOKEN', mode: '0600' },
            { path: '/usr/local/bin/hello', content: '#!/bin/sh\necho hello from a file\n', mode: '0755' },
          ],
        }),
      )
    ).result();
    expect(result.status).toBe('DONE');
    const printed = await stdoutOf(result);
    expect(printed).toContain('644 /etc/app/config.yaml');
    expect(printed).toContain('600 /run/secrets/token');
    expect(printed).toContain('755 /usr/local/bin/hello');
    expect(printed).toContain('level: 3');
    expect(printed).toContain('hello from a file');
    expect(printed).toContain('TOKEN-MATCHES');
    expect(printed).toContain('env has it: 0');
    // Printed whole, the secret is masked in the stored log like every secret of the run.
    expect(printed).not.toContain('s3cret-token-value');
  });
});
