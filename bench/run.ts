// npm run bench: measures Caisson against its physical baselines on this machine and writes
// bench/RESULTS.md and bench/results.json. BENCH_SMOKE=1 runs tiny sizes (CI keeps it from rotting).
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { randomUUID } from 'node:crypto';
import { ActionsClient } from '../client/index.js';
import { temporalSettingsFromEnv } from '../common/connection/temporal-connection.js';
import { dockerClient } from '../worker/docker.js';
import { spawnWorker } from '../harness/worker-process.js';
import { benchLatency } from './latency.js';
import { benchThroughput, fasterBaseline } from './throughput.js';
import { benchBigFile, benchManyFiles, type TransferResult } from './artifacts.js';
import { benchBigInput } from './inputs.js';
import { benchBigLog, benchLiveDelay } from './live-logs.js';
import { s3ClientFromEnv } from '../activities/store/artifact-store.js';
import { loadWorkerConfig } from '../worker/config.js';
import { benchTwoHosts } from './two-hosts.js';
import { benchApiCalls } from './api-calls.js';
import { benchPhases, phasesSection } from './phases.js';
import { benchCpuShare, cpuShareTable } from './cpu-share.js';
import { benchColdStart, coldStartSection, coldStartSizes } from './cold-start.js';
import { actStepSection, benchActStep } from './act-step.js';
import { barChart } from './charts.js';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const smoke = process.env.BENCH_SMOKE === '1';
const runs = Number(process.env.BENCH_RUNS ?? (smoke ? 3 : 30));
const sizes = smoke
  ? { actions: 8, bigFile: 8 << 20, files: 50, fileSize: 10_000, logBytes: 2 << 20, twoHostActions: 6 }
  : { actions: 100, bigFile: 1 << 30, files: 10_000, fileSize: 10_000, logBytes: 200 << 20, twoHostActions: 60 };
const image = process.env.TEST_IMAGE_BUSYBOX;
if (!image) throw new Error('run through "npm run bench" (it brings the environment up and sets TEST_IMAGE_BUSYBOX)');

const taskQueue = `bench-${randomUUID()}`;
const worker = spawnWorker('bench', {
  CAISSON_TASK_QUEUE: taskQueue,
  CAISSON_HOST: 'bench-host',
  CAISSON_CAPACITY: '4',
});
await worker.ready;
const client = await ActionsClient.connect(temporalSettingsFromEnv(), taskQueue);
const docker = dockerClient();
try {
  const latency = await benchLatency(client, docker, image, runs);
  // The same figures for another build's worker (an earlier commit's), when one is named: before/after.
  // BENCH_BEFORE_PLAIN=1: that build predates payload encryption, so both run without it.
  const beforeWorker = process.env.BENCH_BEFORE_WORKER;
  const plain = beforeWorker !== undefined && process.env.BENCH_BEFORE_PLAIN === '1';
  const calls = await benchApiCalls(image, smoke ? 3 : 20, undefined, plain);
  const before = beforeWorker ? await benchApiCalls(image, smoke ? 3 : 20, beforeWorker, plain) : undefined;
  const phases = await benchPhases(image, smoke ? 3 : 20);
  const throughput = await benchThroughput(client, image, sizes.actions);
  const coldStart = await benchColdStart(image, coldStartSizes(smoke));
  const cpu = await benchCpuShare(client, image, worker.process.pid!, smoke ? 8 : 60);
  const config = loadWorkerConfig();
  const s3 = s3ClientFromEnv(config);
  const pid = worker.process.pid!;
  const bigFile = await benchBigFile(client, s3, config.CAISSON_ARTIFACTS_BUCKET, image, pid, sizes.bigFile);
  const manyFiles = await benchManyFiles(
    client,
    s3,
    config.CAISSON_ARTIFACTS_BUCKET,
    image,
    pid,
    sizes.files,
    sizes.fileSize,
  );
  const logs = await benchBigLog(client, s3, image, pid, sizes.logBytes);
  const input = await benchBigInput(
    client,
    s3,
    config.CAISSON_ARTIFACTS_BUCKET,
    image,
    pid,
    sizes.bigFile,
    config.CAISSON_ARTIFACTS_PREFIX,
  );
  const delay = await benchLiveDelay(client, docker, image, smoke ? 10 : 80);
  const actStep = await benchActStep(image, taskQueue, smoke ? 1 : 10);
  // The dev environment's folder holds the first engine's socket; the second engine lives beside it.
  const devHome = dirname(dirname(new URL(process.env.DOCKER_HOST!).pathname));
  const logDir = fileURLToPath(new URL('../test-results/', import.meta.url));
  mkdirSync(logDir, { recursive: true });
  const twoHosts = await benchTwoHosts(image, sizes.twoHostActions, devHome, logDir);
  const twoHostRatio = twoHosts.twoHostsPerSecond / twoHosts.oneHostPerSecond;
  // Against the faster docker run of the two (plain, or --network none), whichever it was here.
  const fastest =
    latency.dockerCli.p50 <= latency.dockerCliNetworkNone.p50 ? latency.dockerCli : latency.dockerCliNetworkNone;
  const overhead50 = latency.caisson.p50 - fastest.p50;
  const ratio50 = latency.caisson.p50 / fastest.p50;
  const ratio95 = latency.caisson.p95 / fastest.p95;
  const dockerVersion = (await docker.version()).Version;
  const machine = `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}, Docker ${dockerVersion}`;
  const ms = (n: number) => `${n.toFixed(0)} ms`;
  const temporalServer =
    'the CLI dev server v1.5.1 on SQLite with journal_mode=wal, synchronous=normal, one partition per task queue (scripts/dev-env)';
  const mb = (n: number) => `${(n / 2 ** 20).toFixed(1)} MiB`;
  const throughputRatio = throughput.caissonPerSecond / fasterBaseline(throughput);
  const transferRow = (t: TransferResult, target: number) => {
    const ratio = t.baselineSeconds / t.caissonSeconds;
    const mbps = (secs: number) => `${(t.bytes / 2 ** 20 / secs).toFixed(1)} MiB/s`;
    return `| ${t.name} | ${mb(t.bytes)} | ${t.caissonSeconds.toFixed(2)} s (${mbps(t.caissonSeconds)}) | ${t.baselineSeconds.toFixed(2)} s (${mbps(t.baselineSeconds)}) | **${(ratio * 100).toFixed(0)} %** (target ≥ ${target} %: ${ratio * 100 >= target ? 'met' : 'not met'}) | ${mb(t.workerRssGrowthBytes)} (${t.workerRssGrowthBytes < 150 * 2 ** 20 ? 'under' : 'OVER'} 150 MiB) |`;
  };
  const row = (name: string, s: { p50: number; p95: number; runs: number }) =>
    `| ${name} | ${s.runs} | ${ms(s.p50)} | ${ms(s.p95)} |`;
  // A smoke run must not overwrite the figures of a real one.
  const out = smoke ? new URL('../test-results/', import.meta.url) : new URL('./', import.meta.url);
  const charts = {
    latency: barChart(
      'Trivial action, p50 (ms): lower is better',
      [
        { label: 'caisson (client start → result)', value: latency.caisson.p50, ours: true },
        { label: 'docker run --rm', value: latency.dockerCli.p50 },
        { label: 'docker run --rm --network none', value: latency.dockerCliNetworkNone.p50 },
      ],
      (v) => `${v.toFixed(0)} ms`,
    ),
    throughput: barChart(
      `${throughput.actions} trivial actions, capacity 4 (actions/s): higher is better`,
      [
        { label: 'caisson', value: throughput.caissonPerSecond, ours: true },
        { label: 'xargs -P4 docker run --rm', value: throughput.baselinePerSecond },
        { label: 'xargs -P4 docker run --rm --network none', value: throughput.networkNonePerSecond },
      ],
      (v) => v.toFixed(2),
    ),
    phases: barChart(
      "Where a trivial action's time goes (p50 ms per phase)",
      phases.phases.map((p) => ({ label: p.phase.replace(/^host: /, ''), value: p.p50Ms, ours: true })),
      (v) => `${v.toFixed(0)} ms`,
    ),
  };
  mkdirSync(new URL('charts/', out), { recursive: true });
  for (const [name, svg] of Object.entries(charts)) writeFileSync(new URL(`charts/${name}.svg`, out), svg);
  const report = `# Benchmark results

${smoke ? '**Smoke run** (tiny sizes): figures are not meaningful.\n\n' : ''}Machine: ${machine}. Date: ${new Date().toISOString()}.
Temporal: ${temporalServer}.
Reproduce: \`npm run bench\` (\`BENCH_RUNS=N\` to change the number of runs).

![Latency of a trivial action](charts/latency.svg)
![Throughput at capacity 4](charts/throughput.svg)

## Latency of a trivial action

\`true\` in the busybox test image: Caisson end to end (client start → result: place, pull, run,
collect logs, write result.json, clean up) against \`docker run --rm\` of the same image: plain, as a
user would type it (the action's container has the same isolation: the engine's networking off), and
with \`--network none\`, which makes the engine run its network hook. Ratios are against the faster.

| path | runs | p50 | p95 |
| --- | ---: | ---: | ---: |
${row('caisson (client start → result)', latency.caisson)}
${row('docker run --rm (CLI)', latency.dockerCli)}
${row('docker run --rm --network none (CLI)', latency.dockerCliNetworkNone)}
${row('dockerode create/start/wait/remove', latency.dockerode)}

p50 overhead over the faster docker CLI run: **${ms(overhead50)}**; ratio p50 **${ratio50.toFixed(2)}×**, p95 ${ratio95.toFixed(2)}×
(target: ratio ≤ 1.3: ${ratio50 <= 1.3 ? 'met' : 'not met'}).

## What one action asks of the engine and of Temporal

${calls.actions} trivial actions, one after another, through a worker whose engine socket is a
counting proxy; \`docker run --rm\` through the same proxy.${plain ? ' Payloads are not encrypted in this comparison (the earlier build has no codec).' : ''}

| per action | caisson | ${before ? `before (${process.env.BENCH_BEFORE_LABEL ?? beforeWorker}) | ` : ''}docker run --rm |
| --- | ---: | ${before ? '---: | ' : ''}---: |
| Docker API requests | ${calls.caissonPerAction.toFixed(1)} | ${before ? `${before.caissonPerAction.toFixed(1)} | ` : ''}${calls.dockerRunPerAction.toFixed(1)} |
| workflow history events | ${calls.historyEventsPerAction.toFixed(1)} | ${before ? `${before.historyEventsPerAction.toFixed(1)} | ` : ''}– |
| p50 start → result (through the proxy) | ${ms(calls.p50Ms)} | ${before ? `${ms(before.p50Ms)} | ` : ''}– |

Requests by kind (per action): ${Object.entries(calls.caissonByKind)
    .map(([k, v]) => `\`${k}\` ${v}`)
    .join(', ')}.${
    before
      ? `\nBefore: ${Object.entries(before.caissonByKind)
          .map(([k, v]) => `\`${k}\` ${v}`)
          .join(', ')}.`
      : ''
  }

![Where the time goes](charts/phases.svg)

${phasesSection(phases)}
## Throughput

${throughput.actions} trivial actions started at once against one worker of capacity 4, against
\`seq ${throughput.actions} | xargs -P4 docker run --rm\` of the same image, plain and with \`--network none\`.

| path | actions/s |
| --- | ---: |
| caisson | ${throughput.caissonPerSecond.toFixed(2)} |
| xargs -P4 docker run --rm | ${throughput.baselinePerSecond.toFixed(2)} |
| xargs -P4 docker run --rm --network none | ${throughput.networkNonePerSecond.toFixed(2)} |

Caisson reaches **${(throughputRatio * 100).toFixed(0)} %** of the faster baseline (target ≥ 80 %: ${throughputRatio >= 0.8 ? 'met' : 'not met'}).

### Where the CPU goes

${cpu.actions} more trivial actions each way, every process's CPU time read from /proc before and after
(user + system; "short-lived processes" is the rest of the machine's, from processes that started and
ended inside the window: docker CLIs, runc, mkfs). With ${cpus().length} cores, CPU per action bounds throughput.

${cpuShareTable(cpu)}

${coldStartSection(coldStart).trimEnd()}

## Artifacts and logs

Collect step (from the action's own step timings) against uploading the same bytes from the
host's disk to MinIO with @aws-sdk/lib-storage (16 files at a time); worker RSS growth sampled
every 50 ms over the whole action.

| /out | size | caisson collect | baseline upload | caisson vs baseline | worker RSS growth |
| --- | ---: | ---: | ---: | ---: | ---: |
${transferRow(bigFile, 80)}
${transferRow(manyFiles, 50)}

Logs: a container writing ${mb(logs.bytes)} to stdout (${logs.lines} lines): ${mb(logs.stored)} stored
(${logs.stored === logs.bytes ? 'all of it' : 'NOT all of it'}), collected in ${logs.collectSeconds.toFixed(2)} s, worker RSS growth
${mb(logs.workerRssGrowthBytes)} (${logs.workerRssGrowthBytes < 150 * 2 ** 20 ? 'under' : 'OVER'} 150 MiB) while it also shipped the live log.

## Inputs

One ${mb(input.bytes)} object staged into /in (\`inputs: [{ from: s3://…, to: /in/big.bin }]\`), against
downloading it to this machine's disk with the AWS SDK (one GetObject stream to a file). The
action's own \`inputs\` step: the first action on the host fetches the object into the host's
cache and copies it onto its disk; a second one copies it from the cache.

| | seconds | MiB/s |
| --- | ---: | ---: |
| SDK download to a file (baseline) | ${input.downloadSeconds.toFixed(2)} | ${(input.bytes / 2 ** 20 / input.downloadSeconds).toFixed(1)} |
| caisson \`inputs\` step, first on the host | ${input.coldSeconds.toFixed(2)} | ${(input.bytes / 2 ** 20 / input.coldSeconds).toFixed(1)} |
| caisson \`inputs\` step, from the host cache | ${input.warmSeconds.toFixed(2)} | ${(input.bytes / 2 ** 20 / input.warmSeconds).toFixed(1)} |

First staging at **${((input.downloadSeconds / input.coldSeconds) * 100).toFixed(0)} %** of the download's speed; the whole first
action took ${input.coldActionSeconds.toFixed(2)} s. Worker RSS growth during it: ${mb(input.workerRssGrowthBytes)}
(${input.workerRssGrowthBytes < 150 * 2 ** 20 ? 'under' : 'OVER'} 150 MiB: the object streams, it is never held).

## Live logs

The host ships the log to S3 in segments as it is written; followers read the segments.

Delay from the engine's timestamp of a line to its arrival (${delay.lines} lines, one every 137 ms, same container):

| follower | p50 | p95 |
| --- | ---: | ---: |
| \`ActionsClient.logs({ follow: true })\` (S3 segments) | ${ms(delay.caisson.p50)} | ${ms(delay.caisson.p95)} |
| \`docker logs -f\` of the same container (engine stream) | ${ms(delay.engine.p50)} | ${ms(delay.engine.p95)} |

The ${mb(logs.bytes)} log above, followed by \`caisson logs ID --follow\` from the start while the action ran:
${logs.followedLines} of ${logs.lines} lines printed, the CLI's peak RSS **${mb(logs.followerPeakRssBytes)}**.
Read again after the end: \`caisson logs ID\` in ${logs.followerSeconds.toFixed(2)} s (${(logs.bytes / 2 ** 20 / logs.followerSeconds).toFixed(1)} MiB/s)
against one GetObject of logs/stdout.log in ${logs.s3ReadSeconds.toFixed(2)} s (${(logs.bytes / 2 ** 20 / logs.s3ReadSeconds).toFixed(1)} MiB/s):
the follower reaches **${((100 * logs.s3ReadSeconds) / logs.followerSeconds).toFixed(0)} %** of a plain read.

${actStepSection(actStep)}
## Two hosts

Two workers (capacity 4 each), each with its own \`dockerd\` (separate data root, exec root, pid
file and socket), serving one task queue, against one of them alone; ${twoHosts.actions} trivial actions.

| setup | actions/s |
| --- | ---: |
| one host | ${twoHosts.oneHostPerSecond.toFixed(2)} |
| two hosts | ${twoHosts.twoHostsPerSecond.toFixed(2)} |

Two hosts reach **${twoHostRatio.toFixed(2)}×** one host's throughput; actions per host:
${Object.entries(twoHosts.perHost)
  .map(([h, n]) => `${h} ${n} (${((100 * n) / twoHosts.actions).toFixed(0)} %)`)
  .join(
    ', ',
  )} (target: each 40–60 %: ${Object.values(twoHosts.perHost).every((n) => n >= 0.4 * twoHosts.actions && n <= 0.6 * twoHosts.actions) ? 'met' : 'not met'}). Host affinity
${twoHosts.affinityHeld ? "**held for every run**: each run's one container started on the engine of the host it was placed on, and on no other" : `**BROKEN**: ${JSON.stringify(twoHosts.mismatches)}`}.
`;
  mkdirSync(out, { recursive: true });
  // The Arrays section is npm run bench:arrays's: kept as it is.
  const previous = smoke ? '' : readFileSync(new URL('RESULTS.md', out), 'utf8');
  const arrays = previous.indexOf('## Arrays');
  writeFileSync(
    new URL(smoke ? 'bench-smoke.md' : 'RESULTS.md', out),
    arrays < 0 ? report : `${report.trimEnd()}\n\n${previous.slice(arrays)}`,
  );
  writeFileSync(
    new URL(smoke ? 'bench-smoke.json' : 'results.json', out),
    JSON.stringify(
      {
        machine,
        smoke,
        temporalServer,
        latency,
        calls,
        before,
        phases,
        overhead50,
        ratio50,
        ratio95,
        throughput,
        coldStart,
        cpu,
        bigFile,
        manyFiles,
        logs,
        input,
        delay,
        actStep,
        twoHosts,
      },
      null,
      2,
    ) + '\n',
  );
  process.stdout.write(report);
  if (!twoHosts.affinityHeld) throw new Error('host affinity did not hold for every run of the two-host benchmark');
} finally {
  await client.close();
  await worker.stop('SIGTERM');
}
