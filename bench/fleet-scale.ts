// npm run bench:fleet: what a fleet costs Temporal and S3 per action, measured with many worker
// processes ("hosts", each with its own name and slots, sharing this machine's engine) against one
// dev server. Figures for docs/scale.md: placement latency (start → placed, queueing included),
// the server's CPU seconds per action (from /proc), history events and workflow tasks per action,
// and S3 requests per action (a counting proxy in front of MinIO for every worker), the fleet
// registry's own requests apart. BENCH_HOSTS, BENCH_SLOTS and BENCH_ACTIONS change the sizes.
import { readFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { ActionsClient } from '../client/index.js';
import { temporalSettingsFromEnv } from '../common/connection/temporal-connection.js';
import { CountingProxy } from '../harness/counting-proxy.js';
import { spawnWorker, type WorkerProcess } from '../harness/worker-process.js';
import { summarize } from './stats.js';

const smoke = process.env.BENCH_SMOKE === '1';
const hosts = Number(process.env.BENCH_HOSTS ?? (smoke ? 2 : 16));
const slots = Number(process.env.BENCH_SLOTS ?? 2);
const actions = Number(process.env.BENCH_ACTIONS ?? (smoke ? 6 : hosts * slots * 4));
const mode = process.env.BENCH_PLACEMENT ?? 'spread';
const image = process.env.TEST_IMAGE_BUSYBOX;
if (!image)
  throw new Error('run through "npm run bench:fleet" (it brings the environment up and sets TEST_IMAGE_BUSYBOX)');

/** The server's persistence requests so far, by operation (its Prometheus endpoint, TEMPORAL_METRICS_URL). */
async function persistenceRequests(): Promise<Map<string, number>> {
  const byOperation = new Map<string, number>();
  const url = process.env.TEMPORAL_METRICS_URL;
  if (!url) return byOperation;
  const text = await (await fetch(url)).text();
  for (const line of text.split('\n')) {
    if (!line.startsWith('persistence_requests{')) continue;
    const operation = /operation="([^"]+)"/.exec(line)?.[1] ?? '?';
    byOperation.set(operation, (byOperation.get(operation) ?? 0) + Number(line.slice(line.lastIndexOf(' ') + 1)));
  }
  return byOperation;
}

/** CPU seconds a process has used (user + system), from /proc/<pid>/stat. */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8')
    .replace(/^.*\) /s, '')
    .split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (100 Hz)
}

function temporalPid(): number {
  const home = process.env.CAISSON_DEV_HOME ?? `${process.env.HOME}/.caisson-dev`;
  return Number(readFileSync(`${home}/run/temporal.pid`, 'utf8').split('\n')[0]);
}

const endpoint = new URL(process.env.AWS_ENDPOINT_URL_S3!);
const s3 = new CountingProxy({ host: endpoint.hostname, port: Number(endpoint.port) });
const s3Address = await s3.start('tcp');
const taskQueue = `bench-fleet-${randomUUID()}`;
const workers: WorkerProcess[] = [];
const client = await ActionsClient.connect(temporalSettingsFromEnv(), taskQueue);
try {
  for (let i = 0; i < hosts; i++) {
    workers.push(
      spawnWorker(`fleet-${i}`, {
        CAISSON_TASK_QUEUE: taskQueue,
        CAISSON_HOST: `fleet-${String(i).padStart(3, '0')}`,
        CAISSON_CAPACITY: String(slots),
        AWS_ENDPOINT_URL_S3: s3Address,
        CAISSON_PLACEMENT: mode,
      }),
    );
  }
  await Promise.all(workers.map((w) => w.ready));
  // Warm-up: every host has the image, so pulls do not count.
  await Promise.all(
    Array.from({ length: hosts * slots }, async () =>
      (await client.start({ image, command: ['true'], timeout: '1m' })).result(),
    ),
  );
  s3.reset();
  const server = temporalPid();
  const cpuBefore = cpuSeconds(server);
  const persistenceBefore = await persistenceRequests();
  const began = Date.now();
  const handles = await Promise.all(
    Array.from({ length: actions }, () => client.start({ image, command: ['true'], timeout: '5m' })),
  );
  const results = await Promise.all(handles.map((h) => h.result()));
  const seconds = (Date.now() - began) / 1000;
  const cpu = cpuSeconds(server) - cpuBefore;
  const persistenceAfter = await persistenceRequests();
  const persistence = [...persistenceAfter]
    .map(([op, n]) => [op, (n - (persistenceBefore.get(op) ?? 0)) / actions] as const)
    .filter(([, n]) => n > 0);
  const persistenceTotal = persistence.reduce((sum, [, n]) => sum + n, 0);
  const failed = results.filter((r) => r.status !== 'DONE');
  if (failed.length) throw new Error(`${failed.length} actions did not end DONE: ${failed[0]!.message}`);
  const place = summarize(results.map((r) => r.timings.find((t) => t.step === 'place')?.ms ?? NaN));
  // History of a sample: events and workflow tasks per action.
  let events = 0;
  let tasks = 0;
  const sample = handles.slice(0, Math.min(10, handles.length));
  for (const h of sample) {
    const history = await client.client.workflow.getHandle(h.actionId).fetchHistory();
    events += history.events?.length ?? 0;
    tasks += (history.events ?? []).filter((e) => e.workflowTaskCompletedEventAttributes).length;
  }
  const registry = s3.requests.filter((r) => r.includes('.caisson-fleet')).length;
  const perAction = (s3.requests.length - registry) / actions;
  const hostsHosts = new Set(results.map((r) => r.host)).size;
  const lines = [
    `hosts ${hosts} × ${slots} slots (placement ${mode}), ${actions} trivial actions started at once; ${hostsHosts} hosts ran some`,
    `wall ${seconds.toFixed(1)} s → ${(actions / seconds).toFixed(1)} actions/s`,
    `placement (start → placed, queueing included): p50 ${place.p50.toFixed(0)} ms, p95 ${place.p95.toFixed(0)} ms`,
    `Temporal server CPU: ${cpu.toFixed(2)} s → ${((cpu / actions) * 1000).toFixed(1)} ms per action`,
    `history: ${(events / sample.length).toFixed(1)} events, ${(tasks / sample.length).toFixed(1)} workflow tasks per action`,
    persistence.length
      ? `persistence requests (server metrics): ${persistenceTotal.toFixed(1)} per action; ${persistence
          .sort((a, b) => b[1] - a[1])
          .slice(0, 6)
          .map(([op, n]) => `${op} ${n.toFixed(1)}`)
          .join(', ')}`
      : 'persistence requests: no TEMPORAL_METRICS_URL',
    `S3: ${perAction.toFixed(1)} requests per action; fleet registry ${(registry / seconds).toFixed(1)} requests/s for ${hosts} hosts`,
  ];
  const byKind: Record<string, number> = {};
  for (const r of s3.requests) {
    const kind = `${r.split(' ')[0]} ${r.includes('.caisson-fleet') ? 'registry' : 'object'}`;
    byKind[kind] = (byKind[kind] ?? 0) + 1;
  }
  lines.push(
    `S3 by kind: ${Object.entries(byKind)
      .map(([k, n]) => `${k} ${n}`)
      .join(', ')}`,
  );
  console.log(lines.join('\n'));
} finally {
  await client.close();
  await Promise.all(workers.map((w) => w.stop('SIGTERM')));
  await s3.stop();
}
