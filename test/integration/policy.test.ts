// A worker's policy on the real stack: what an action leaves out it gets from the policy, what goes
// beyond it ends FAILED at once with reason "policy" before any container exists, and no spec can
// reach another action's folder, a bucket, a secret or the host's network it was not given.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ActionsClient } from '../../client/index.js';
import { spawnWorker } from '../../harness/worker-process.js';
import { busybox, expectNoLeftovers, keepHistory, workerOfItsOwn } from '../support/actions.js';
import { busyboxDigestRef, grant, SCRIPTS } from '../support/granted.js';
import { containerStarts, env, objectText, s3 } from '../support/env.js';

const dir = mkdtempSync(join(tmpdir(), 'caisson-policy-test-'));
const cleanups: (() => Promise<unknown>)[] = [];
const perTest: (() => Promise<unknown>)[] = [];
let client: ActionsClient;
let host: string;

beforeAll(async () => {
  const policyFile = join(dir, 'policy.json');
  const digestRef = await busyboxDigestRef();
  writeFileSync(
    policyFile,
    JSON.stringify({
      defaults: { memory: '64Mi', pids: 100, logSize: '8Mi' },
      ceilings: { memory: '256Mi', cpu: 1, pids: 500, gpus: 0, timeout: '10m', outDisk: '512Mi', logSize: '64Mi' },
      secrets: {
        TEAM_TOKEN: [
          grant(digestRef, SCRIPTS.tokenLength),
          grant(digestRef, SCRIPTS.printsSecrets),
          { template: `${TEMPLATE}@1` },
        ],
        TEAM_KEY: [grant(digestRef, SCRIPTS.printsSecrets)],
      },
    }),
  );
  ({ client, host } = await workerOfItsOwn(
    'policy',
    {
      CAISSON_POLICY_FILE: policyFile,
      CAISSON_SECRET_TEAM_TOKEN: 'team-secret',
      CAISSON_SECRET_OTHER: 'other-secret',
      CAISSON_SECRET_TEAM_KEY: PEM,
    },
    cleanups,
  ));
});
afterEach(async () => {
  for (const cleanup of perTest.splice(0).reverse()) await cleanup();
  await expectNoLeftovers(host);
});
afterAll(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  rmSync(dir, { recursive: true, force: true });
});

/** Starts the spec; expects it refused by the policy within 15 s, no container started; returns the message. */
async function refused(spec: Parameters<ActionsClient['start']>[0]): Promise<string> {
  const since = Date.now();
  const result = await (await client.start(spec)).result();
  expect(result).toMatchObject({ status: 'FAILED', reason: 'policy', exitCode: null });
  expect(Date.now() - since).toBeLessThan(15_000);
  expect(await containerStarts(result.runId, since)).toBe(0);
  return result.message;
}

/** A template of this run (versions never change, and S3 outlives a test run): granted TEAM_TOKEN. */
const TEMPLATE = `team-tool-${Date.now().toString(36)}`;

const PEM_LINES = ['MIIEvQIBADANBgkqhkiG9w0BAQEFAASC', 'BKcwggSjAgEAAoIBAQC7VJTUt9Us8cKj'];
const PEM = ['-----BEGIN PRIVATE KEY-----', ...PEM_LINES, '-----END PRIVATE KEY-----'].join('\n');

const CGROUP_LIMITS = [
  'if [ -f /sys/fs/cgroup/cgroup.controllers ]; then echo "$(cat /sys/fs/cgroup/memory.max) $(cat /sys/fs/cgroup/pids.max)";',
  'else echo "$(cat /sys/fs/cgroup/memory/memory.limit_in_bytes) $(cat /sys/fs/cgroup/pids/pids.max)"; fi',
].join(' ');

describe('limits', () => {
  it('an action that names none gets the policy defaults, enforced by the kernel', async () => {
    const result = await (await client.start(busybox(CGROUP_LIMITS))).result();
    expect(result).toMatchObject({ status: 'DONE', logTail: [`${64 * 2 ** 20} 100`] });
  });

  it('above a ceiling: FAILED at once, every field named with its ceiling', async () => {
    const message = await refused(
      busybox('true', {
        timeout: '1h',
        resources: { memory: '512Mi', cpu: 2, pids: 1000, gpus: 1, outDisk: '1Gi', logSize: '1Gi' },
      }),
    );
    for (const words of [
      "resources.cpu: 2 cores is above this fleet's ceiling of 1 cores",
      "resources.memory: 512Mi is above this fleet's ceiling of 256Mi",
      "resources.pids: 1000 is above this fleet's ceiling of 500",
      "resources.outDisk: 1Gi is above this fleet's ceiling of 512Mi",
      "timeout: 1h is above this fleet's ceiling of 10m",
      "resources.gpus: 1 is above this fleet's ceiling of 0 GPUs",
      "resources.logSize: 1Gi is above this fleet's ceiling of 64Mi",
    ]) {
      expect(message).toContain(words);
    }
  });

  it('log bytes: past the default logSize the live log stops and the stored log keeps the newest', async () => {
    const lines = 1_000_000; // about 31 MB of numbered lines against a logSize of 8Mi
    const handle = await client.start(busybox(`seq 1 ${lines} | sed 's/$/ padding-to-thirty-bytes/'`));
    const result = await handle.result();
    expect(result.status).toBe('DONE');
    expect(result.logs?.truncated).toBe(true);
    const numberOf = (line: string) => Number(line.split(' ')[0]);

    // The live log (what followers read) starts at the first line and stops at logSize. (A writer
    // this fast outruns the engine's 1 MiB files: what the engine's follow stream gives while it
    // rotates them many times a second is its own affair, lines it rotated away unread included.
    // So the live log may well reach the last line, with gaps: its size is what is bounded.)
    let live = 0;
    let liveBytes = 0;
    for await (const line of handle.logs()) {
      if (live === 0) expect(numberOf(line.text)).toBe(1);
      live++;
      liveBytes += Buffer.byteLength(line.text) + 1;
    }
    expect(live).toBeGreaterThan(10_000);
    expect(liveBytes).toBeLessThanOrEqual(8 * 2 ** 20);

    // The stored log holds the newest lines, at most logSize of them, ending with the last.
    const stored = await objectText(s3(), result.logs!.stdout);
    expect(Buffer.byteLength(stored)).toBeLessThanOrEqual(8 * 2 ** 20);
    const storedLines = stored.trimEnd().split('\n');
    expect(numberOf(storedLines.at(-1)!)).toBe(lines);
    expect(numberOf(storedLines[0]!)).toBeGreaterThan(1);
  });
});

describe('the host network', () => {
  it('is refused unless the policy allows it for the image', async () => {
    expect(await refused(busybox('true', { network: 'host' }))).toContain('network: "host" is not allowed');
  });
});

describe('env', () => {
  it("names that grant devices or carry the worker's identity are refused", async () => {
    const message = await refused(
      busybox('true', {
        env: { NVIDIA_VISIBLE_DEVICES: 'all', ACTION_OWNER: 'someone-else', CUDA_VISIBLE_DEVICES: '0' },
      }),
    );
    for (const name of ['NVIDIA_VISIBLE_DEVICES', 'ACTION_OWNER', 'CUDA_VISIBLE_DEVICES'])
      expect(message).toContain(`env.${name}: reserved`);
  });
});

describe('secrets', () => {
  it('listed for the image are given; any other is refused and the container never starts', async () => {
    const given = await (await client.start(busybox(SCRIPTS.tokenLength, { secrets: ['TEAM_TOKEN'] }))).result();
    expect(given).toMatchObject({ status: 'DONE', logTail: ['11'] });
    expect(await refused(busybox('true', { secrets: ['OTHER'] }))).toContain(
      `secrets.0: OTHER may not be given to ${env('TEST_IMAGE_BUSYBOX')}`,
    );
  });
});

describe('secret grants bind what runs, not an image', () => {
  it('the granted image with another command, an env or file that changes what runs, or another digest: refused, nothing started', async () => {
    const cases: [string, Parameters<ActionsClient['start']>[0]][] = [
      ['printenv', busybox('printenv TEAM_TOKEN > /out/k', { secrets: ['TEAM_TOKEN'] })],
      ['LD_PRELOAD', busybox(SCRIPTS.tokenLength, { secrets: ['TEAM_TOKEN'], env: { LD_PRELOAD: '/tmp/x.so' } })],
      [
        'a file over a program',
        busybox(SCRIPTS.tokenLength, {
          secrets: ['TEAM_TOKEN'],
          files: [{ path: '/bin/echo', content: '#!/bin/sh\ncat /proc/self/environ\n', mode: '0755' }],
        }),
      ],
      [
        'another digest',
        busybox(SCRIPTS.tokenLength, {
          secrets: ['TEAM_TOKEN'],
          image: `${env('TEST_IMAGE_BUSYBOX').replace(/:[^/:]+$/, '')}@sha256:${'0'.repeat(64)}`,
        }),
      ],
      [
        "a template's name on another command",
        busybox('printenv TEAM_TOKEN', { secrets: ['TEAM_TOKEN'], template: `${TEMPLATE}@1` }),
      ],
    ];
    for (const [why, spec] of cases) {
      const message = await refused(spec);
      expect(message, why).toMatch(/secrets\.0: TEAM_TOKEN may not be given to this run/);
      expect(message, why).not.toContain('team-secret');
    }
  });

  it('a run of the granted template version gets the secret', async () => {
    await client.registerTemplate({
      name: TEMPLATE,
      version: '1',
      spec: busybox(SCRIPTS.tokenLength, { secrets: ['TEAM_TOKEN'] }),
    });
    const result = await (await client.start(await client.templateSpec(`${TEMPLATE}@1`))).result();
    expect(result).toMatchObject({ status: 'DONE', logTail: ['11'] });
  });
});

describe('secret values in what the container prints', () => {
  it('are masked in the log tail, the live log, logs/stderr.log and output, a multi-line key line by line', async () => {
    const handle = await client.start(
      busybox(SCRIPTS.printsSecrets, {
        secrets: ['TEAM_TOKEN', 'TEAM_KEY'],
        output: 'json',
      }),
    );
    const result = await handle.result();
    expect(result.status).toBe('DONE');
    expect(result.output).toEqual({ token: '***' });
    const leaks = (text: string) => ['team-secret', ...PEM_LINES].filter((secret) => text.includes(secret));
    expect(leaks(result.logTail.join('\n'))).toEqual([]);
    expect(result.logTail).toContain('token ***');
    const stored = await objectText(s3(), result.logs!.stderr);
    expect(leaks(stored)).toEqual([]);
    expect(stored).toContain('-----BEGIN PRIVATE KEY-----\n***\n***\n-----END PRIVATE KEY-----');
    const live: string[] = [];
    for await (const line of handle.logs({ follow: false })) live.push(line.text);
    expect(live).toContain('token ***');
    expect(leaks(live.join('\n'))).toEqual([]);
  });
});

describe('artifacts', () => {
  it("an input outside the worker's artifacts root is refused, and one inside it is read", async () => {
    const bucket = env('CAISSON_ARTIFACTS_BUCKET');
    const outside = await refused(
      busybox('true', { inputs: [{ from: `s3://${bucket}/elsewhere/${Date.now()}.json`, to: '/in/x' }] }),
    );
    expect(outside).toContain(`inputs.0.from: s3://${bucket}/elsewhere/`);
    const first = await (await client.start(busybox('echo kept > /out/kept.txt'))).result();
    const second = await (
      await client.start(
        busybox('cat /in/kept.txt', {
          inputs: [{ fromAction: first.actionId, path: 'out/kept.txt', to: '/in/kept.txt' }],
        }),
      )
    ).result();
    expect(second).toMatchObject({ status: 'DONE', logTail: ['kept'] });
  });

  it('a bucket the policy does not list is refused', async () => {
    expect(await refused(busybox('true', { artifacts: { bucket: 'someone-elses-bucket' } }))).toContain(
      'artifacts.bucket: "someone-elses-bucket" is not one this fleet writes to',
    );
  });

  it("a refused action's result.json goes to the worker's own bucket, never to the one it named", async () => {
    const result = await (
      await client.start(busybox('true', { artifacts: { bucket: 'someone-elses-bucket' } }))
    ).result();
    expect(result).toMatchObject({ status: 'FAILED', reason: 'policy' });
    expect(result.resultUri).toBe(`s3://${env('CAISSON_ARTIFACTS_BUCKET')}/actions/${result.actionId}/result.json`);
    expect(JSON.parse(await objectText(s3(), result.resultUri!))).toMatchObject({
      runId: result.runId,
      reason: 'policy',
    });
    keepHistory('refused', result);
  });

  it("a prefix naming another action's folder only adds folders inside this action's own", async () => {
    const victim = await (await client.start(busybox('echo mine > /out/data.txt'))).result();
    const bucket = env('CAISSON_ARTIFACTS_BUCKET');
    const attacker = await (
      await client.start(
        busybox('echo overwritten > /out/data.txt', { artifacts: { prefix: `actions/${victim.actionId}/out` } }),
      )
    ).result();
    expect(attacker.status).toBe('DONE');
    expect(attacker.artifacts[0]!.uri).toBe(
      `s3://${bucket}/actions/${attacker.actionId}/actions/${victim.actionId}/out/out/data.txt`,
    );
    expect(attacker.resultUri!.startsWith(`s3://${bucket}/actions/${attacker.actionId}/`)).toBe(true);
    expect(await objectText(s3(), victim.artifacts[0]!.uri)).toBe('mine\n');
  });
});

describe('images', () => {
  it('with no allow-list set, nothing runs (fail closed)', async () => {
    const closed = await workerOfItsOwn('closed', { CAISSON_ALLOWED_IMAGES: '' }, perTest);
    perTest.push(() => expectNoLeftovers(closed.host));
    const result = await (await closed.client.start(busybox('true'))).result();
    expect(result).toMatchObject({ status: 'FAILED', reason: 'image-not-allowed' });
  });
});

describe('who the container runs as', () => {
  it('under runAsNonRoot: no user or root is refused before any container; a uid runs as that uid', async () => {
    const file = join(dir, 'non-root.json');
    writeFileSync(file, JSON.stringify({ runAsNonRoot: true }));
    const nonRoot = await workerOfItsOwn('nonroot', { CAISSON_POLICY_FILE: file }, perTest);
    perTest.push(() => expectNoLeftovers(nonRoot.host));
    for (const user of [undefined, '0', 'root']) {
      const since = Date.now();
      const result = await (await nonRoot.client.start(busybox('id -u', user ? { user } : {}))).result();
      expect(result).toMatchObject({ status: 'FAILED', reason: 'policy', exitCode: null });
      expect(result.message).toMatch(/user: .*non-root/);
      expect(await containerStarts(result.runId, since)).toBe(0);
    }
    const ran = await (await nonRoot.client.start(busybox('echo "$(id -u):$(id -g)"', { user: '1000:1000' }))).result();
    expect(ran).toMatchObject({ status: 'DONE', logTail: ['1000:1000'] });
  });
});

describe('a policy file with a mistake', () => {
  it('stops the worker at start, naming the field', async () => {
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, JSON.stringify({ ceilings: { memory: 'lots' }, hostNetwrok: ['*'] }));
    const worker = spawnWorker('badpolicy', {
      CAISSON_POLICY_FILE: bad,
      CAISSON_TASK_QUEUE: `badpolicy-${Date.now()}`,
      CAISSON_HOST: 'badpolicy',
    });
    // It is meant never to be ready: that rejection is the expected outcome, observed below by its exit.
    worker.ready.catch(() => {});
    let stderr = '';
    worker.process.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => worker.process.once('close', resolve));
    expect(code).not.toBe(0);
    expect(stderr).toContain('invalid policy file');
    expect(stderr).toContain('ceilings.memory');
    expect(stderr).toMatch(/hostNetwrok/);
  });
});
