// Where the time of one trivial action (`true` in the busybox test image) goes, phase by phase from
// the client's start to the client holding the result, and what it costs Temporal (history events,
// workflow tasks) and S3 (requests by kind, counted by a proxy in front of MinIO). The phases come
// from the workflow's history, the result's step timings and the engine's own events, on one clock
// (worker, engine and client share this machine); each is a share of the same run's end-to-end time.
import { randomUUID } from 'node:crypto';
import type { temporal } from '@temporalio/proto';
import { ActionsClient } from '../client/index.js';
import { temporalSettingsFromEnv } from '../common/connection/temporal-connection.js';
import { LABEL } from '../activities/container/labels.js';
import type { ActionResult } from '../spec/result.js';
import { dockerClient } from '../worker/docker.js';
import { CountingProxy } from '../harness/counting-proxy.js';
import { spawnWorker } from '../harness/worker-process.js';
import { engineEvents } from '../test/support/engine-events.js';
import { percentile } from './stats.js';

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;

/** The instants of one run, in the order they happen; each phase runs from one to the next. */
const MARKS = [
  'client start',
  'workflow started',
  'first workflow task completed',
  'place scheduled',
  'place started',
  'place completed',
  'execute scheduled',
  'execute started',
  'image step began',
  'image step ended',
  'container created',
  'container started',
  'container exited',
  'collect began',
  'collect ended',
  'execute completed',
  'workflow completed',
  'client holds the result',
] as const;
type Mark = (typeof MARKS)[number];

/** What each phase (ending at a mark) is called in the table. */
const PHASE_NAMES: Record<Exclude<Mark, 'client start'>, string> = {
  'workflow started': 'client start → WorkflowExecutionStarted',
  'first workflow task completed': '→ first workflow task completed',
  'place scheduled': '→ place scheduled',
  'place started': 'place: scheduled → started (shared queue)',
  'place completed': 'place: started → completed',
  'execute scheduled': 'place completed → execute scheduled (workflow task)',
  'execute started': 'execute: scheduled → started (host queue)',
  'image step began': 'host: execute started → image step (gate, lookups)',
  'image step ended': 'host: image (`pull` step)',
  'container created': 'host: container create',
  'container started': 'host: container start',
  'container exited': 'host: container runs `true` until its exit',
  'collect began': 'host: exit noticed → collect (wait, outcome)',
  'collect ended': 'host: collect (logs, /out uploads)',
  'execute completed': 'host: result.json, execute completion reported',
  'workflow completed': 'execute completed → workflow completed',
  'client holds the result': 'workflow completed → client holds the result',
};

export interface PhasesResult {
  actions: number;
  /** p50 over the runs of each phase, ms, in order. */
  phases: { phase: string; p50Ms: number }[];
  /** p50 of client start → result. */
  totalP50Ms: number;
  historyEvents: { perAction: number; most: number };
  workflowTasks: { perAction: number; most: number };
  /** S3 requests per action by kind ("PUT result.json"), all of them and those between the exit and the result. */
  s3PerAction: number;
  s3ByKind: Record<string, number>;
  s3AfterExitPerAction: number;
  s3AfterExitByKind: Record<string, number>;
}

const ms = (t: temporal.api.history.v1.IHistoryEvent['eventTime']): number =>
  t ? Number(t.seconds ?? 0) * 1000 + (t.nanos ?? 0) / 1e6 : NaN;

/** An S3 request by what it touches: the object's role in the action's folder, or the bucket listing. */
function s3Kind(target: string): string {
  const [method = '', rest = ''] = target.split(' ', 2);
  const [path = '', query = ''] = rest.split('?', 2);
  if (method === 'GET' && /(^|&)list-type=/.test(query)) {
    return `LIST ${/prefix=[^&]*logs%2Flive/.test(query) ? 'live log' : 'other prefix'}`;
  }
  let key = 'other key';
  if (path.endsWith('/result.json')) key = 'result.json';
  else if (/\/logs\/live\/.*\/end\.json$/.test(path)) key = 'live log end.json';
  else if (/\/logs\/live\//.test(path)) key = 'live log segment';
  else if (/\/logs\/(attempt-\d+\/)?std(out|err)\.log$/.test(path))
    key = path.endsWith('stdout.log') ? 'stdout.log' : 'stderr.log';
  else if (/\/out\//.test(path)) key = '/out file';
  // The worker's own record in the fleet registry, rewritten as its slots fill and empty.
  else if (/\/\.caisson-fleet\/.*\.json$/.test(path)) key = 'host record';
  else if (/\/\.caisson-fleet\//.test(path)) key = 'drain marker';
  else if (path.split('/').filter(Boolean).length <= 1) key = 'bucket';
  const upload = /(^|&)(uploads|uploadId)=/.test(query) ? ' (multipart)' : '';
  return `${method} ${key}${upload}`;
}

export async function benchPhases(image: string, actions: number): Promise<PhasesResult> {
  const endpoint = new URL(process.env.AWS_ENDPOINT_URL_S3!);
  const proxy = new CountingProxy({ host: endpoint.hostname, port: Number(endpoint.port) });
  const address = await proxy.start('tcp');
  const taskQueue = `bench-phases-${randomUUID()}`;
  const worker = spawnWorker('bench-phases', {
    CAISSON_TASK_QUEUE: taskQueue,
    CAISSON_HOST: 'bench-phases',
    CAISSON_CAPACITY: '4',
    AWS_ENDPOINT_URL_S3: address,
  });
  const client = await ActionsClient.connect(temporalSettingsFromEnv(), taskQueue);
  const docker = dockerClient();
  try {
    await worker.ready;
    // One action first so the image is known to the host; it does not count.
    await (await client.start({ image, command: ['true'], timeout: '1m' })).result();
    await waitForQuiet(proxy);
    proxy.reset();
    const runs: { id: string; began: number; held: number; result: ActionResult }[] = [];
    for (let i = 0; i < actions; i++) {
      const began = Date.now();
      const handle = await client.start({ image, command: ['true'], timeout: '1m' });
      const result = await handle.result();
      const held = Date.now();
      if (result.status !== 'DONE') throw new Error(`trivial action ended ${result.status}: ${result.message}`);
      runs.push({ id: handle.actionId, began, held, result });
    }
    await waitForQuiet(proxy);
    const samples = new Map<Mark, number[]>();
    const events: number[] = [];
    const tasks: number[] = [];
    const all: string[] = [];
    const afterExit: string[] = [];
    for (const [i, run] of runs.entries()) {
      const history = (await client.client.workflow.getHandle(run.id).fetchHistory()).events ?? [];
      events.push(history.length);
      tasks.push(history.filter((e) => e.workflowTaskCompletedEventAttributes).length);
      const engine = await engineEvents(docker, run.began, [`${LABEL.actionId}=${run.id}`], ['create', 'start', 'die']);
      const at = marksOf(run, history, engine);
      let previous = at['client start'];
      for (const mark of MARKS.slice(1)) {
        samples.set(mark, [...(samples.get(mark) ?? []), at[mark] - previous]);
        previous = at[mark];
      }
      // This run's requests: from its start to the next one's (what follows its result belongs to it too).
      const until = runs[i + 1]?.began ?? Infinity;
      proxy.times.forEach((t, j) => {
        if (t < run.began || t >= until) return;
        all.push(proxy.targets[j]!);
        if (t >= at['container exited'] && t <= run.held) afterExit.push(proxy.targets[j]!);
      });
    }
    const phases = MARKS.slice(1).map((mark) => ({
      phase: PHASE_NAMES[mark as Exclude<Mark, 'client start'>],
      p50Ms: percentile(samples.get(mark) ?? [], 50),
    }));
    return {
      actions,
      phases,
      totalP50Ms: percentile(
        runs.map((r) => r.held - r.began),
        50,
      ),
      historyEvents: { perAction: mean(events), most: Math.max(...events) },
      workflowTasks: { perAction: mean(tasks), most: Math.max(...tasks) },
      s3PerAction: all.length / actions,
      s3ByKind: byKind(all, actions),
      s3AfterExitPerAction: afterExit.length / actions,
      s3AfterExitByKind: byKind(afterExit, actions),
    };
  } finally {
    await client.close();
    await worker.stop('SIGTERM');
    await proxy.stop();
  }
}

/** Every instant of one run, ms since the epoch. */
function marksOf(
  run: { began: number; held: number; result: ActionResult },
  history: HistoryEvent[],
  engine: { action: string; time: number }[],
): Record<Mark, number> {
  const find = (test: (e: HistoryEvent) => unknown, what: string) => {
    const event = history.find(test);
    if (!event) throw new Error(`no ${what} in the history of ${run.result.actionId}`);
    return event;
  };
  const scheduled = (name: string) =>
    find((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === name, `${name} scheduled`);
  const place = scheduled('place');
  const execute = scheduled('execute');
  const after = (
    kind: 'activityTaskStartedEventAttributes' | 'activityTaskCompletedEventAttributes',
    of: HistoryEvent,
  ) => ms(find((e) => Number(e[kind]?.scheduledEventId) === Number(of.eventId), `${kind} of ${of.eventId}`).eventTime);
  const step = (name: string) => {
    const t = run.result.timings.find((s) => s.step === name);
    if (!t) throw new Error(`no ${name} step in the result of ${run.result.actionId}`);
    return { began: Date.parse(t.startedAt), ended: Date.parse(t.startedAt) + t.ms };
  };
  const container = (action: string) => {
    const event = engine.find((e) => e.action === action);
    if (!event) throw new Error(`the engine recorded no ${action} for ${run.result.actionId}`);
    return event.time / 1e6;
  };
  return {
    'client start': run.began,
    'workflow started': ms(find((e) => e.workflowExecutionStartedEventAttributes, 'start').eventTime),
    'first workflow task completed': ms(find((e) => e.workflowTaskCompletedEventAttributes, 'task').eventTime),
    'place scheduled': ms(place.eventTime),
    'place started': after('activityTaskStartedEventAttributes', place),
    'place completed': after('activityTaskCompletedEventAttributes', place),
    'execute scheduled': ms(execute.eventTime),
    'execute started': after('activityTaskStartedEventAttributes', execute),
    'image step began': step('pull').began,
    'image step ended': step('pull').ended,
    'container created': container('create'),
    'container started': container('start'),
    'container exited': container('die'),
    'collect began': step('collect').began,
    'collect ended': step('collect').ended,
    'execute completed': after('activityTaskCompletedEventAttributes', execute),
    'workflow completed': ms(find((e) => e.workflowExecutionCompletedEventAttributes, 'completion').eventTime),
    'client holds the result': run.held,
  };
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

function byKind(targets: string[], actions: number): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const t of targets) counts[s3Kind(t)] = (counts[s3Kind(t)] ?? 0) + 1;
  return Object.fromEntries(
    Object.entries(counts)
      .sort(([, a], [, b]) => b - a)
      .map(([k, n]) => [k, Math.round((n / actions) * 10) / 10]),
  );
}

/** Until no request has passed for a moment: the live log's last writes may follow the result. */
async function waitForQuiet(proxy: CountingProxy): Promise<void> {
  for (let seen = -1, i = 0; seen !== proxy.requests.length && i < 50; i++) {
    seen = proxy.requests.length;
    await new Promise((resolve) => setTimeout(resolve, 300));
  }
}

/** The section "Where the time goes" of RESULTS.md. */
export function phasesSection(r: PhasesResult): string {
  const rows = r.phases
    .map((p) => `| ${p.phase} | ${p.p50Ms.toFixed(0)} | ${((100 * p.p50Ms) / r.totalP50Ms).toFixed(0)} % |`)
    .join('\n');
  const kinds = (k: Record<string, number>) =>
    Object.entries(k)
      .map(([kind, n]) => `\`${kind}\` ${n}`)
      .join(', ') || 'none';
  const eventsMet = r.historyEvents.most <= 14;
  const tasksMet = r.workflowTasks.most <= 2;
  return `## Where the time goes

${r.actions} trivial actions (\`true\` in the busybox test image), one after another, through a worker of their
own whose S3 endpoint is a counting proxy in front of MinIO. Each phase runs from one instant to the
next: the client's clock, the workflow history's event times, the result's step timings and the
engine's container events (all on this machine's clock). p50 over the runs, and its share of the p50
end to end (**${r.totalP50Ms.toFixed(0)} ms**, client start → result); p50s of phases need not add up to it.

| phase | p50 ms | share |
| --- | ---: | ---: |
${rows}

Temporal per action: **${r.historyEvents.perAction.toFixed(1)}** history events (most ${r.historyEvents.most}), **${r.workflowTasks.perAction.toFixed(1)}**
workflow tasks (most ${r.workflowTasks.most}). Target: at most 14 history events and 2 workflow tasks per
trivial action: ${eventsMet && tasksMet ? 'met' : 'not met'} (events ${eventsMet ? 'met' : 'not met'}, workflow tasks ${tasksMet ? 'met' : 'not met'}).

S3 per action: **${r.s3PerAction.toFixed(1)}** requests: ${kinds(r.s3ByKind)}.
Requests are the action's by time (from its start to the next one's), so the worker's own record in
the fleet registry (\`host record\`) counts where it fell.
Between the container's exit and the client holding the result: **${r.s3AfterExitPerAction.toFixed(1)}**: ${kinds(r.s3AfterExitByKind)}.

${gapSection(r)}`;
}

/** The phases that are Temporal's hand-offs, the host's own work, and the engine's. */
const TEMPORAL_MARKS: Mark[] = [
  'workflow started',
  'first workflow task completed',
  'place scheduled',
  'place started',
  'place completed',
  'execute scheduled',
  'execute started',
  'workflow completed',
  'client holds the result',
];
const ENGINE_MARKS: Mark[] = ['container created', 'container started', 'container exited'];
/** The hop from placement to the host's queue: what one activity per attempt would save. */
const PLACE_HOP_MARKS: Mark[] = ['place started', 'place completed', 'execute scheduled'];

/** Where the time beyond the engine's lies, summed from the phase table, and what would close it. */
function gapSection(r: PhasesResult): string {
  const sum = (marks: Mark[]) =>
    r.phases
      .filter((p) => marks.some((m) => PHASE_NAMES[m as Exclude<Mark, 'client start'>] === p.phase))
      .reduce((a, p) => a + p.p50Ms, 0);
  const temporal = sum(TEMPORAL_MARKS);
  const engine = sum(ENGINE_MARKS);
  const host = r.phases.reduce((a, p) => a + p.p50Ms, 0) - temporal - engine;
  const placeHop = sum(PLACE_HOP_MARKS);
  return `### The gap, by where it lies

Summed p50s of the table: **${temporal.toFixed(0)} ms** in Temporal's hand-offs (start, workflow
tasks, dispatch to the shared and the host queue, completion back to the client), **${host.toFixed(0)} ms**
of the host's own work around the container (gate and lookups, noticing the exit, reading the
logs, the uploads, result.json) and **${engine.toFixed(0)} ms** in the engine (create, start, the run of
\`true\`), which \`docker run\` pays too. The place hop (placement on the shared queue, then a
workflow task to dispatch \`execute\` to the host's queue) is **${placeHop.toFixed(0)} ms** of it, one
workflow task and six history events (three of \`place\`, three of the task): without removing it
the 14-event and 2-task targets cannot be met (with it: 15 events, 14 once the host's search
attribute is set with the final status). It means one activity per attempt taken from the shared queue
by a host with a free slot; its retries must then reach the host that may hold the container, so
the host has to be durably known before the container is made (today that is \`place\`'s result in
the history). Heartbeat details are not acknowledged, so they cannot be that record; the host's
entry in the fleet registry, written before the container is made and read by a retry that finds
no heartbeat, could be (one S3 PUT on the path, ~5 ms, against the hop's time). Not built yet:
until it is, the hop stays, and a container is still never started twice.
`;
}
