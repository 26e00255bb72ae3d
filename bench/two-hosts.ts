// Two hosts, each a worker with its own Docker engine, serving one task queue: actions spread
// over both, every step of a run on the engine of the host it was placed on, and the throughput
// against one host alone.
import { randomUUID } from 'node:crypto';
import type Docker from 'dockerode';
import { ActionsClient } from '../client/index.js';
import { LABEL } from '../activities/container/labels.js';
import { engineAt } from '../harness/engine.js';
import { startExtraDockerd, type ExtraDockerd } from '../harness/extra-dockerd.js';
import { registryAuth } from '../common/templates/registry-auth.js';
import { parseImageRef, pullReference } from '../spec/image.js';
import { temporalSettingsFromEnv } from '../common/connection/temporal-connection.js';
import { spawnWorker } from '../harness/worker-process.js';

export interface TwoHostsResult {
  actions: number;
  oneHostPerSecond: number;
  twoHostsPerSecond: number;
  perHost: Record<string, number>;
  affinityHeld: boolean;
  /** Runs whose container did not start exactly once, on their own host's engine. */
  mismatches: { runId: string; host: string; startsHere: number; startsThere: number }[];
}

/**
 * A second engine beside the dev environment's (harness/extra-dockerd.ts: own data root, exec root,
 * pid file and socket in a temp dir), with the image already pulled, as it is on the first engine,
 * so that neither host's throughput includes a pull.
 */
async function startSecondEngine(image: string, logDir: string): Promise<ExtraDockerd> {
  const second = await startExtraDockerd({ name: 'bench-b', logFile: `${logDir}/dockerd-b.log` });
  try {
    const ref = parseImageRef(image);
    if (!ref) throw new Error(`"${image}" is not an image reference`);
    const authconfig = await registryAuth(ref.registry, process.env.DOCKER_CONFIG);
    const stream = await second.engine.pull(pullReference(ref), authconfig ? { authconfig } : {});
    await new Promise<void>((resolve, reject) =>
      second.engine.modem.followProgress(stream, (err: Error | null) => (err ? reject(err) : resolve())),
    );
    return second;
  } catch (err) {
    await second.stop();
    throw err;
  }
}

/**
 * Counts container starts per run while it listens: the engine keeps only its last few hundred
 * events, so they are read as they happen, not looked up afterwards.
 */
async function listenForStarts(engine: Docker): Promise<{ starts: Map<string, number>; stop: () => void }> {
  const stream = (await engine.getEvents({
    filters: { type: ['container'], event: ['start'], label: [LABEL.runId] },
  })) as unknown as NodeJS.ReadableStream & { destroy: () => void };
  const starts = new Map<string, number>();
  let pending = '';
  stream.on('data', (chunk: Buffer) => {
    pending += chunk.toString();
    const lines = pending.split('\n');
    pending = lines.pop()!;
    for (const line of lines.filter(Boolean)) {
      const runId = JSON.parse(line).Actor?.Attributes?.[LABEL.runId] as string | undefined;
      if (runId) starts.set(runId, (starts.get(runId) ?? 0) + 1);
    }
  });
  stream.on('error', () => {});
  return { starts, stop: () => stream.destroy() };
}

async function runBatch(client: ActionsClient, image: string, actions: number) {
  const started = performance.now();
  const handles = await Promise.all(
    Array.from({ length: actions }, () => client.start({ image, command: ['true'], timeout: '5m' })),
  );
  const results = await Promise.all(handles.map((h) => h.result()));
  const seconds = (performance.now() - started) / 1000;
  if (results.some((r) => r.status !== 'DONE')) throw new Error('an action of the batch did not end DONE');
  return { results, perSecond: actions / seconds };
}

/** `_home` is no longer used: the second engine lives in a temp dir of its own, removed afterwards. */
export async function benchTwoHosts(
  image: string,
  actions: number,
  _home: string,
  logDir: string,
): Promise<TwoHostsResult> {
  const engineA = env('DOCKER_HOST');
  const second = await startSecondEngine(image, logDir);
  const workers: ReturnType<typeof spawnWorker>[] = [];
  try {
    const oneQueue = `bench-one-${randomUUID()}`;
    workers.push(
      spawnWorker('bench-one', {
        CAISSON_TASK_QUEUE: oneQueue,
        CAISSON_HOST: 'host-a',
        CAISSON_CAPACITY: '4',
        DOCKER_HOST: engineA,
      }),
    );
    await workers[0]!.ready;
    const one = await ActionsClient.connect(temporalSettingsFromEnv(), oneQueue);
    const oneHost = await runBatch(one, image, actions).finally(() => one.close());
    await workers.pop()!.stop();

    const queue = `bench-two-${randomUUID()}`;
    const hosts = { 'host-a': engineA, 'host-b': second.socketHost };
    const listeners = {
      'host-a': await listenForStarts(engineAt(engineA)),
      'host-b': await listenForStarts(second.engine),
    };
    for (const [name, dockerHost] of Object.entries(hosts)) {
      workers.push(
        spawnWorker(`bench-${name}`, {
          CAISSON_TASK_QUEUE: queue,
          CAISSON_HOST: name,
          CAISSON_CAPACITY: '4',
          DOCKER_HOST: dockerHost,
        }),
      );
    }
    await Promise.all(workers.map((w) => w.ready));
    const client = await ActionsClient.connect(temporalSettingsFromEnv(), queue);
    const two = await runBatch(client, image, actions).finally(() => client.close());
    await new Promise((r) => setTimeout(r, 500)); // the last events reach the listeners
    Object.values(listeners).forEach((l) => l.stop());
    const starts = { 'host-a': listeners['host-a'].starts, 'host-b': listeners['host-b'].starts };
    const perHost: Record<string, number> = { 'host-a': 0, 'host-b': 0 };
    const mismatches: TwoHostsResult['mismatches'] = [];
    for (const result of two.results) {
      const host = result.host as 'host-a' | 'host-b';
      perHost[host] = (perHost[host] ?? 0) + 1;
      const here = starts[host].get(result.runId) ?? 0;
      const there = starts[host === 'host-a' ? 'host-b' : 'host-a'].get(result.runId) ?? 0;
      // Its one container started on the engine of the host it was placed on, never on the other.
      if (here !== 1 || there !== 0)
        mismatches.push({ runId: result.runId, host, startsHere: here, startsThere: there });
    }
    return {
      actions,
      oneHostPerSecond: oneHost.perSecond,
      twoHostsPerSecond: two.perSecond,
      perHost,
      affinityHeld: mismatches.length === 0,
      mismatches,
    };
  } finally {
    await Promise.all(workers.map((w) => w.stop()));
    await second.stop();
  }
}

function env(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run through npm run bench`);
  return value;
}
