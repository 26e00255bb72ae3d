// npm run bench: measures Caisson against its physical baselines on this machine and writes
// bench/RESULTS.md and bench/results.json. BENCH_SMOKE=1 runs tiny sizes (CI keeps it from rotting).
import { writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { randomUUID } from 'node:crypto';
import { ActionsClient } from '../client/index.js';
import { temporalSettingsFromEnv } from '../worker/temporal-connection.js';
import { dockerClient } from '../worker/docker.js';
import { spawnWorker } from '../test/support/worker-process.js';
import { benchLatency } from './latency.js';

const smoke = process.env.BENCH_SMOKE === '1';
const runs = Number(process.env.BENCH_RUNS ?? (smoke ? 3 : 30));
const image = process.env.TEST_IMAGE_BUSYBOX;
if (!image) throw new Error('run through "npm run bench" (it brings the environment up and sets TEST_IMAGE_BUSYBOX)');

const taskQueue = `bench-${randomUUID()}`;
const worker = spawnWorker('bench', { CAISSON_TASK_QUEUE: taskQueue, CAISSON_HOST: 'bench-host', CAISSON_CAPACITY: '4' });
await worker.ready;
const client = await ActionsClient.connect(temporalSettingsFromEnv(), taskQueue);
const docker = dockerClient(process.env.DOCKER_HOST);
try {
  const latency = await benchLatency(client, docker, image, runs);
  const overhead50 = latency.caisson.p50 - latency.dockerCli.p50;
  const ratio50 = latency.caisson.p50 / latency.dockerCli.p50;
  const ratio95 = latency.caisson.p95 / latency.dockerCli.p95;
  const dockerVersion = (await docker.version()).Version;
  const machine = `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}, Docker ${dockerVersion}`;
  const ms = (n: number) => `${n.toFixed(0)} ms`;
  const row = (name: string, s: { p50: number; p95: number; runs: number }) => `| ${name} | ${s.runs} | ${ms(s.p50)} | ${ms(s.p95)} |`;
  const report = `# Benchmark results

${smoke ? '**Smoke run** (tiny sizes): figures are not meaningful.\n\n' : ''}Machine: ${machine}. Date: ${new Date().toISOString()}.
Reproduce: \`npm run bench\` (\`BENCH_RUNS=N\` to change the number of runs).

## Latency of a trivial action

\`true\` in the busybox test image: Caisson end to end (client start → result: place, pull, run,
collect logs, write result.json, clean up) against \`docker run --rm\` of the same image.

| path | runs | p50 | p95 |
| --- | ---: | ---: | ---: |
${row('caisson (client start → result)', latency.caisson)}
${row('docker run --rm (CLI)', latency.dockerCli)}
${row('dockerode create/start/wait/remove', latency.dockerode)}

p50 overhead over the docker CLI: **${ms(overhead50)}**; ratio p50 **${ratio50.toFixed(2)}×**, p95 ${ratio95.toFixed(2)}×
(targets: overhead ≤ 150 ms, ratio ≤ 1.5: ${overhead50 <= 150 && ratio50 <= 1.5 ? 'met' : 'not met'}).
`;
  writeFileSync(new URL('RESULTS.md', import.meta.url), report);
  writeFileSync(new URL('results.json', import.meta.url), JSON.stringify({ machine, smoke, latency, overhead50, ratio50, ratio95 }, null, 2) + '\n');
  process.stdout.write(report);
} finally {
  await client.close();
  await worker.stop('SIGTERM');
}
