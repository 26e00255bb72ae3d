// How much one trivial action asks of the Docker engine and of Temporal: the engine API requests a
// worker makes (counted by a proxy in front of the engine's socket) and the events in the action's
// workflow history, against `docker run --rm` through the same proxy.
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import { ActionsClient } from '../client/index.js';
import { temporalSettingsFromEnv } from '../common/connection/temporal-connection.js';
import { CountingProxy } from '../harness/counting-proxy.js';
import { spawnWorker } from '../harness/worker-process.js';
import { percentile } from './stats.js';

const exec = promisify(execFile);
export interface ApiCallsResult {
  actions: number;
  /** Engine API requests per action, and by kind (method and path). */
  caissonPerAction: number;
  caissonByKind: Record<string, number>;
  dockerRunPerAction: number;
  historyEventsPerAction: number;
  /** Client start → result of those actions (through the proxy, one at a time), p50 in ms. */
  p50Ms: number;
}

/**
 * `plainPayloads`: the worker and the client without payload encryption, for comparing with a build
 * from before the codec existed (its worker cannot read encrypted payloads).
 */
export async function benchApiCalls(
  image: string,
  actions: number,
  workerEntry?: string,
  plainPayloads = false,
): Promise<ApiCallsResult> {
  const proxy = new CountingProxy({ socketPath: new URL(process.env.DOCKER_HOST!).pathname });
  const proxied = await proxy.start('unix');
  const taskQueue = `bench-calls-${randomUUID()}`;
  const plain: Record<string, string> = plainPayloads ? { CAISSON_CODEC_KEYS: '', CAISSON_CODEC_KEYS_FILE: '' } : {};
  const worker = spawnWorker(
    'bench-calls',
    {
      CAISSON_TASK_QUEUE: taskQueue,
      CAISSON_HOST: 'bench-calls',
      CAISSON_CAPACITY: '4',
      DOCKER_HOST: proxied,
      ...plain,
    },
    workerEntry,
  );
  const client = await ActionsClient.connect(
    { ...temporalSettingsFromEnv(), ...(plainPayloads ? { codecKeys: undefined } : {}) },
    taskQueue,
  );
  try {
    await worker.ready;
    // One action first so the image is known to the worker; its calls do not count.
    await (await client.start({ image, command: ['true'], timeout: '1m' })).result();
    // Settle: containers of the warm-up are removed after its result.
    await waitForQuiet(proxy);
    proxy.reset();
    let events = 0;
    const took: number[] = [];
    for (let i = 0; i < actions; i++) {
      const began = performance.now();
      const handle = await client.start({ image, command: ['true'], timeout: '1m' });
      const result = await handle.result();
      took.push(performance.now() - began);
      if (result.status !== 'DONE') throw new Error(`trivial action ended ${result.status}: ${result.message}`);
      events += (await client.client.workflow.getHandle(handle.actionId).fetchHistory()).events?.length ?? 0;
    }
    await waitForQuiet(proxy);
    const caisson = [...proxy.requests];
    proxy.reset();
    for (let i = 0; i < actions; i++) {
      await exec('docker', ['--host', proxied, 'run', '--rm', image, 'true'], {
        env: { ...process.env, DOCKER_CONFIG: process.env.DOCKER_CONFIG },
      });
    }
    const byKind: Record<string, number> = {};
    for (const r of caisson) byKind[r] = (byKind[r] ?? 0) + 1 / actions;
    return {
      actions,
      caissonPerAction: caisson.length / actions,
      caissonByKind: Object.fromEntries(Object.entries(byKind).map(([k, v]) => [k, Math.round(v * 10) / 10])),
      dockerRunPerAction: proxy.requests.length / actions,
      historyEventsPerAction: events / actions,
      p50Ms: percentile(took, 50),
    };
  } finally {
    await client.close();
    await worker.stop('SIGTERM');
    await proxy.stop();
  }
}

/** Until no request has passed for a moment: removals run just after an action's result. */
async function waitForQuiet(proxy: CountingProxy): Promise<void> {
  for (let seen = -1, i = 0; seen !== proxy.requests.length && i < 50; i++) {
    seen = proxy.requests.length;
    await new Promise((resolve) => setTimeout(resolve, 300));
  }
}
