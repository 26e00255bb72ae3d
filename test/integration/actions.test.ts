// The action lifecycle end to end: the client starts the workflow, the real worker pulls from the
// real registry, runs on the real engine and uploads to the real MinIO.
import { execFile } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { existsSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { WorkflowFailedError } from '@temporalio/client';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { ActionConflictError, InvalidSpecError, type ActionsClient } from '../../client/index.js';
import { WORKFLOW_TYPE } from '../../spec/workflow-api.js';
import { MAX_INPUT_BYTES } from '../../spec/action.js';
import {
  busybox,
  connectClient,
  expectNoLeftovers,
  keepHistory,
  leftovers,
  workerOfItsOwn,
} from '../support/actions.js';
import { SCRIPTS } from '../support/granted.js';
import { docker, env, objectDigest, objectText, s3 } from '../support/env.js';

const run = promisify(execFile);
let client: ActionsClient;
let volumesBefore: string[];

beforeAll(async () => {
  client = await connectClient();
  volumesBefore = (await leftovers()).volumes;
});
afterAll(async () => client.close());
afterEach(async () => {
  // Every outcome ends with the container and its volumes removed.
  await expectNoLeftovers();
  const left = await leftovers();
  expect(left.volumes.filter((v) => !volumesBefore.includes(v))).toEqual([]);
});

const workflowStatus = async (actionId: string) =>
  (await client.client.workflow.getHandle(actionId).describe()).status.name;

/** sha256 of `yes 0123456789abcdef | head -c size`, computed here without holding it whole. */
function patternDigest(size: number): string {
  const line = Buffer.from('0123456789abcdef\n');
  const block = Buffer.concat(Array.from({ length: 4096 }, () => line));
  const hash = createHash('sha256');
  let left = size;
  while (left > 0) {
    const piece = block.subarray(0, Math.min(block.length, left));
    hash.update(piece);
    left -= piece.length;
  }
  return hash.digest('hex');
}

/** Whether this host's kernel accounts swap per cgroup (v1: memsw files; v2: memory.swap.max in child groups). */
function hostAccountsSwap(): boolean {
  if (existsSync('/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes')) return true;
  if (!existsSync('/sys/fs/cgroup/cgroup.controllers')) return false;
  return readdirSync('/sys/fs/cgroup', { withFileTypes: true }).some(
    (d) => d.isDirectory() && existsSync(`/sys/fs/cgroup/${d.name}/memory.swap.max`),
  );
}

describe('an action that exits 0', () => {
  it('is DONE with every file of /out in S3, byte for byte, and its logs and result.json', async () => {
    const big = 200 * 2 ** 20;
    const script = [
      'mkdir -p /out/deep/er/still && echo nested > /out/deep/er/still/n.txt',
      "printf '\\000\\001\\002\\377\\376' > /out/bin.dat",
      ': > /out/empty',
      "echo 'grüße' > '/out/grüße-ñ.txt'",
      `yes 0123456789abcdef | head -c ${big} > /out/big.bin`,
      'echo to-stdout; echo to-stderr >&2',
    ].join(' && ');
    const handle = await client.start(busybox(script, { resources: { memory: '256Mi' } }));
    const result = await handle.result();
    expect(result).toMatchObject({ status: 'DONE', exitCode: 0, reason: 'exit', host: inject('workerHost') });
    expect(result.imageDigest).toMatch(/^sha256:[0-9a-f]{64}$/);
    // One host activity does pull, run and collect; result.json is written by it, the container removed after.
    expect(result.timings.map((t) => t.step)).toEqual(['place', 'pull', 'run', 'collect']);

    const byPath = Object.fromEntries(result.artifacts.map((a) => [a.path, a]));
    expect(Object.keys(byPath).sort()).toEqual(
      ['big.bin', 'bin.dat', 'deep/er/still/n.txt', 'empty', 'grüße-ñ.txt'].sort(),
    );
    const store = s3();
    expect(await objectText(store, byPath['deep/er/still/n.txt']!.uri)).toBe('nested\n');
    expect(await objectText(store, byPath['grüße-ñ.txt']!.uri)).toBe('grüße\n');
    expect(await objectDigest(store, byPath['bin.dat']!.uri)).toEqual({
      sha256: createHash('sha256')
        .update(Buffer.from([0, 1, 2, 255, 254]))
        .digest('hex'),
      size: 5,
    });
    expect((await objectDigest(store, byPath['empty']!.uri)).size).toBe(0);
    expect(byPath['big.bin']!.size).toBe(big);
    expect(await objectDigest(store, byPath['big.bin']!.uri)).toEqual({ sha256: patternDigest(big), size: big });

    expect(await objectText(store, result.logs!.stdout)).toBe('to-stdout\n');
    expect(await objectText(store, result.logs!.stderr)).toBe('to-stderr\n');
    const stored = JSON.parse(await objectText(store, result.resultUri!));
    expect(stored).toMatchObject({ actionId: handle.actionId, status: 'DONE', artifactTotals: { files: 5 } });
    expect(await workflowStatus(handle.actionId)).toBe('COMPLETED');
    keepHistory('done', handle);
  });

  it('runs with the limits and least privilege: cgroup limits, no capabilities, no new privileges, no network', async () => {
    // cgroup v1 (this machine) and v2 (GitHub's runners, current distributions) name the limits apart:
    // the script reads whichever the container sees and prints one shape.
    const script = [
      'if [ -f /sys/fs/cgroup/cgroup.controllers ]; then',
      '  v=2; memory=$(cat /sys/fs/cgroup/memory.max); swap=$(cat /sys/fs/cgroup/memory.swap.max 2>/dev/null || echo -1);',
      '  [ "$swap" = -1 ] || swap=$((memory + swap)); read quota period < /sys/fs/cgroup/cpu.max; pids=$(cat /sys/fs/cgroup/pids.max);',
      'else',
      '  v=1; memory=$(cat /sys/fs/cgroup/memory/memory.limit_in_bytes); swap=$(cat /sys/fs/cgroup/memory/memory.memsw.limit_in_bytes 2>/dev/null || echo -1);',
      '  quota=$(cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us); period=$(cat /sys/fs/cgroup/cpu/cpu.cfs_period_us); pids=$(cat /sys/fs/cgroup/pids/pids.max);',
      'fi;',
      'echo "{\\"cgroup\\": $v, \\"memory\\": $memory, \\"memoryAndSwap\\": $swap, \\"quota\\": $quota, \\"period\\": $period, \\"pids\\": $pids,',
      '\\"capEff\\": \\"$(grep CapEff /proc/self/status | cut -f2)\\", \\"noNewPrivs\\": $(grep NoNewPrivs /proc/self/status | cut -f2),',
      '\\"interfaces\\": \\"$(ls /sys/class/net | tr "\\n" " ")\\", \\"actionId\\": \\"$ACTION_ID\\", \\"attempt\\": $ACTION_ATTEMPT,',
      '\\"artifacts\\": \\"$ACTION_ARTIFACTS\\"}"',
    ].join(' ');
    const handle = await client.start(
      busybox(script, { output: 'json', resources: { memory: '64Mi', cpu: '500m', pids: 50 } }),
    );
    const result = await handle.result();
    expect(result.status).toBe('DONE');
    expect(result.output).toEqual({
      cgroup: expect.toSatisfy((v: number) => v === 1 || v === 2),
      memory: 64 * 2 ** 20,
      // Memory plus swap equals memory: no swap to escape the limit (-1 only where this host's
      // kernel keeps no swap accounting, as its own cgroup files show).
      memoryAndSwap: hostAccountsSwap() ? 64 * 2 ** 20 : -1,
      quota: 50_000,
      period: 100_000,
      pids: 50,
      capEff: '0000000000000000',
      noNewPrivs: 1,
      interfaces: 'lo ',
      actionId: handle.actionId,
      attempt: 1,
      artifacts: `s3://${env('CAISSON_ARTIFACTS_BUCKET')}/actions/${handle.actionId}/`,
    });
  });

  it('without a network a container still has loopback and a read-only /etc/hosts naming localhost', async () => {
    // The engine is told the container has no network (it then sets up no sandbox and writes no
    // hosts file); the worker's hosts file stands in for the engine's.
    const script = [
      'ip addr show lo | grep -q "inet 127.0.0.1" && ip link show lo | grep -q ",UP" && echo loopback-up;',
      'grep -E "^127\\.0\\.0\\.1[[:space:]]+localhost" /etc/hosts && echo hosts-ok;',
      '(echo "1.2.3.4 evil" >> /etc/hosts) 2>/dev/null || echo hosts-read-only;',
    ].join(' ');
    const result = await (await client.start(busybox(script))).result();
    expect(result.status).toBe('DONE');
    expect(result.logTail).toEqual(['loopback-up', '127.0.0.1\tlocalhost', 'hosts-ok', 'hosts-read-only']);
  });

  it('feeds JSON input on stdin and parses JSON output from stdout, with the log on stderr', async () => {
    const handle = await client.start(
      busybox('read line; echo "working" >&2; echo "{\\"echo\\": $line, \\"ok\\": true}"', {
        input: { numbers: [1, 2, 3], name: 'x' },
        output: 'json',
      }),
    );
    const result = await handle.result();
    expect(result.status).toBe('DONE');
    expect(result.output).toEqual({ echo: { numbers: [1, 2, 3], name: 'x' }, ok: true });
    expect(result.logTail).toContain('working');
  });

  it('takes JSON input of 400 KB, and of the 1 MiB limit, on stdin', async () => {
    for (const size of [400_000, MAX_INPUT_BYTES]) {
      const input = 'x'.repeat(size - 2); // the quotes of the JSON string make it `size` bytes
      const result = await (await client.start(busybox('wc -c', { input, timeout: '30s' }))).result();
      expect(result.status).toBe('DONE');
      expect(result.logTail).toEqual([String(size + 1)]); // and the newline that ends it
    }
  });

  it('refuses input above the limit before anything runs, naming the field', async () => {
    const error = await client.start(busybox('true', { input: 'x'.repeat(MAX_INPUT_BYTES) })).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidSpecError);
    expect((error as InvalidSpecError).problems).toEqual([
      { path: 'input', message: expect.stringMatching(/larger than 1048576 bytes/) },
    ]);
  });

  it('gives /out and /tmp_disk a filesystem of the disk budget: filling it fails with ENOSPC, and the result says so', async () => {
    const handle = await client.start(
      busybox('echo kept > /out/small.txt; dd if=/dev/zero of=/tmp_disk/fill bs=1M count=64', {
        resources: { outDisk: '8Mi', tmpDisk: '8Mi' },
      }),
    );
    const result = await handle.result();
    expect(result).toMatchObject({ status: 'FAILED', exitCode: 1, reason: 'exit', diskFull: { bytes: 16 * 2 ** 20 } });
    expect(result.message).toMatch(/disk was full.*resources\.outDisk/);
    expect(result.logTail.join('\n')).toMatch(/No space left on device/);
    expect(result.artifacts.map((a) => a.path)).toEqual(['small.txt']);
  });

  it('attaches instead of starting twice when the same action id is started again', async () => {
    const actionId = `idem-${randomUUID()}`;
    const first = await client.start(busybox('sleep 1; echo once'), { actionId });
    const second = await client.start(busybox('sleep 1; echo once'), { actionId });
    expect(first.started).toBe(true);
    expect(second.started).toBe(false);
    const [a, b] = await Promise.all([first.result(), second.result()]);
    expect(a.runId).toBe(b.runId);
    const third = await client.start(busybox('sleep 1; echo once'), { actionId });
    expect(third.started).toBe(false);
    expect((await third.result()).runId).toBe(a.runId);
    // The same id with another spec is refused, naming what differs, instead of attaching silently.
    const conflict = await client
      .start(busybox('echo again', { timeout: '2m' }), { actionId })
      .catch((e: unknown) => e);
    expect(conflict).toBeInstanceOf(ActionConflictError);
    expect((conflict as ActionConflictError).fields).toEqual(['command', 'timeout']);
  });

  it('runs again on a listed exit code, and is DONE when a later attempt succeeds', async () => {
    const handle = await client.start(
      busybox('echo "attempt $ACTION_ATTEMPT"; [ "$ACTION_ATTEMPT" -ge 2 ] || exit 5', {
        retry: { attempts: 3, onExitCodes: [5] },
      }),
    );
    const result = await handle.result();
    expect(result).toMatchObject({ status: 'DONE', attempts: 2 });
    expect(result.logTail).toEqual(['attempt 2']);
    keepHistory('retry-on-exit-code', handle);
  });
});

describe('an action that fails', () => {
  it('is FAILED with its exit code, and shows as failed in Temporal with the result in the failure', async () => {
    const handle = await client.start(busybox('echo about to fail >&2; exit 3'));
    const result = await handle.result();
    expect(result).toMatchObject({ status: 'FAILED', exitCode: 3, reason: 'exit', message: 'exited 3', attempts: 1 });
    expect(result.logTail).toEqual(['about to fail']);
    expect(await workflowStatus(handle.actionId)).toBe('FAILED');
    const failure = await client.client.workflow
      .getHandle(handle.actionId)
      .result()
      .catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(WorkflowFailedError);
    expect(((failure as WorkflowFailedError).cause as unknown as { details: unknown[] }).details[0]).toMatchObject({
      exitCode: 3,
    });
    keepHistory('failed', handle);
  });

  it('explains well-known exit codes: 127 command not found', async () => {
    const result = await (
      await client.start({ image: env('TEST_IMAGE_BUSYBOX'), command: ['no-such-program'] })
    ).result();
    expect(result.status).toBe('FAILED');
    expect(result.exitCode).toBe(127);
    expect(result.message).toMatch(/127.*not found/);
  });

  it('is FAILED with reason oom when it outgrows its memory limit', async () => {
    const result = await (
      await client.start(busybox('x=a; while true; do x=$x$x; done', { resources: { memory: '32Mi' } }))
    ).result();
    expect(result).toMatchObject({ status: 'FAILED', exitCode: 137, reason: 'oom' });
    expect(result.message).toContain('memory');
  });

  it('is stopped at its deadline with reason timeout, and its partial /out is still collected', async () => {
    const handle = await client.start(
      busybox('echo partial > /out/partial.txt; echo started; sleep 300', { timeout: '3s' }),
    );
    const result = await handle.result();
    expect(result).toMatchObject({ status: 'FAILED', reason: 'timeout' });
    expect(result.artifacts.map((a) => a.path)).toEqual(['partial.txt']);
    expect(await objectText(s3(), result.artifacts[0]!.uri)).toBe('partial\n');
    const runMs = result.timings.find((t) => t.step === 'run')!.ms;
    expect(runMs).toBeLessThan(3000 + 10_000 + 5000); // deadline + grace + slack, never the full sleep
    keepHistory('timeout', handle);
  });

  it('is FAILED with reason image-not-found for a missing image, and nothing runs', async () => {
    const result = await (await client.start({ image: `${env('TEST_REGISTRY')}/caisson/does-not-exist:1` })).result();
    expect(result).toMatchObject({ status: 'FAILED', reason: 'image-not-found', exitCode: null });
    expect(result.message).toMatch(/not found/);
    expect(result.timings.map((t) => t.step)).not.toContain('run');
  });

  it('refuses an image outside the allowed registries before it reaches the engine', async () => {
    for (const image of [`${env('TEST_REGISTRY')}/other/busybox:1`, 'docker.io/library/alpine:3']) {
      const result = await (await client.start({ image })).result();
      expect(result).toMatchObject({ status: 'FAILED', reason: 'image-not-allowed' });
      expect(result.message).toContain('not allowed by policy');
      await expect(docker().getImage(image).inspect()).rejects.toMatchObject({ statusCode: 404 });
    }
  });

  it('fails fast, without retrying, when GPUs are asked of a fleet without them', async () => {
    const result = await (await client.start(busybox('nvidia-smi', { resources: { gpus: 1 } }))).result();
    expect(result).toMatchObject({ status: 'FAILED', reason: 'no-host-fits' });
    expect(result.message).toContain('1 GPU (it has 0)');
    expect(Date.parse(result.finishedAt) - Date.parse(result.startedAt)).toBeLessThan(10_000);
  });

  it('fails fast, without retrying, on a host that lists GPUs its engine cannot give', async () => {
    const cleanups: (() => Promise<unknown>)[] = [];
    try {
      const { client: own } = await workerOfItsOwn('nogpu', { CAISSON_GPUS: 'gpu0' }, cleanups);
      const result = await (await own.start(busybox('nvidia-smi', { resources: { gpus: 1 } }))).result();
      expect(result).toMatchObject({ status: 'FAILED', reason: 'gpu-unavailable', gpus: ['gpu0'] });
      expect(result.message).toMatch(/cannot give GPUs/);
      expect(Date.parse(result.finishedAt) - Date.parse(result.startedAt)).toBeLessThan(10_000);
    } finally {
      for (const cleanup of cleanups.reverse()) await cleanup();
    }
  });

  it('is FAILED with output-not-json when output json is asked and stdout is not JSON', async () => {
    const result = await (await client.start(busybox('echo not json', { output: 'json' }))).result();
    expect(result).toMatchObject({ status: 'FAILED', exitCode: 0, reason: 'output-not-json' });
  });
});

describe('an invalid spec', () => {
  it('is refused by the client before anything starts, listing every problem', async () => {
    const error = await client
      .start({ image: 'Bad Image', resources: { memory: '512m' }, timeout: 'forever', network: 'bridge' } as never)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidSpecError);
    expect((error as InvalidSpecError).problems.map((p) => p.path).sort()).toEqual([
      'image',
      'network',
      'resources.memory',
      'timeout',
    ]);
  });

  it('fails the workflow as non-retryable, listing every problem, when it reaches the workflow unchecked', async () => {
    const actionId = `invalid-${randomUUID()}`;
    const handle = await client.client.workflow.start(WORKFLOW_TYPE, {
      taskQueue: inject('taskQueue'),
      workflowId: actionId,
      args: [{ spec: { image: 'Bad Image', resources: { memory: '512m' } } }],
    });
    const error = await handle.result().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WorkflowFailedError);
    const cause = (error as WorkflowFailedError).cause as unknown as {
      type: string;
      nonRetryable: boolean;
      message: string;
    };
    expect(cause.type).toBe('InvalidSpec');
    expect(cause.nonRetryable).toBe(true);
    expect(cause.message).toContain('image:');
    expect(cause.message).toContain('resources.memory:');
  });
});

describe('cancellation', () => {
  it('stops the container within the grace period, still collects /out, and ends CANCELED', async () => {
    const handle = await client.start(
      busybox(
        'trap "echo got-term; echo bye > /out/at-exit.txt; exit 143" TERM; echo before > /out/before.txt; echo started; while true; do sleep 0.2; done',
      ),
    );
    await vi.waitFor(async () => expect(await handle.logTail()).toContain('started'), {
      timeout: 20_000,
      interval: 200,
    });
    const asked = Date.now();
    await handle.cancel();
    const result = await handle.result();
    expect(Date.now() - asked).toBeLessThan(15_000);
    expect(result).toMatchObject({ status: 'CANCELED', reason: 'canceled', exitCode: 143 });
    expect(result.artifacts.map((a) => a.path).sort()).toEqual(['at-exit.txt', 'before.txt']);
    expect(result.logTail).toContain('got-term');
    expect(await workflowStatus(handle.actionId)).toBe('CANCELLED');
    keepHistory('canceled', handle);
  });
});

describe('the host is protected', () => {
  it('never uploads a host file through a symlink in /out', async () => {
    const hostFile = `/tmp/caisson-host-file-${randomUUID()}`;
    writeFileSync(hostFile, 'HOST SECRET CONTENT');
    try {
      const result = await (
        await client.start(
          busybox(
            `ln -s ${hostFile} /out/escape; ln -s /etc/passwd /out/passwd; ln -s ../../ /out/up; echo ok > /out/real.txt`,
          ),
        )
      ).result();
      expect(result.status).toBe('DONE');
      expect(result.artifacts.map((a) => a.path)).toEqual(['real.txt']);
      expect(result.skipped.map((s) => s.path).sort()).toEqual(['escape', 'passwd', 'up']);
      expect(result.skipped.every((s) => s.why.includes('symlink'))).toBe(true);
      expect(JSON.stringify(result)).not.toContain('HOST SECRET CONTENT');
    } finally {
      rmSync(hostFile, { force: true });
    }
  });

  it('gives the container its secret without the value ever reaching workflow history, results or logs tail', async () => {
    const secret = inject('secretValue');
    const handle = await client.start(busybox(SCRIPTS.apiToken, { secrets: ['API_TOKEN'] }));
    const result = await handle.result();
    expect(result.status).toBe('DONE');
    expect((await objectText(s3(), result.artifacts[0]!.uri)).trim()).toBe(
      createHash('sha256').update(secret).digest('hex'),
    );
    expect(result.logTail).toEqual(['token is ***']);
    // Through the dev environment's codec server, so the check reads payloads in clear, not ciphertext.
    const { stdout } = await run(
      env('TEMPORAL_CLI'),
      [
        'workflow',
        'show',
        '--workflow-id',
        handle.actionId,
        '--output',
        'json',
        '--address',
        env('TEMPORAL_ADDRESS'),
        '--codec-endpoint',
        env('CAISSON_CODEC_ENDPOINT'),
      ],
      { maxBuffer: 64 << 20 },
    );
    // Payloads are base64 in that output: decode every one so the check reads what is really stored.
    const decoded: string[] = [stdout];
    JSON.parse(stdout, (key, value) => {
      if (key === 'data' && typeof value === 'string') decoded.push(Buffer.from(value, 'base64').toString('utf8'));
      return value;
    });
    const history = decoded.join('\n');
    expect(history).toContain('API_TOKEN'); // the name is there…
    expect(history).toContain('token is ***'); // …the redacted log tail too…
    expect(history).not.toContain(secret); // …the value never
  });

  it('fails with a clear reason when a secret is not configured on the host', async () => {
    const result = await (await client.start(busybox(SCRIPTS.nothing, { secrets: ['NOT_CONFIGURED'] }))).result();
    expect(result).toMatchObject({ status: 'FAILED', reason: 'secret-missing' });
    expect(result.message).toContain('NOT_CONFIGURED');
  });
});
