// The worker's operator endpoint on an address of its own: /healthz and /readyz tell a supervisor
// whether the process lives and whether it takes work (a drained host does not), /metrics still
// relays the runtime's metrics, with what the host holds and has free.
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { freePort } from '../../harness/free-port.js';
import { spawnWorker, type WorkerProcess } from '../../harness/worker-process.js';
import { FleetRegistry } from '../../common/storage/fleet-registry.js';
import { s3ClientFromEnv } from '../../common/storage/s3-client.js';
import { loadWorkerConfig } from '../../worker/config.js';
import { sample } from '../support/metrics.js';

const taskQueue = `health-${randomUUID()}`;
const host = `health-${process.pid}`;
let base: string;
let worker: WorkerProcess;
beforeAll(async () => {
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  worker = spawnWorker('health', {
    CAISSON_TASK_QUEUE: taskQueue,
    CAISSON_HOST: host,
    CAISSON_CAPACITY: '3',
    CAISSON_HOST_CPU: '2',
    CAISSON_HOST_MEMORY: '1Gi',
    CAISSON_GPUS: '0,1',
    CAISSON_METRICS_ADDRESS: `127.0.0.1:${port}`,
    CAISSON_LOG_LEVEL: 'warn',
  });
  // At level warn the "worker started" line that `ready` waits for is not written: /readyz says it.
  void worker.ready.catch(() => {});
  await vi.waitFor(
    async () => {
      if (worker.process.exitCode !== null) throw new Error(`the worker exited; see ${worker.logFile}`);
      expect((await fetch(`${base}/readyz`)).status).toBe(200);
    },
    { timeout: 30_000, interval: 200 },
  );
});
afterAll(async () => {
  await worker?.stop('SIGTERM');
});

describe('health endpoints', () => {
  it('answers /healthz, and /readyz turns 503 with the reason while the host is drained', async () => {
    expect(await fetch(`${base}/healthz`).then((r) => r.text())).toBe('ok\n');
    const config = loadWorkerConfig(process.env);
    const registry = new FleetRegistry(s3ClientFromEnv(config), config.CAISSON_ARTIFACTS_BUCKET, taskQueue);
    await registry.drain(host, 'disk swap');
    try {
      await expect
        .poll(() => fetch(`${base}/readyz`).then(async (r) => [r.status, await r.text()]), { timeout: 15_000 })
        .toEqual([503, expect.stringContaining('drained: by the operator: disk swap')]);
    } finally {
      await registry.undrain(host);
    }
    await expect.poll(() => fetch(`${base}/readyz`).then((r) => r.status), { timeout: 15_000 }).toBe(200);
    expect((await fetch(`${base}/nothing`)).status).toBe(404);
    expect((await fetch(`${base}/healthz`, { method: 'POST' })).status).toBe(405);
  });

  it('logs at the level asked for: nothing below warn', () => {
    // Node's own warnings (not the worker's log lines) are plain text.
    const lines = readFileSync(worker.logFile, 'utf8')
      .split('\n')
      .filter((line) => line.startsWith('{'));
    expect(lines.length).toBeGreaterThan(0);
    for (const line of lines) expect(['WARN', 'ERROR']).toContain(JSON.parse(line).level);
  });

  it('relays the metrics, with what the host holds and has free', async () => {
    const text = await fetch(`${base}/metrics`).then((r) => r.text());
    expect(text).toMatch(/^temporal_\w+/m);
    expect(sample(text, 'caisson_host_cpu_millis', { host, state: 'free' })).toBe(2000);
    expect(sample(text, 'caisson_host_cpu_millis', { host, state: 'held' })).toBe(0);
    expect(sample(text, 'caisson_host_memory_bytes', { host, state: 'free' })).toBe(2 ** 30);
    expect(sample(text, 'caisson_host_gpus', { host, state: 'free' })).toBe(2);
    expect(text).toContain('caisson_host_disk_bytes');
    expect(sample(text, 'caisson_host_capacity', { host })).toBe(3);
    expect(sample(text, 'caisson_engine_up', { host })).toBe(1);
  });
});
