// A worker whose engine is reached over tcp:// with mutual TLS, the way the Docker CLI reaches one
// (DOCKER_HOST, DOCKER_TLS_VERIFY, DOCKER_CERT_PATH): a real dockerd of its own on loopback that
// requires a client certificate, a real worker process, a real action.
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LABEL } from '../../activities/container/labels.js';
import { busybox, connectClient } from '../support/actions.js';
import { containerStarts, env, objectText, s3 } from '../support/env.js';
import { engineEvents } from '../support/engine-events.js';
import { spawnWorker, type WorkerProcess } from '../../harness/worker-process.js';
import { startExtraDockerd, type ExtraDockerd } from '../../harness/extra-dockerd.js';
import { makeCa, makeClientCert } from '../../harness/tls-certs.js';

let dockerd: ExtraDockerd | undefined;
let scratch: string | undefined;
const workers: WorkerProcess[] = [];

beforeAll(async () => {
  scratch = mkdtempSync(join(tmpdir(), 'caisson-tls-test-'));
  dockerd = await startExtraDockerd({ name: 'tls', tls: true, readyTimeoutMs: 30_000 });
}, 60_000);

afterAll(async () => {
  // Whatever happened: workers first (they hold the engine), then the engine with its containers
  // and temp dir, then this file's own certificates.
  await Promise.allSettled(workers.splice(0).map((w) => w.stop('SIGTERM')));
  try {
    await dockerd?.stop();
  } finally {
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  }
}, 60_000);

function tlsOf(d: ExtraDockerd | undefined): NonNullable<ExtraDockerd['tls']> {
  if (!d?.tls) throw new Error('the TLS dockerd did not start');
  return d.tls;
}

function worker(name: string, extra: Record<string, string>, taskQueue = `tls-${randomUUID()}`): WorkerProcess {
  const w = spawnWorker(name, {
    CAISSON_TASK_QUEUE: taskQueue,
    CAISSON_HOST: `${name}-${process.pid}`,
    CAISSON_ALLOWED_IMAGES: `${env('TEST_REGISTRY')}/caisson/*`,
    DOCKER_CONFIG: env('DOCKER_CONFIG'),
    ...extra,
  });
  workers.push(w);
  return w;
}

/** Starts a worker that is expected not to start; returns how it exited and what it said. */
async function refusedStart(
  name: string,
  extra: Record<string, string>,
): Promise<{ code: number | null; stderr: string }> {
  const w = worker(name, extra);
  let stderr = '';
  w.process.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const closed = new Promise<number | null>((resolve) => w.process.once('close', (code) => resolve(code)));
  const outcome = await Promise.race([
    closed.then((code) => ({ code })),
    w.ready.then(
      () => 'started' as const,
      () => new Promise<never>(() => {}),
    ),
    new Promise<'hung'>((resolve) => setTimeout(() => resolve('hung'), 20_000).unref()),
  ]);
  if (outcome === 'started')
    throw new Error(`worker ${name} started although it should have been refused; see ${w.logFile}`);
  if (outcome === 'hung') throw new Error(`worker ${name} neither started nor exited within 20 s; see ${w.logFile}`);
  return { code: outcome.code, stderr };
}

describe('a Docker engine behind mutual TLS', () => {
  it('runs an action through a worker configured with DOCKER_HOST=tcp://, DOCKER_TLS_VERIFY and DOCKER_CERT_PATH', async () => {
    const tls = tlsOf(dockerd);
    const since = Date.now();
    const taskQueue = `tls-${randomUUID()}`;
    await worker('tls', tls.clientEnv, taskQueue).ready;
    const client = await connectClient(taskQueue);
    try {
      const result = await (await client.start(busybox('echo tls > /out/x.txt'))).result();
      expect(result).toMatchObject({ status: 'DONE', exitCode: 0 });
      expect(result.artifacts.map((a) => a.path)).toEqual(['x.txt']);
      expect(await objectText(s3(), result.artifacts[0]!.uri)).toBe('tls\n');
      // It ran on the TLS engine (pulled there over plain HTTP from the loopback registry), once,
      // and never on the dev environment's engine.
      expect(await dockerd!.engine.getImage(env('TEST_IMAGE_BUSYBOX')).inspect()).toBeTruthy();
      expect(await engineEvents(dockerd!.engine, since, [`${LABEL.runId}=${result.runId}`], ['start'])).toHaveLength(1);
      expect(await containerStarts(result.runId, since)).toBe(0);
      expect(await dockerd!.engine.listContainers({ all: true, filters: { label: [LABEL.actionId] } })).toEqual([]);
    } finally {
      await client.close();
    }
  }, 60_000);

  it('refuses a worker without a client certificate the CA signed: it exits non-zero, naming the engine', async () => {
    const tls = tlsOf(dockerd);
    const cannotReach = `cannot reach the Docker engine at ${tls.host}`;

    // TLS with the right CA trusted but no client certificate: the engine ends the handshake.
    const noCert = await refusedStart('tls-no-cert', {
      DOCKER_HOST: tls.host,
      DOCKER_TLS_VERIFY: '1',
      DOCKER_CERT_PATH: '',
      NODE_EXTRA_CA_CERTS: tls.certs.client.ca,
    });
    expect(noCert.code).not.toBe(0);
    expect(noCert.stderr).toContain(cannotReach);

    // A client certificate from another CA, beside the right ca.pem: the engine refuses it too.
    const rogueCa = await makeCa(join(scratch!, 'rogue-ca'), 'rogue CA');
    const rogue = await makeClientCert(
      join(scratch!, 'rogue-client'),
      rogueCa,
      readFileSync(tls.certs.client.ca, 'utf8'),
    );
    const otherCa = await refusedStart('tls-rogue-cert', {
      DOCKER_HOST: tls.host,
      DOCKER_TLS_VERIFY: '1',
      DOCKER_CERT_PATH: rogue.dir,
    });
    expect(otherCa.code).not.toBe(0);
    expect(otherCa.stderr).toContain(cannotReach);

    // No TLS at all: plain HTTP to the TLS port.
    const plain = await refusedStart('tls-plain', {
      DOCKER_HOST: tls.host,
      DOCKER_TLS_VERIFY: '',
      DOCKER_CERT_PATH: '',
    });
    expect(plain.code).not.toBe(0);
    expect(plain.stderr).toContain(cannotReach);

    // DOCKER_CERT_PATH holding only ca.pem: the worker stops at once and names the missing file.
    const caOnly = join(scratch!, 'ca-only');
    mkdirSync(caOnly);
    copyFileSync(tls.certs.client.ca, join(caOnly, 'ca.pem'));
    const missing = await refusedStart('tls-ca-only', {
      DOCKER_HOST: tls.host,
      DOCKER_TLS_VERIFY: '1',
      DOCKER_CERT_PATH: caOnly,
    });
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toContain(join(caOnly, 'cert.pem'));

    // The refusals were the engine's own, for the reasons meant: its log has both handshakes.
    const log = readFileSync(dockerd!.logFile, 'utf8');
    expect(log).toMatch(/TLS handshake error .*client didn't provide a certificate/);
    expect(log).toMatch(/TLS handshake error .*certificate signed by unknown authority/);
  }, 60_000);
});
