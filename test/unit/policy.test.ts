// The policy's pure rules: what a file may say, and how a spec is measured against it.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  DEFAULT_POLICY,
  enforcePolicy,
  policyProblems,
  readAllowed,
  type Policy,
} from '../../activities/trust/policy.js';
import { parseActionSpec } from '../../spec/action.js';
import { loadPolicy } from '../../worker/policy-file.js';

const dir = mkdtempSync(join(tmpdir(), 'caisson-policy-unit-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const file = (json: unknown) => {
  const path = join(dir, `${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(path, typeof json === 'string' ? json : JSON.stringify(json));
  return path;
};
const image = 'r.example/team/tool:1';

describe('a policy file', () => {
  it('is read with quantities parsed and the reserved names kept', () => {
    const { policy, images } = loadPolicy(
      file({
        images: ['r.example/team/*'],
        defaults: { memory: '1Gi' },
        ceilings: { timeout: '2h', cpu: '500m' },
        reservedEnv: ['AWS_*'],
      }),
    );
    expect(images).toEqual(['r.example/team/*']);
    expect(policy.defaults.memory).toBe(2 ** 30);
    expect(policy.ceilings).toMatchObject({ timeout: 7_200_000, cpu: 0.5 });
    expect(policy.reservedEnv).toEqual(expect.arrayContaining(['ACTION_*', 'NVIDIA_*', 'AWS_*']));
  });

  it('refuses a secret granted to an image alone, or to an image without its digest', () => {
    expect(() => loadPolicy(file({ secrets: { DEPLOY_KEY: ['r.example/ci/deployer'] } }))).toThrow(
      /secrets\.DEPLOY_KEY\.0: a grant names what runs, not an image alone/,
    );
    expect(() =>
      loadPolicy(file({ secrets: { DEPLOY_KEY: [{ image: 'r.example/ci/deployer:1', command: ['deploy'] }] } })),
    ).toThrow(/image is "registry\/repository@sha256:<digest>"/);
    const digest = `sha256:${'b'.repeat(64)}`;
    const { policy } = loadPolicy(
      file({
        secrets: {
          DEPLOY_KEY: [
            { image: `r.example/ci/deployer@${digest}`, command: ['deploy', '--prod'] },
            { template: 'deployer@1.2.0' },
          ],
        },
      }),
    );
    expect(policy.secrets.DEPLOY_KEY).toEqual([
      { image: `r.example/ci/deployer@${digest}`, command: ['deploy', '--prod'] },
      { template: 'deployer@1.2.0' },
    ]);
  });

  it('with a mistake is refused naming the field: unknown keys, bad quantities, defaults above ceilings, not JSON', () => {
    expect(() => loadPolicy(file({ hostNetwrok: [] }))).toThrow(/hostNetwrok/);
    expect(() => loadPolicy(file({ ceilings: { memory: 'lots' } }))).toThrow(/ceilings\.memory/);
    expect(() => loadPolicy(file({ defaults: { memory: '2Gi' }, ceilings: { memory: '1Gi' } }))).toThrow(
      /defaults\.memory: above ceilings\.memory/,
    );
    expect(() => loadPolicy(file('{ not json'))).toThrow(/cannot be read as JSON/);
  });

  it('absent means the built-in policy', () => {
    expect(loadPolicy(undefined)).toEqual({ policy: DEFAULT_POLICY });
  });
});

describe('the gang network', () => {
  const gang = (img: string) => parseActionSpec({ image: img, replicas: 2, gang: true, network: 'gang' });

  it('is refused unless the policy grants it to the image, and read from the file as such a grant', () => {
    expect(policyProblems(gang(image), DEFAULT_POLICY, 'b')).toEqual([
      expect.stringContaining(
        'network: "gang" is not allowed for r.example/team/tool:1 on this fleet (its policy grants the gang network to no image)',
      ),
    ]);
    const { policy } = loadPolicy(file({ gang: { images: ['r.example/team/*'] } }));
    expect(policy.gang).toEqual({ images: ['r.example/team/*'] });
    expect(policyProblems(gang(image), policy, 'b')).toEqual([]);
    expect(policyProblems(gang('r.example/other/x:1'), policy, 'b')).toEqual([
      expect.stringContaining('grants the gang network to r.example/team/*'),
    ]);
    // A gang on network "none" needs no grant.
    expect(policyProblems(parseActionSpec({ image, replicas: 2, gang: true }), DEFAULT_POLICY, 'b')).toEqual([]);
    expect(() => loadPolicy(file({ gang: { images: [] } }))).toThrow('gang.images');
  });
});

describe('a spec against the policy', () => {
  const store = { bucket: 'b', root: 'actions' };
  const grant = { image: `r.example/team/tool@sha256:${'a'.repeat(64)}` };
  const policy: Policy = { ...DEFAULT_POLICY, ceilings: { gpus: 2 }, secrets: { TOKEN: [grant] } };

  it('counts gpus "all" as more than any ceiling, and a device list by its length', () => {
    expect(policyProblems(parseActionSpec({ image, resources: { gpus: 'all' } }), policy, 'b')).toEqual([
      expect.stringContaining('"all" is above'),
    ]);
    expect(policyProblems(parseActionSpec({ image, resources: { gpus: ['0', '1'] } }), policy, 'b')).toEqual([]);
  });

  it('gives secrets only to the repositories a grant names (the rest after the pull), and treats names like "toString" as any other', () => {
    expect(policyProblems(parseActionSpec({ image, secrets: ['TOKEN'] }), policy, 'b')).toEqual([]);
    expect(
      policyProblems(parseActionSpec({ image: 'r.example/other/x:1', secrets: ['TOKEN'] }), policy, 'b'),
    ).toHaveLength(1);
    expect(policyProblems(parseActionSpec({ image, secrets: ['toString'] }), policy, 'b')).toEqual([
      expect.stringContaining('toString may not be given'),
    ]);
  });

  it('fills in the defaults an action leaves out, and keeps what it asks', () => {
    const spec = enforcePolicy(parseActionSpec({ image, resources: { pids: 10 } }), DEFAULT_POLICY, store, 'h', 4);
    expect(spec.resources).toMatchObject({ memory: 2 * 2 ** 30, pids: 10 });
  });

  it('under runAsNonRoot, accepts only a numeric uid other than 0; users lists what may be named', () => {
    const nonRoot: Policy = { ...DEFAULT_POLICY, runAsNonRoot: true };
    const problems = (user: string | undefined, policy: Policy = nonRoot) =>
      policyProblems(parseActionSpec({ image, ...(user ? { user } : {}) }), policy, 'b');
    expect(problems('1000')).toEqual([]);
    expect(problems('1000:1000')).toEqual([]);
    expect(problems(undefined)).toEqual([expect.stringMatching(/^user: this fleet runs containers as non-root/)]);
    expect(problems('0')).toEqual([expect.stringMatching(/^user: uid 0 is root/)]);
    expect(problems('0:1000')).toEqual([expect.stringMatching(/^user: uid 0 is root/)]);
    expect(problems('nobody')).toEqual([expect.stringMatching(/^user: "nobody" is a name/)]);
    const listed = { ...DEFAULT_POLICY, users: ['1000', '1001:1001'] };
    expect(problems('1001:1001', listed)).toEqual([]);
    expect(problems('1002', listed)).toEqual([expect.stringMatching(/^user: "1002" is not one this fleet allows/)]);
    expect(problems(undefined, listed)).toEqual([]);
  });

  it("reads inputs only under the worker's root, a listed bucket, or a granted prefix", () => {
    const read = (from: string, policy: Policy = DEFAULT_POLICY) =>
      policyProblems(parseActionSpec({ image, inputs: [{ from, to: '/in/x' }] }), policy, 'bkt', 'actions');
    expect(read('s3://bkt/actions/a-1/out/model.bin')).toEqual([]);
    expect(read('s3://bkt/fleet/registry.json')).toEqual([
      expect.stringMatching(/^inputs\.0\.from: s3:\/\/bkt\/fleet\/registry\.json is not where this fleet reads/),
    ]);
    expect(read('s3://bkt/actionsX/secret')).toHaveLength(1);
    expect(read('s3://other/x')).toHaveLength(1);
    expect(read('s3://other/x', { ...DEFAULT_POLICY, buckets: ['other'] })).toEqual([]);
    const granted = { ...DEFAULT_POLICY, reads: ['s3://bkt/datasets/', 's3://ccc/public'] };
    expect(read('s3://bkt/datasets/imagenet/train/', granted)).toEqual([]);
    expect(read('s3://ccc/public/a.csv', granted)).toEqual([]);
    expect(read('s3://ccc/publicity/a.csv', granted)).toHaveLength(1);
    // The spec's schema refuses ".." in from already; the host's check refuses it again.
    expect(readAllowed('bkt', 'datasets/../fleet/registry.json', granted, 'bkt', 'actions')).toBe(false);
    expect(readAllowed('bkt', 'actions/../fleet/registry.json', DEFAULT_POLICY, 'bkt', 'actions')).toBe(false);
  });

  it('never leaves cpu, memory or pids for the engine to read as unlimited: 0 and absent take a default', () => {
    // A policy file whose defaults name none of them, and a spec built by hand with zeros.
    const bare = { ...DEFAULT_POLICY, defaults: {} };
    const zeros = { ...parseActionSpec({ image }), resources: { cpu: 0, memory: 0, pids: 0 } };
    for (const spec of [parseActionSpec({ image }), zeros]) {
      expect(enforcePolicy(spec, bare, store, 'h', 6).resources).toMatchObject({
        cpu: 6,
        memory: 2 * 2 ** 30,
        pids: 4096,
      });
    }
    const own = { ...DEFAULT_POLICY, defaults: { cpu: 1, memory: 2 ** 30, pids: 100 } };
    expect(enforcePolicy(zeros, own, store, 'h', 6).resources).toMatchObject({ cpu: 1, memory: 2 ** 30, pids: 100 });
  });
});
