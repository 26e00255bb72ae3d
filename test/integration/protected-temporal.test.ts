// Connecting to a protected Temporal: the dev server behind nginx terminating TLS (harness/
// grpc-tls-proxy.ts), one door requiring a client certificate of the test CA (mTLS), one requiring
// an API key. Through each door a worker runs actions started by the typed client, the CLI and the
// bundled GitHub Action; without the certificate or with a wrong key each of them is refused.
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ActionsClient } from '../../client/index.js';
import { temporalSettingsFromEnv, type TemporalSettings } from '../../common/connection/temporal-connection.js';
import { startGrpcTlsProxy, type GrpcTlsProxy } from '../../harness/grpc-tls-proxy.js';
import { makeDockerTlsCerts } from '../../harness/tls-certs.js';
import { spawnWorker } from '../../harness/worker-process.js';
import { busybox, expectNoLeftovers, workerOfItsOwn } from '../support/actions.js';
import { inputVars, records, runDist, runnerFiles } from '../support/bundled-action.js';
import { env } from '../support/env.js';

const CLI = fileURLToPath(new URL('../../build/cli/main.js', import.meta.url));
const cleanups: (() => Promise<unknown>)[] = [];
let proxy: GrpcTlsProxy;

beforeAll(async () => {
  proxy = await startGrpcTlsProxy(env('TEMPORAL_ADDRESS'));
  cleanups.push(() => proxy.stop());
});
afterAll(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** The CLI as a user runs it, with these connection variables over the dev environment's. */
function cli(args: string[], vars: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) =>
    execFile(
      process.execPath,
      [CLI, ...args],
      { env: { ...process.env, ...vars }, timeout: 90_000 },
      (error, stdout, stderr) =>
        resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    ),
  );
}

/** The same connection as environment variables (worker, CLI) and as settings (client). */
interface Door {
  vars: Record<string, string>;
  settings: TemporalSettings;
  /** The Action's inputs for it. */
  inputs: Record<string, string>;
}

function mtlsDoor(): Door {
  const { certs } = proxy;
  return {
    vars: {
      TEMPORAL_ADDRESS: proxy.mtlsAddress,
      TEMPORAL_TLS_CA: certs.ca.cert,
      TEMPORAL_TLS_CERT: certs.client.cert,
      TEMPORAL_TLS_KEY: certs.client.key,
    },
    settings: {
      ...temporalSettingsFromEnv(),
      address: proxy.mtlsAddress,
      tlsCa: certs.ca.cert,
      tlsCert: certs.client.cert,
      tlsKey: certs.client.key,
    },
    // As a workflow passes them from secrets: the PEM text itself, not a path.
    inputs: {
      'temporal-address': proxy.mtlsAddress,
      'temporal-tls-ca': readFileSync(certs.ca.cert, 'utf8'),
      'temporal-tls-cert': readFileSync(certs.client.cert, 'utf8'),
      'temporal-tls-key': readFileSync(certs.client.key, 'utf8'),
    },
  };
}

function apiKeyDoor(key = proxy.apiKey): Door {
  const { certs } = proxy;
  return {
    vars: { TEMPORAL_ADDRESS: proxy.apiKeyAddress, TEMPORAL_TLS_CA: certs.ca.cert, TEMPORAL_API_KEY: key },
    settings: { ...temporalSettingsFromEnv(), address: proxy.apiKeyAddress, tlsCa: certs.ca.cert, apiKey: key },
    inputs: {
      'temporal-address': proxy.apiKeyAddress,
      'temporal-tls-ca': readFileSync(certs.ca.cert, 'utf8'),
      'temporal-api-key': key,
    },
  };
}

/** A worker that reaches Temporal only through `door`, and the three ways of starting an action through it. */
async function runThrough(name: string, door: Door) {
  const { host, taskQueue } = await workerOfItsOwn(name, door.vars, cleanups);
  cleanups.push(() => expectNoLeftovers(host));

  const client = await ActionsClient.connect(door.settings, taskQueue);
  try {
    const result = await (await client.start(busybox('echo via-client > /out/who'))).result();
    expect(result).toMatchObject({ status: 'DONE', exitCode: 0 });
    expect(result.artifacts.map((a) => a.path)).toEqual(['who']);
  } finally {
    await client.close();
  }

  const viaCli = await cli(['run', '--json', env('TEST_IMAGE_BUSYBOX'), '--', 'sh', '-c', 'echo via-cli'], {
    ...door.vars,
    CAISSON_TASK_QUEUE: taskQueue,
  });
  expect(viaCli.code, viaCli.stderr).toBe(0);
  expect(JSON.parse(viaCli.stdout)).toMatchObject({ status: 'DONE', logTail: ['via-cli'] });

  const dir = mkdtempSync(join(tmpdir(), 'caisson-gha-tls-'));
  cleanups.push(async () => rmSync(dir, { recursive: true, force: true }));
  const files = runnerFiles(dir);
  const inputs = {
    ...door.inputs,
    'task-queue': taskQueue,
    'codec-keys': env('CAISSON_CODEC_KEYS'),
    image: env('TEST_IMAGE_BUSYBOX'),
    'action-id': `gha-${name}-${Date.now()}`,
    command: 'sh\n-c',
    args: 'echo via-action',
  };
  const action = await runDist({ ...files, ...inputVars(inputs) });
  expect(action.code, action.stdout).toBe(0);
  expect(action.stdout).toContain('via-action');
  expect(records(readFileSync(files.GITHUB_OUTPUT, 'utf8'))).toMatchObject({ status: 'DONE', 'exit-code': '0' });
}

describe('a Temporal behind a TLS proxy that requires client certificates', () => {
  it('serves a worker, the client, the CLI and the Action that present the certificate', async () => {
    await runThrough('mtls', mtlsDoor());
  });

  it('refuses the client and the CLI without a certificate, or with one of another CA, and says where it failed', async () => {
    const door = mtlsDoor();
    const noCert = { ...door.settings, tlsCert: undefined, tlsKey: undefined };
    await expect(ActionsClient.connect(noCert, 'unused')).rejects.toThrow(
      new RegExp(`cannot connect to Temporal at ${proxy.mtlsAddress}`),
    );

    const strangerDir = mkdtempSync(join(tmpdir(), 'caisson-stranger-'));
    cleanups.push(async () => rmSync(strangerDir, { recursive: true, force: true }));
    const stranger = await makeDockerTlsCerts(strangerDir);
    await expect(
      ActionsClient.connect({ ...door.settings, tlsCert: stranger.client.cert, tlsKey: stranger.client.key }, 'unused'),
    ).rejects.toThrow(/cannot connect to Temporal/);

    const withoutCert = { ...door.vars, TEMPORAL_TLS_CERT: '', TEMPORAL_TLS_KEY: '' };
    const refused = await cli(['list'], withoutCert);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain(`cannot connect to Temporal at ${proxy.mtlsAddress}`);

    // A worker without the certificate does not start, and its log says why.
    const worker = spawnWorker('mtls-nocert', {
      ...withoutCert,
      CAISSON_TASK_QUEUE: `nocert-${randomUUID()}`,
      CAISSON_HOST: `nocert-${process.pid}`,
    });
    cleanups.push(() => worker.stop());
    await expect(worker.ready).rejects.toThrow(/exited with 1 before it was ready/);
    expect(readFileSync(worker.logFile, 'utf8')).toContain(`cannot connect to Temporal at ${proxy.mtlsAddress}`);
  });
});

describe('a Temporal behind a TLS proxy that requires an API key', () => {
  it('serves a worker, the client, the CLI and the Action that send the key', async () => {
    await runThrough('apikey', apiKeyDoor());
  });

  it('refuses a wrong key, and never prints the key it was given', async () => {
    const wrong = apiKeyDoor('not-the-key-0123456789');
    await expect(ActionsClient.connect(wrong.settings, 'unused')).rejects.toThrow(
      /cannot connect to Temporal|Unauthenticated|401/,
    );
    const refused = await cli(['list'], wrong.vars);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/cannot connect to Temporal|Unauthenticated|401/);
    expect(refused.stderr + refused.stdout).not.toContain('not-the-key-0123456789');
  });
});
