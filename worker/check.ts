// A worker's pre-flight: everything it will need, each tried for real and within a bound (the
// engine, the artifacts bucket, Temporal and its namespace, the disks folder, the policy file), so
// an operator sees every problem at once, each with what to fix, before a host takes any action.
import { randomUUID } from 'node:crypto';
import { DeleteObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { Connection } from '@temporalio/client';
import { CommandHelper } from '../activities/disks/command-helper.js';
import { HostDisks, hostDisksUsable } from '../activities/disks/host-disk.js';
import { s3ClientFromEnv } from '../common/storage/s3-client.js';
import { connectionOptions } from '../common/connection/temporal-connection.js';
import type { WorkerConfig } from './config.js';
import { dockerClient } from './docker.js';
import { loadPolicy } from './policy-file.js';

export interface Check {
  name: string;
  ok: boolean;
  /** What was found; when not ok, why and what to fix. */
  detail: string;
}

/** Long enough for a slow but healthy service, short enough that a dead one does not hang the check. */
const CHECK_TIMEOUT_MS = 10_000;
/** The smallest filesystem mkfs.ext4 makes without complaint: proof enough that disks work. */
const PROBE_DISK_BYTES = 16 * 2 ** 20;

// What to look at, said with each failure.
const ENGINE_FIX = 'is dockerd running, DOCKER_HOST right, and may this user open its socket?';
const BUCKET_FIX =
  'does CAISSON_ARTIFACTS_BUCKET exist in AWS_REGION, is AWS_ENDPOINT_URL_S3 right, and may the keys put and delete objects?';
const TEMPORAL_FIX = 'is TEMPORAL_ADDRESS right, the server up, and TLS or the API key as it expects?';
const DISKS_FIX =
  'run the worker as root, with mkfs.ext4 and loop devices, and CAISSON_DISKS_DIR writable; or set it to off';

interface Probe {
  name: string;
  run: () => Promise<string>;
  /** What to look at when it does not answer in time. */
  unanswered: string;
}

/** Runs every check (together: each is bounded by `timeoutMs`) and returns them in a fixed order. */
export async function checkWorker(config: WorkerConfig, timeoutMs = CHECK_TIMEOUT_MS): Promise<Check[]> {
  const probes: Probe[] = [
    { name: 'engine', run: () => checkEngine(config), unanswered: `the Docker engine (${ENGINE_FIX})` },
    { name: 's3', run: () => checkBucket(config), unanswered: `S3 (${BUCKET_FIX})` },
    {
      name: 'temporal',
      run: () => checkTemporal(config, timeoutMs),
      unanswered: `Temporal at ${config.TEMPORAL_ADDRESS} (${TEMPORAL_FIX})`,
    },
    { name: 'disks', run: () => checkDisks(config), unanswered: `making a disk (${DISKS_FIX})` },
    { name: 'policy', run: async () => checkPolicy(config), unanswered: 'reading the policy file' },
  ];
  return Promise.all(probes.map((probe) => bounded(probe, timeoutMs)));
}

/** One line per check, ✓ or ✗ first, for a terminal. */
export function formatChecks(checks: Check[]): string {
  const width = Math.max(...checks.map((c) => c.name.length));
  return checks.map((c) => `${c.ok ? '✓' : '✗'} ${c.name.padEnd(width)}  ${c.detail}`).join('\n');
}

async function bounded({ name, run, unanswered }: Probe, timeoutMs: number): Promise<Check> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs / 1000} s from ${unanswered}`)), timeoutMs);
  });
  try {
    return { name, ok: true, detail: await Promise.race([run(), timeout]) };
  } catch (err) {
    return { name, ok: false, detail: (err as Error).message };
  } finally {
    clearTimeout(timer);
  }
}

/** Says what failed, then what to look at. */
const failed = (what: string, err: unknown, fix: string) =>
  new Error(`${what}: ${(err as Error).message.split('\n')[0]} (${fix})`);

async function checkEngine(config: WorkerConfig): Promise<string> {
  const where = config.DOCKER_HOST ?? 'the default socket';
  try {
    const version = await dockerClient().version();
    return `Docker ${version.Version} (API ${version.ApiVersion}) at ${where}`;
  } catch (err) {
    throw failed(`cannot reach the Docker engine at ${where}`, err, ENGINE_FIX);
  }
}

async function checkBucket(config: WorkerConfig): Promise<string> {
  const s3 = s3ClientFromEnv(config);
  const bucket = config.CAISSON_ARTIFACTS_BUCKET;
  const key = `_check/${config.CAISSON_HOST}-${randomUUID()}`;
  try {
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: 'caisson worker check\n' }));
    await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
    return `bucket ${bucket} writable${config.AWS_ENDPOINT_URL_S3 ? ` at ${config.AWS_ENDPOINT_URL_S3}` : ''}`;
  } catch (err) {
    const e = err as { name?: string; message?: string };
    throw failed(`cannot write to bucket ${bucket}`, { message: e.message || e.name || 'unknown error' }, BUCKET_FIX);
  } finally {
    s3.destroy();
  }
}

async function checkTemporal(config: WorkerConfig, timeoutMs: number): Promise<string> {
  const where = `Temporal at ${config.TEMPORAL_ADDRESS}`;
  const namespace = config.TEMPORAL_NAMESPACE;
  let connection: Connection;
  try {
    connection = await Connection.connect({
      ...connectionOptions({
        address: config.TEMPORAL_ADDRESS,
        namespace,
        apiKey: config.TEMPORAL_API_KEY,
        tlsCert: config.TEMPORAL_TLS_CERT,
        tlsKey: config.TEMPORAL_TLS_KEY,
        tlsCa: config.TEMPORAL_TLS_CA,
      }),
      connectTimeout: timeoutMs,
    });
  } catch (err) {
    throw failed(`cannot reach ${where}`, err, TEMPORAL_FIX);
  }
  try {
    await connection.workflowService.describeNamespace({ namespace });
    return `${where}, namespace ${namespace}`;
  } catch (err) {
    throw failed(
      `${where} answers, but namespace ${namespace} cannot be read`,
      err,
      `create it (temporal operator namespace create ${namespace}) or set TEMPORAL_NAMESPACE`,
    );
  } finally {
    await connection.close();
  }
}

/** A disk made, mounted and removed the way each action's is: proves root, mkfs.ext4, loop devices and room. */
async function checkDisks(config: WorkerConfig): Promise<string> {
  const folder = config.CAISSON_DISKS_DIR;
  if (folder === 'off') return 'off: containers get anonymous volumes, without a size limit';
  if (config.DOCKER_HOST && !config.DOCKER_HOST.startsWith('unix://'))
    return `not used: the engine is remote (${config.DOCKER_HOST}), containers get anonymous volumes`;
  const usable = await hostDisksUsable(folder);
  if (!usable.ok) throw failed(`cannot make disks in ${folder}`, new Error(usable.why), DISKS_FIX);
  const commands = new CommandHelper();
  const disks = new HostDisks(folder, commands);
  const name = `_check-${randomUUID()}`;
  try {
    await disks.mount(name, PROBE_DISK_BYTES);
    return `${folder}: an ext4 disk made, mounted and removed`;
  } catch (err) {
    throw failed(`cannot make disks in ${folder}`, err, DISKS_FIX);
  } finally {
    await disks.remove(name).catch(() => {});
    commands.close();
  }
}

function checkPolicy(config: WorkerConfig): string {
  const file = config.CAISSON_POLICY_FILE;
  const { images } = loadPolicy(file);
  const allowed = images ?? config.CAISSON_ALLOWED_IMAGES;
  const source = file ? `policy file ${file} parsed` : 'built-in policy (no CAISSON_POLICY_FILE)';
  if (!allowed.length)
    throw new Error(`${source}, but no image is allowed (set CAISSON_ALLOWED_IMAGES or "images" in the policy file)`);
  return `${source}; images allowed: ${allowed.join(', ')}`;
}
