// Cold start: the first run of an image the engine has never seen (a fresh multi-layer image of
// incompressible data, pushed to the test registry and removed from the engine), Caisson end to end
// (client start → result) against `docker pull IMAGE && docker run --rm IMAGE true` on the same
// engine the worker uses. Then several actions of one fresh image at once on one worker: how many
// pulls the engine saw (a counting proxy in front of its socket), against the one a user would make.
// Standalone: `npx tsx bench/cold-start.ts` (BENCH_SMOKE=1 for tiny sizes) prints its section.
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { ActionsClient } from '../client/index.js';
import { temporalSettingsFromEnv } from '../common/connection/temporal-connection.js';
import { CountingProxy } from '../harness/counting-proxy.js';
import { spawnWorker } from '../harness/worker-process.js';
import { summarize, type Summary } from './stats.js';

const exec = promisify(execFile);

export interface ColdStartSizes {
  /** Layers of fresh random data on top of the base image, and the bytes of each. */
  layers: number;
  layerBytes: number;
  /** Measurements of each path, alternating which goes first. */
  rounds: number;
  /** Actions of one fresh image started at once (the worker has as many slots). */
  concurrent: number;
}

/** ~200 MiB in 4 layers and 5 rounds; a smoke run 2 MiB in 2 layers, 2 rounds, only to keep the code running. */
export function coldStartSizes(smoke: boolean): ColdStartSizes {
  return smoke
    ? { layers: 2, layerBytes: 1 << 20, rounds: 2, concurrent: 4 }
    : { layers: 4, layerBytes: 50 << 20, rounds: 5, concurrent: 8 };
}

export interface ColdStartResult {
  layers: number;
  imageBytes: number;
  /** `docker pull` then `docker run --rm … true`, whole and by part (ms). */
  baseline: Summary;
  baselinePull: Summary;
  baselineRun: Summary;
  /** Client start → result of an action of the fresh image, and its own `pull` step (ms). */
  caisson: Summary;
  caissonPull: Summary;
  ratio50: number;
  concurrent: { actions: number; pulls: number; seconds: number };
}

/** The docker CLI against the engine DOCKER_HOST names (the worker's), with the registry's credentials. */
async function docker(args: string[], input?: string): Promise<string> {
  const running = exec('docker', args, { maxBuffer: 16 << 20 });
  if (input !== undefined) running.child.stdin!.end(input);
  return (await running).stdout;
}

/**
 * A fresh image in the test registry and not on the engine: its layers are new random bytes (a
 * build with no cache, so nothing is shared with any earlier image but the base), so the next run
 * of it must download every one of them.
 */
async function freshImage(base: string, sizes: ColdStartSizes, made: string[]): Promise<string> {
  const tag = `${process.env.TEST_REGISTRY}/caisson/cold-start:${randomUUID().slice(0, 12)}`;
  made.push(tag);
  const dockerfile = [
    `FROM ${base}`,
    ...Array.from({ length: sizes.layers }, (_, i) => `RUN head -c ${sizes.layerBytes} /dev/urandom > /layer-${i}`),
  ].join('\n');
  await docker(['build', '--no-cache', '--quiet', '--tag', tag, '-'], dockerfile);
  await docker(['push', '--quiet', tag]);
  await docker(['rmi', tag]);
  return tag;
}

/** A worker of its own for the bench (on the engine `dockerHost`, when given) and a client of its queue. */
async function startWorker(name: string, capacity: number, dockerHost?: string) {
  const taskQueue = `bench-${name}-${randomUUID()}`;
  const worker = spawnWorker(name, {
    CAISSON_TASK_QUEUE: taskQueue,
    CAISSON_HOST: name,
    CAISSON_CAPACITY: String(capacity),
    ...(dockerHost ? { DOCKER_HOST: dockerHost } : {}),
  });
  await worker.ready;
  const client = await ActionsClient.connect(temporalSettingsFromEnv(), taskQueue);
  return {
    client,
    async stop() {
      await client.close();
      await worker.stop('SIGTERM');
    },
  };
}

async function runAction(client: ActionsClient, image: string) {
  const result = await (await client.start({ image, command: ['true'], timeout: '10m' })).result();
  if (result.status !== 'DONE') throw new Error(`action of ${image} ended ${result.status}: ${result.message}`);
  return result;
}

export async function benchColdStart(base: string, sizes: ColdStartSizes): Promise<ColdStartResult> {
  const made: string[] = [];
  const samples = { baseline: [] as number[], pull: [] as number[], run: [] as number[] };
  const caisson = { total: [] as number[], pull: [] as number[] };
  let concurrent: ColdStartResult['concurrent'];
  const timed = await startWorker('bench-cold', sizes.concurrent);
  try {
    // Warm both paths on an image already present, so that neither first run pays for starting up.
    await runAction(timed.client, base);
    await docker(['run', '--rm', base, 'true']);
    const viaDocker = async (tag: string) => {
      const began = performance.now();
      const pulled = await docker(['pull', tag]);
      const between = performance.now();
      await docker(['run', '--rm', tag, 'true']);
      const ended = performance.now();
      // Every layer of ours was downloaded (the base's may be there already): the pull was cold.
      const complete = pulled.match(/Pull complete/g)?.length ?? 0;
      if (complete < sizes.layers)
        throw new Error(`docker pull ${tag} downloaded ${complete} of ${sizes.layers} layers:\n${pulled}`);
      samples.pull.push(between - began);
      samples.run.push(ended - between);
      samples.baseline.push(ended - began);
    };
    const viaCaisson = async (tag: string) => {
      const began = performance.now();
      const result = await runAction(timed.client, tag);
      caisson.total.push(performance.now() - began);
      caisson.pull.push(result.timings.find((t) => t.step === 'pull')?.ms ?? NaN);
    };
    for (let round = 0; round < sizes.rounds; round++) {
      // Both images made before either is timed, and the order alternated: drift weighs on both alike.
      const forDocker = await freshImage(base, sizes, made);
      const forCaisson = await freshImage(base, sizes, made);
      if (round % 2 === 0) {
        await viaDocker(forDocker);
        await viaCaisson(forCaisson);
      } else {
        await viaCaisson(forCaisson);
        await viaDocker(forDocker);
      }
      await docker(['rmi', forDocker, forCaisson]);
    }
  } finally {
    await timed.stop();
  }
  // The engine behind a counting proxy for this worker alone: every pull it is asked for is seen.
  const proxy = new CountingProxy({ socketPath: new URL(process.env.DOCKER_HOST!).pathname });
  const proxied = await proxy.start('unix');
  try {
    const counted = await startWorker('bench-cold-many', sizes.concurrent, proxied);
    try {
      const tag = await freshImage(base, sizes, made);
      const [repository, version] = [tag.slice(0, tag.lastIndexOf(':')), tag.slice(tag.lastIndexOf(':') + 1)];
      proxy.reset();
      const began = performance.now();
      await Promise.all(Array.from({ length: sizes.concurrent }, () => runAction(counted.client, tag)));
      const seconds = (performance.now() - began) / 1000;
      // Pulls of this image only (fromImage and tag in the query), not of anything else the worker uses.
      const pulls = proxy.targets.filter((t) => {
        if (!t.startsWith('POST /images/create?')) return false;
        const query = new URLSearchParams(t.slice(t.indexOf('?') + 1));
        const from = query.get('fromImage') ?? '';
        return from === tag || (from === repository && query.get('tag') === version);
      }).length;
      concurrent = { actions: sizes.concurrent, pulls, seconds };
    } finally {
      await counted.stop();
    }
  } finally {
    await proxy.stop();
    // Every tag made leaves the engine (the registry's blobs may stay); some are gone already.
    await docker(['rmi', '--force', ...made]).catch(() => undefined);
  }
  const baseline = summarize(samples.baseline);
  const caissonSummary = summarize(caisson.total);
  return {
    layers: sizes.layers,
    imageBytes: sizes.layers * sizes.layerBytes,
    baseline,
    baselinePull: summarize(samples.pull),
    baselineRun: summarize(samples.run),
    caisson: caissonSummary,
    caissonPull: summarize(caisson.pull),
    ratio50: caissonSummary.p50 / baseline.p50,
    concurrent,
  };
}

export function coldStartSection(r: ColdStartResult): string {
  const ms = (n: number) => `${n.toFixed(0)} ms`;
  const row = (name: string, s: Summary) => `| ${name} | ${s.runs} | ${ms(s.p50)} | ${ms(s.p95)} |`;
  const mib = (r.imageBytes / 2 ** 20).toFixed(0);
  return `## Cold start

The first run of an image the engine has never seen: a fresh image per measurement (${r.layers} layers
of ${mib} MiB of random bytes in all on the busybox test image, built without cache, pushed to the
test registry, removed from the engine), \`true\` in it. Caisson end to end (client start → result,
the pull included) against \`docker pull IMAGE && docker run --rm IMAGE true\` on the same engine,
alternating which goes first.

| path | runs | p50 | p95 |
| --- | ---: | ---: | ---: |
${row('caisson (client start → result)', r.caisson)}
${row('— its pull step', r.caissonPull)}
${row('docker pull && docker run --rm (baseline)', r.baseline)}
${row('— docker pull', r.baselinePull)}
${row('— docker run --rm', r.baselineRun)}

Ratio p50 **${r.ratio50.toFixed(2)}×** (target ≤ 1.1× pull + run: ${r.ratio50 <= 1.1 ? 'met' : 'not met'}).

${r.concurrent.actions} actions of one fresh image started at once on a worker of ${r.concurrent.actions} slots, its
engine behind a counting proxy: the engine was asked for **${r.concurrent.pulls}** pull${r.concurrent.pulls === 1 ? '' : 's'} of it (\`POST /images/create\`;
target exactly one: ${r.concurrent.pulls === 1 ? 'met' : 'not met'}); all ${r.concurrent.actions} ended in ${r.concurrent.seconds.toFixed(1)} s.
`;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const image = process.env.TEST_IMAGE_BUSYBOX;
  if (!image) throw new Error('source the environment first (scripts/dev-env env sets TEST_IMAGE_BUSYBOX)');
  const result = await benchColdStart(image, coldStartSizes(process.env.BENCH_SMOKE === '1'));
  process.stdout.write(coldStartSection(result));
}
