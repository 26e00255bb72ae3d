// npm run bench:arrays: an array of N trivial items (one start, children at most `parallelism` at
// once) against N single starts of the same action and `xargs -P4 docker run --rm`, all through
// one worker of capacity 4; also what the array's parent costs Temporal (runs, history events).
// Writes the "Arrays" section of bench/RESULTS.md (the rest of the file is npm run bench's).
// BENCH_ARRAY_ITEMS changes the size (2,000 by default; BENCH_SMOKE=1: 20).
import { readFileSync, writeFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { ActionsClient } from '../client/index.js';
import { temporalSettingsFromEnv } from '../common/connection/temporal-connection.js';
import { spawnWorker } from '../harness/worker-process.js';
import { benchThroughput, fasterBaseline } from './throughput.js';

const smoke = process.env.BENCH_SMOKE === '1';
const items = Number(process.env.BENCH_ARRAY_ITEMS ?? (smoke ? 20 : 2000));
const image = process.env.TEST_IMAGE_BUSYBOX;
if (!image)
  throw new Error('run through "npm run bench:arrays" (it brings the environment up and sets TEST_IMAGE_BUSYBOX)');

const taskQueue = `bench-arrays-${randomUUID()}`;
const worker = spawnWorker('bench-arrays', {
  CAISSON_TASK_QUEUE: taskQueue,
  CAISSON_HOST: 'bench-arrays',
  CAISSON_CAPACITY: '4',
});
await worker.ready;
const client = await ActionsClient.connect(temporalSettingsFromEnv(), taskQueue);
try {
  const singles = await benchThroughput(client, image, items);
  const baseline = fasterBaseline(singles); // plain docker run or --network none, whichever was faster here
  process.stdout.write(
    `${items} single starts: ${singles.caissonPerSecond.toFixed(2)}/s; xargs: ${baseline.toFixed(2)}/s\n`,
  );
  const started = performance.now();
  const handle = await client.startArray(
    { image, command: ['true'], timeout: '5m' },
    { count: items, parallelism: 8 },
    { actionId: `bench-array-${randomUUID()}` },
  );
  const result = await handle.result();
  const arraySeconds = (performance.now() - started) / 1000;
  if (result.byStatus.DONE !== items) throw new Error(`array: ${result.message}`);
  let runs = 0;
  let events = 0;
  for await (const w of client.client.workflow.list({ query: `WorkflowId = '${handle.actionId}'` })) {
    runs++;
    events += w.historyLength;
  }
  const perSecond = (n: number) => n.toFixed(2);
  const section = `## Arrays

${smoke ? '**Smoke run**: figures are not meaningful.\n\n' : ''}${items} trivial actions (\`true\`) through one worker of capacity 4, three ways: one array
(\`startArray({ count: ${items}, parallelism: 8 })\`: one start, its children started by the parent
workflow), ${items} single starts (\`ActionsClient.start\` each, 50 at a time, all queued in Temporal), and
\`seq ${items} | xargs -P4 docker run --rm\`. Date: ${new Date().toISOString()}.

| path | seconds | actions/s | vs xargs |
| --- | ---: | ---: | ---: |
| array of ${items} | ${arraySeconds.toFixed(1)} | ${perSecond(items / arraySeconds)} | ${((items / arraySeconds / baseline) * 100).toFixed(0)} % |
| ${items} single starts | ${(items / singles.caissonPerSecond).toFixed(1)} | ${perSecond(singles.caissonPerSecond)} | ${((singles.caissonPerSecond / baseline) * 100).toFixed(0)} % |
| xargs -P4 docker run --rm | ${(items / baseline).toFixed(1)} | ${perSecond(baseline)} | 100 % |

The array's parent ran as ${runs} workflow runs (continue-as-new every 500 children, or sooner where the server suggests it: the dev
server does past 1,000 events) with ${events} history
events in all (${(events / Math.max(runs, 1)).toFixed(0)} per run on average): its history never grows with the array.
Reproduce: \`npm run bench:arrays\` (\`BENCH_ARRAY_ITEMS=N\`).
`;
  process.stdout.write(section);
  if (!smoke) {
    const file = new URL('RESULTS.md', import.meta.url);
    const old = readFileSync(file, 'utf8');
    const at = old.indexOf('## Arrays');
    const next = at < 0 ? -1 : old.indexOf('\n## ', at + 1);
    writeFileSync(
      file,
      at < 0 ? `${old.trimEnd()}\n\n${section}` : `${old.slice(0, at)}${section}${next < 0 ? '' : old.slice(next + 1)}`,
    );
  }
} finally {
  await client.close();
  await worker.stop();
}
