// `caisson interlink-plugin` as interLink would use it, on the real stack: the quickstart with
// plain curl (a pod that sleeps then echoes FINISHED, and one deleted midway), a plugin killed
// mid-run and started again that still knows the pod, logs with the Kubernetes options, a pod of
// several containers as one action (and `caisson logs -c` on it), requests it must refuse, and
// schemathesis run against interLink's own published plugin spec.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { request } from 'node:http';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { CLI, caisson } from '../support/cli.js';
import { useSuiteWorker } from '../support/actions.js';
import { env } from '../support/env.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const SPEC = fileURLToPath(new URL('../fixtures/interlink/plugin-openapi.json', import.meta.url));
const TOKEN = `token-${randomUUID()}`;
const suite = useSuiteWorker();
const plugins: ChildProcess[] = [];

afterAll(async () => {
  for (const plugin of plugins) if (plugin.exitCode === null && plugin.signalCode === null) plugin.kill('SIGTERM');
  await Promise.all(
    plugins.map((p) =>
      p.exitCode === null && p.signalCode === null ? new Promise((r) => p.once('exit', r)) : undefined,
    ),
  );
});

/** The plugin as operators start it: the built CLI on a free loopback port, with a token. */
async function startPlugin(
  taskQueue = inject('taskQueue'),
): Promise<{ url: string; proc: ChildProcess; stderr: () => string }> {
  const proc = spawn(process.execPath, [CLI, 'interlink-plugin', '--port', '0'], {
    env: { ...process.env, CAISSON_TASK_QUEUE: taskQueue, CAISSON_INTERLINK_TOKEN: TOKEN },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  plugins.push(proc);
  let said = '';
  proc.stderr!.on('data', (chunk: Buffer) => (said += chunk.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    const check = () => {
      const match = /interLink plugin API on (http:\/\/[\d.]+:\d+)/.exec(said);
      if (match) resolve(match[1]!);
    };
    proc.stderr!.on('data', check);
    proc.once('exit', (code) => reject(new Error(`the plugin exited (${code}): ${said}`)));
  });
  return { url, proc, stderr: () => said };
}

/** A request as interLink's server sends it: JSON bodies on GET too (which fetch() refuses to send). */
function call(url: string, method: string, body: unknown, token = TOKEN): Promise<{ status: number; text: string }> {
  const data = Buffer.from(typeof body === 'string' ? body : JSON.stringify(body));
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method,
        headers: {
          'Content-Type': 'application/json',
          'Content-Length': data.length,
          ...(token ? { Authorization: `Bearer ${token}` } : {}),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(data);
  });
}

function podOf(uid: string, script: string) {
  return {
    metadata: { name: 'test-pod', namespace: 'default', uid },
    spec: {
      containers: [{ name: 'busyecho', image: env('TEST_IMAGE_BUSYBOX'), command: ['sh', '-c'], args: [script] }],
      terminationGracePeriodSeconds: 1,
    },
  };
}

type ContainerState = {
  waiting?: unknown;
  running?: { startedAt: string };
  terminated?: { exit_code: number; exitCode: number; reason: string };
};

async function stateOf(url: string, pod: unknown): Promise<ContainerState> {
  const { status, text } = await call(`${url}/status`, 'GET', [pod]);
  expect(status, text).toBe(200);
  return (JSON.parse(text) as { containers: { state: ContainerState }[] }[])[0]!.containers[0]!.state;
}

/** Polls /status (a condition, not a sleep) until the container is in that state. */
async function until(url: string, pod: unknown, wanted: keyof ContainerState, ms = 90_000): Promise<ContainerState> {
  let last: ContainerState | undefined;
  for (const deadline = Date.now() + ms; Date.now() < deadline; await new Promise((r) => setTimeout(r, 250))) {
    last = await stateOf(url, pod);
    if (last[wanted]) return last;
  }
  throw new Error(`the container did not reach ${wanted}: last ${JSON.stringify(last)}`);
}

function run(
  command: string,
  args: string[],
  extraEnv: Record<string, string>,
  timeout: number,
  cwd?: string,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      command,
      args,
      { env: { ...process.env, ...extraEnv }, timeout, maxBuffer: 64 << 20, cwd },
      (error, stdout, stderr) =>
        resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

describe('the interLink plugin API', () => {
  it('runs the quickstart with plain curl: sleep then echo FINISHED, and a second pod deleted midway', async () => {
    const { url } = await startPlugin();
    const script = `${ROOT}examples/interlink/quickstart.sh`;
    const finished = await run(
      'bash',
      [script, url, env('TEST_IMAGE_BUSYBOX')],
      { CAISSON_INTERLINK_TOKEN: TOKEN },
      180_000,
    );
    expect(finished.stderr).toBe('');
    expect(finished.code).toBe(0);
    expect(finished.stdout).toContain('status: running\n');
    expect(finished.stdout).toMatch(/"terminated":\{"exit_code":0,"exitCode":0,"reason":"Completed"/);
    expect(finished.stdout).toContain('logs:\nFINISHED\ndelete:');
    const uid = /uid: (\S+)/.exec(finished.stdout)![1]!;
    expect((await suite.client().attach(`pod-${uid}-busyecho`).result()).status).toBe('DONE');

    const cancelled = await run(
      'bash',
      [script, url, env('TEST_IMAGE_BUSYBOX'), 'cancel'],
      { CAISSON_INTERLINK_TOKEN: TOKEN },
      180_000,
    );
    expect(cancelled.stderr).toBe('');
    expect(cancelled.code).toBe(0);
    expect(cancelled.stdout).toMatch(/delete: "pod \S+: 1 running container\(s\) cancelled/);
    expect(cancelled.stdout).toMatch(/"terminated":\{"exit_code":137,"exitCode":137,"reason":"Canceled"/);
    expect(cancelled.stdout).not.toContain('FINISHED\n');
    const cancelledUid = /uid: (\S+)/.exec(cancelled.stdout)![1]!;
    const result = await suite.client().attach(`pod-${cancelledUid}-busyecho`).result();
    expect(result).toMatchObject({ status: 'CANCELED', reason: 'canceled' });
    // The host stopped and removed the container (useSuiteWorker checks nothing is left after each test).
  });

  it('answers for every pod after the plugin was killed mid-run and started again', async () => {
    const first = await startPlugin();
    const uid = randomUUID();
    const pod = podOf(uid, 'echo started; sleep 4; echo FINISHED');
    const created = await call(`${first.url}/create`, 'POST', { pod, container: [{ name: 'busyecho' }] });
    expect(created.status, created.text).toBe(200);
    expect(JSON.parse(created.text)).toEqual({
      pod_uid: uid,
      pod_jid: `pod-${uid}`,
      PodUID: uid,
      PodJID: `pod-${uid}`,
    });
    await until(first.url, pod, 'running');
    const runId = (await suite.client().client.workflow.getHandle(`pod-${uid}-busyecho`).describe()).runId;
    first.proc.kill('SIGKILL');
    await new Promise((r) => first.proc.once('exit', r));

    const second = await startPlugin();
    // Known at once, never NotFound: running, terminated, or (when the host's first heartbeat
    // still says it pulls) ContainerCreating.
    const state = await stateOf(second.url, pod);
    expect(state.running ?? state.terminated ?? state.waiting, JSON.stringify(state)).toBeDefined();
    expect((state.waiting as { reason?: string } | undefined)?.reason, JSON.stringify(state)).not.toBe('NotFound');
    const ended = await until(second.url, pod, 'terminated');
    expect(ended.terminated, JSON.stringify(ended.terminated)).toMatchObject({ exit_code: 0, reason: 'Completed' });
    const logs = await call(`${second.url}/getLogs`, 'GET', {
      namespace: 'default',
      pod_uid: uid,
      pod_name: 'test-pod',
      container_name: 'busyecho',
      opts: {},
    });
    expect(logs).toEqual({ status: 200, text: 'started\nFINISHED\n' });
    // Created again (interLink retrying after the restart): the same action, not a second run.
    const again = await call(`${second.url}/create`, 'POST', { pod, container: [{ name: 'busyecho' }] });
    expect(again.status, again.text).toBe(200);
    expect((await suite.client().client.workflow.getHandle(`pod-${uid}-busyecho`).describe()).runId).toBe(runId);
  });

  it('gives logs with tail, limit_bytes, timestamps, since and follow, in both spellings', async () => {
    const { url } = await startPlugin();
    const uid = randomUUID();
    const pod = podOf(uid, 'for i in 1 2 3 4 5; do echo line$i; sleep 0.3; done; echo oops >&2');
    expect((await call(`${url}/create`, 'POST', { pod, container: [{ name: 'busyecho' }] })).status).toBe(200);
    await until(url, pod, 'running');
    const request = (opts: Record<string, unknown>) => ({
      namespace: 'default',
      pod_uid: uid,
      pod_name: 'test-pod',
      container_name: 'busyecho',
      opts,
    });
    // Follow (the Go server's spelling): the response ends when the action has ended, with every line.
    const followed = await call(`${url}/getLogs`, 'GET', {
      Namespace: 'default',
      PodUID: uid,
      PodName: 'test-pod',
      ContainerName: 'busyecho',
      Opts: { Follow: true, SinceTime: '0001-01-01T00:00:00Z' },
    });
    expect(followed).toEqual({ status: 200, text: 'line1\nline2\nline3\nline4\nline5\noops\n' });
    await until(url, pod, 'terminated');
    expect((await call(`${url}/getLogs`, 'GET', request({ tail: 2 }))).text).toBe('line5\noops\n');
    expect((await call(`${url}/getLogs`, 'GET', request({ limit_bytes: 8 }))).text).toBe('line1\nli');
    const stamped = (await call(`${url}/getLogs`, 'GET', request({ timestamps: true, tail: 1 }))).text;
    expect(stamped).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z oops\n$/);
    expect(
      (await call(`${url}/getLogs`, 'GET', request({ since_time: new Date(Date.now() + 60_000).toISOString() }))).text,
    ).toBe('');
    const previous = await call(`${url}/getLogs`, 'GET', request({ previous: true }));
    expect(previous.status).toBe(422);
    expect(JSON.parse(previous.text)).toEqual({
      detail: [
        {
          loc: ['body', 'opts', 'previous'],
          msg: 'container "busyecho" has no previous run: it is on its first attempt',
          type: 'value_error',
        },
      ],
    });
  });

  it('runs a pod of two containers and an init container as one action, each with its status and log', async () => {
    const { url } = await startPlugin();
    const uid = randomUUID();
    const image = env('TEST_IMAGE_BUSYBOX');
    const pod = {
      metadata: { name: 'two-pod', namespace: 'default', uid },
      spec: {
        initContainers: [{ name: 'setup', image, command: ['sh', '-c', 'echo ready > /tmp_disk/flag'] }],
        containers: [
          // The first waits for the second to have started and ended (its file in /tmp_disk), so that it ran.
          {
            name: 'app',
            image,
            command: ['sh', '-c', 'until [ -e /tmp_disk/side ]; do sleep 0.1; done; cat /tmp_disk/flag; echo app done'],
          },
          {
            name: 'side',
            image,
            command: ['sh', '-c', 'echo from side; echo side err >&2; touch /tmp_disk/side; exit 3'],
          },
        ],
        terminationGracePeriodSeconds: 1,
      },
    };
    expect((await call(`${url}/create`, 'POST', { pod, container: [] })).status).toBe(200);
    await until(url, pod, 'terminated');
    const { text } = await call(`${url}/status`, 'GET', [pod]);
    type Listed = { name: string; state: ContainerState }[];
    const [status] = JSON.parse(text) as { containers: Listed; initContainers: Listed }[];
    const ends = (list: Listed) => list.map((c) => [c.name, c.state.terminated?.exitCode]);
    expect(ends(status!.containers)).toEqual([
      ['app', 0],
      ['side', 3],
    ]);
    expect(ends(status!.initContainers)).toEqual([['setup', 0]]);
    const logOf = (container_name: string) =>
      call(`${url}/getLogs`, 'GET', {
        namespace: 'default',
        pod_uid: uid,
        pod_name: 'two-pod',
        container_name,
        opts: {},
      });
    expect(await logOf('app')).toEqual({ status: 200, text: 'ready\napp done\n' });
    expect(await logOf('side')).toEqual({ status: 200, text: 'from side\nside err\n' });
    // The same pod from the CLI: the one action, and its second container's stored log.
    expect(await caisson('logs', `pod-${uid}`, '-c', 'side')).toEqual({
      code: 0,
      stdout: 'from side\n',
      stderr: 'side err\n',
    });
    const live = await caisson('logs', `pod-${uid}`, '-c', 'side', '--tail', '1');
    expect(live.code).not.toBe(0);
    expect(live.stderr).toMatch(/--tail: container "side" has no live log/);
  });

  it("makes a pod's labels and annotations its action's, and refuses a bad label by name", async () => {
    const { url } = await startPlugin();
    const uid = randomUUID();
    const base = podOf(uid, 'true');
    const labels = { run: uid.slice(0, 8), 'app.kubernetes.io/name': 'labels-test' };
    const annotations = { note: 'from a pod', 'interlink.eu/pod-ip': '' };
    const pod = { ...base, metadata: { ...base.metadata, labels, annotations } };
    const created = await call(`${url}/create`, 'POST', { pod, container: [{ name: 'busyecho' }] });
    expect(created.status, created.text).toBe(200);
    const client = suite.client();
    const actionId = `pod-${uid}-busyecho`;
    await expect
      .poll(async () => (await client.list({ labels })).map((a) => a.actionId), { timeout: 15_000, interval: 300 })
      .toEqual([actionId]);
    expect((await client.attach(actionId).result()).status).toBe('DONE');
    // interLink's own annotation describes the pod's handling: not copied.
    expect(await client.attach(actionId).status()).toMatchObject({ labels, annotations: { note: 'from a pod' } });

    const badUid = randomUUID();
    const badBase = podOf(badUid, 'true');
    const bad = { ...badBase, metadata: { ...badBase.metadata, labels: { run: 'x', 'bad label': 'y' } } };
    const refused = await call(`${url}/create`, 'POST', { pod: bad, container: [{ name: 'busyecho' }] });
    expect(refused.status).toBe(422);
    expect(JSON.parse(refused.text)).toEqual({
      detail: [
        {
          loc: ['body', 'pod', 'metadata', 'labels', 'bad label'],
          msg: expect.stringMatching(/^a label name is 1-63 letters/),
          type: 'value_error',
        },
      ],
    });
    await expect(client.client.workflow.getHandle(`pod-${badUid}-busyecho`).describe()).rejects.toThrow(/not found/i);
  });

  it('refuses what it must: no token, bad JSON, a pod it cannot run, an unknown pod; never a stack trace', async () => {
    const { url, stderr } = await startPlugin();
    const pod = podOf(randomUUID(), 'true');
    expect((await call(`${url}/status`, 'GET', [pod], '')).status).toBe(401);
    expect((await call(`${url}/status`, 'GET', [pod], 'wrong')).status).toBe(401);
    expect((await call(`${url}/create`, 'GET', {})).status).toBe(405);
    expect((await call(`${url}/nothing`, 'POST', {})).status).toBe(404);
    const broken = await call(`${url}/create`, 'POST', '{"pod": ');
    expect(broken.status).toBe(422);
    expect(JSON.parse(broken.text).detail[0]).toMatchObject({ loc: ['body'], type: 'json_invalid' });
    const unrunnable = { ...pod, spec: { containers: [{ name: 'x', image: 'not an image', command: ['true'] }] } };
    const refused = await call(`${url}/create`, 'POST', { pod: unrunnable, container: [] });
    expect(refused.status).toBe(422);
    expect(JSON.parse(refused.text).detail).toEqual([
      {
        loc: ['body', 'pod', 'spec', 'containers', 0, 'image'],
        msg: expect.stringMatching(/^not an image reference/),
        type: 'value_error',
      },
    ]);
    // A pod runs whole or not at all: a good first container is not started when the second is refused.
    const halfGood = podOf(randomUUID(), 'true');
    halfGood.spec.containers.push({ name: 'second', image: 'also not an image', command: ['true'], args: [] });
    const half = await call(`${url}/create`, 'POST', { pod: halfGood, container: [] });
    expect(half.status).toBe(422);
    expect(JSON.parse(half.text).detail).toEqual([
      {
        loc: ['body', 'pod', 'spec', 'containers', 1, 'image'],
        msg: expect.stringMatching(/^not an image reference/),
        type: 'value_error',
      },
    ]);
    expect((await stateOf(url, halfGood)).waiting).toMatchObject({ reason: 'NotFound' });
    // What a pod's other container cannot carry is refused by name, not dropped.
    const otherUser = podOf(randomUUID(), 'true');
    otherUser.spec.containers.push({ name: 'side', image: env('TEST_IMAGE_BUSYBOX'), command: ['true'], args: [] });
    Object.assign(otherUser.spec.containers[1]!, { securityContext: { runAsUser: 7 } });
    const user = await call(`${url}/create`, 'POST', { pod: otherUser, container: [] });
    expect(user.status).toBe(422);
    expect(JSON.parse(user.text).detail[0].loc).toEqual([
      'body',
      'pod',
      'spec',
      'containers',
      1,
      'security_context',
      'run_as_user',
    ]);
    const unknown = await call(`${url}/getLogs`, 'GET', {
      namespace: 'default',
      pod_uid: randomUUID(),
      pod_name: 'p',
      container_name: 'c',
      opts: {},
    });
    expect(unknown.status).toBe(422);
    expect((await stateOf(url, pod)).waiting).toMatchObject({ reason: 'NotFound' });
    for (const text of [broken.text, refused.text, unknown.text, stderr()]) expect(text).not.toMatch(/\n\s+at /);
  });

  it("meets interLink's own published plugin spec under schemathesis", async () => {
    // A queue no worker polls: whatever the fuzzer manages to create is never pulled or run.
    const taskQueue = `interlink-fuzz-${randomUUID()}`;
    const { url } = await startPlugin(taskQueue);
    // positive_data_acceptance is left out: the spec's schema takes any string as an image and a
    // null uid, which no runner can run or find; every other check, negative data included, runs.
    const fuzz = await run(
      env('SCHEMATHESIS_BIN'),
      [
        'run',
        SPEC,
        '--url',
        url,
        '-H',
        `Authorization: Bearer ${TOKEN}`,
        '--checks',
        'all',
        '--exclude-checks',
        'positive_data_acceptance',
        '--max-examples',
        '25',
        '--workers',
        '1',
        '--seed',
        '1',
        '--no-color',
      ],
      { SCHEMATHESIS_TELEMETRY: 'false' },
      300_000,
      // Its example database and reports go to a folder of their own, not into the checkout.
      mkdtempSync(join(tmpdir(), 'caisson-schemathesis-')),
    );
    expect(fuzz.code, fuzz.stdout + fuzz.stderr).toBe(0);
    expect(fuzz.stdout).toMatch(/4 selected \/ 4 total/);
    expect(fuzz.stdout).toMatch(/\d+ generated, \d+ passed/);
    // Anything it did create is ended, so the queue leaves nothing behind.
    for await (const w of suite
      .client()
      .client.workflow.list({ query: `TaskQueue = '${taskQueue}' AND ExecutionStatus = 'Running'` })) {
      await suite.client().client.workflow.getHandle(w.workflowId).terminate('interLink conformance run over');
    }
  }, 360_000);
});
