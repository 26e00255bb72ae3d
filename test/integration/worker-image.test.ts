// The worker image as operators build it (deploy/): a base made from this host's own binaries, the
// staged build and production dependencies, `docker build` of deploy/worker.Dockerfile; then a
// worker running in a container of it takes an action from its queue and runs it to DONE.
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { busybox, connectClient } from '../support/actions.js';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../..', import.meta.url));
const id = randomUUID().slice(0, 8);
const base = `caisson-base:test-${id}`;
const image = `caisson-worker:test-${id}`;
const container = `caisson-worker-test-${id}`;
const stage = mkdtempSync(join(tmpdir(), 'caisson-stage-'));

/** What the worker in the container is told: the suite's connections, its own queue and host name. */
function workerEnv(taskQueue: string): string[] {
  const passed = Object.entries(process.env).filter(
    ([name]) => /^(TEMPORAL_|AWS_|CAISSON_)/.test(name) || name === 'DOCKER_HOST' || name === 'DOCKER_CONFIG',
  );
  const own: Record<string, string> = {
    CAISSON_TASK_QUEUE: taskQueue,
    CAISSON_HOST: `image-${id}`,
    // Loop-mounting disks needs a privileged container, which this engine refuses: volumes instead.
    CAISSON_DISKS_DIR: 'off',
  };
  const env = { ...Object.fromEntries(passed), ...own };
  delete env.CAISSON_METRICS_PORT;
  return Object.entries(env).flatMap(([name, value]) => ['-e', `${name}=${value}`]);
}

afterAll(async () => {
  await run('docker', ['rm', '-f', container]).catch(() => {});
  await run('docker', ['rmi', '-f', image, base]).catch(() => {});
  rmSync(stage, { recursive: true, force: true });
});

describe('the worker image', () => {
  it('builds from deploy/ without a public registry, and a worker in it runs an action to DONE', async () => {
    await run('bash', [join(root, 'deploy/base-from-host.sh'), base], { cwd: root });
    await run('bash', [join(root, 'deploy/stage-worker.sh'), stage], { cwd: root, maxBuffer: 1 << 24 });
    await run(
      'docker',
      [
        'build',
        '-q',
        '-f',
        join(root, 'deploy/worker.Dockerfile'),
        '--build-arg',
        `BASE_IMAGE=${base}`,
        '-t',
        image,
        stage,
      ],
      { maxBuffer: 1 << 24 },
    );
    const socket = new URL(process.env.DOCKER_HOST!).pathname;
    const taskQueue = `image-${id}`;
    await run('docker', [
      'run',
      '-d',
      '--name',
      container,
      // The dev environment's Temporal and S3 listen on this host's loopback.
      '--network',
      'host',
      '-v',
      `${socket}:${socket}`,
      '-v',
      `${process.env.DOCKER_CONFIG}:${process.env.DOCKER_CONFIG}:ro`,
      ...workerEnv(taskQueue),
      image,
    ]);
    const client = await connectClient(taskQueue);
    try {
      const handle = await client.start(busybox('echo "from the image"; echo done > /out/done.txt'));
      const result = await handle.result();
      expect(result).toMatchObject({ status: 'DONE', host: `image-${id}`, artifacts: [{ path: 'done.txt' }] });
      expect(result.logTail).toContain('from the image');
    } finally {
      await client.close();
    }
    // The worker is the container's process: it is the one that ran the action, and still runs.
    const { stdout } = await run('docker', ['inspect', '-f', '{{.State.Running}}', container]);
    expect(stdout.trim()).toBe('true');
  }, 300_000);
});
