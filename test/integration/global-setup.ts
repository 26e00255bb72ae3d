// One real worker for the integration suite, on a task queue of its own so that nothing else
// running against the same Temporal server can take its actions.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { spawnWorker } from '../../harness/worker-process.js';
import { freePort } from '../../harness/free-port.js';
import { busyboxDigestRef, grant, SCRIPTS } from '../support/granted.js';

declare module 'vitest' {
  export interface ProvidedContext {
    taskQueue: string;
    workerHost: string;
    secretValue: string;
    /** The suite worker's Prometheus port: its slots in use are part of "nothing left". */
    metricsPort: number;
  }
}

const NEEDED = [
  'TEMPORAL_ADDRESS',
  'DOCKER_HOST',
  'AWS_ENDPOINT_URL_S3',
  'TEST_REGISTRY',
  'TEST_IMAGE_BUSYBOX',
  'CAISSON_ARTIFACTS_BUCKET',
];

/** How long the suite's worker may take to exit once told to stop (it drains nothing by then). */
const STOP_WITHIN_MS = 60_000;

export default async function setup(project: TestProject) {
  const missing = NEEDED.filter((name) => !process.env[name]);
  if (missing.length) {
    throw new Error(
      `missing ${missing.join(', ')}: run the tests with "npm test" (it brings the environment up), or eval "$(scripts/dev-env env)" first`,
    );
  }
  const taskQueue = `it-${process.pid}-${Date.now()}`;
  const workerHost = `it-host-${process.pid}`;
  const secretsDir = mkdtempSync(join(tmpdir(), 'caisson-secrets-'));
  const secretValue = `value-${Math.random().toString(36).slice(2)}-never-logged`;
  writeFileSync(join(secretsDir, 'API_TOKEN'), secretValue);
  // The suite's policy: the tests' own scripts on the busybox image may have these secrets
  // (NOT_CONFIGURED is granted but absent),
  // and any bucket (the tests of missing and vanishing buckets name their own).
  const policyDir = mkdtempSync(join(tmpdir(), 'caisson-policy-'));
  const policyFile = join(policyDir, 'policy.json');
  const digestRef = await busyboxDigestRef();
  writeFileSync(
    policyFile,
    JSON.stringify({
      secrets: { API_TOKEN: [grant(digestRef, SCRIPTS.apiToken)], NOT_CONFIGURED: [grant(digestRef, SCRIPTS.nothing)] },
      buckets: ['*'],
    }),
  );

  const metricsPort = await freePort();
  const worker = spawnWorker('main', {
    CAISSON_METRICS_PORT: String(metricsPort),
    CAISSON_TASK_QUEUE: taskQueue,
    CAISSON_HOST: workerHost,
    CAISSON_CAPACITY: '4',
    // Where its gang replicas are reached (loopback: the suite's one host).
    CAISSON_HOST_ADDRESS: '127.0.0.1',
    CAISSON_SECRETS_DIR: secretsDir,
    CAISSON_POLICY_FILE: policyFile,
    CAISSON_ALLOWED_IMAGES: `${process.env.TEST_REGISTRY}/caisson/*`,
  });
  // Bounded: a worker that never says it started fails the run with its log, not a hung suite.
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    worker.ready,
    new Promise((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`the suite's worker did not start within 60 s; see ${worker.logFile}`)),
        60_000,
      );
    }),
  ]).finally(() => clearTimeout(timer));
  project.provide('taskQueue', taskQueue);
  project.provide('workerHost', workerHost);
  project.provide('secretValue', secretValue);
  project.provide('metricsPort', metricsPort);
  return async () => {
    // A worker that stops exits at once once nothing runs: one that lingers holds something open
    // (a timer, a socket) and would keep a host's service waiting. That fails the suite, loudly.
    let lingering: NodeJS.Timeout | undefined;
    const stuck = await Promise.race([
      worker.stop('SIGTERM').then(() => false),
      new Promise<boolean>((resolve) => (lingering = setTimeout(() => resolve(true), STOP_WITHIN_MS))),
    ]);
    clearTimeout(lingering);
    if (stuck) {
      await worker.stop('SIGKILL');
      throw new Error(
        `the suite's worker did not exit within ${STOP_WITHIN_MS / 1000} s of SIGTERM: something keeps its process alive (see its log in test-results/)`,
      );
    }
    rmSync(secretsDir, { recursive: true, force: true });
    rmSync(policyDir, { recursive: true, force: true });
  };
}
