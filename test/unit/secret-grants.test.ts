// Secret grants bind the code that receives a secret: digest, argv, the env names and files a run
// may add, or a template version and what its overrides let runs change.
import { describe, expect, it } from 'vitest';
import { grantProblems, type SecretGrant } from '../../activities/trust/secret-grants.js';
import type { StoredTemplate } from '../../common/templates/templates.js';
import { TemplateError } from '../../common/templates/templates.js';
import { parseActionSpec, type ActionSpecInput } from '../../spec/action.js';

const digest = `sha256:${'a'.repeat(64)}`;
const other = `sha256:${'b'.repeat(64)}`;
const repo = 'r.example/ci/deployer';
const spec = (extra: Partial<ActionSpecInput> = {}) =>
  parseActionSpec({ image: `${repo}:1`, command: ['deploy'], args: ['--prod'], secrets: ['KEY'], ...extra });
const byImage: Record<string, SecretGrant[]> = {
  KEY: [{ image: `${repo}@${digest}`, command: ['deploy', '--prod'], env: ['TARGET'], files: ['/etc/deploy.yaml'] }],
};

describe('an image grant', () => {
  it('covers the digest with its whole argv, the env names and files it lists', async () => {
    expect(await grantProblems(spec(), byImage, digest)).toEqual([]);
    expect(
      await grantProblems(
        spec({ env: { TARGET: 'eu' }, files: [{ path: '/etc/deploy.yaml', content: 'x' }] }),
        byImage,
        digest,
      ),
    ).toEqual([]);
  });

  it('checks the digest after the pull, and a pinned one at once', async () => {
    expect(await grantProblems(spec(), byImage, undefined)).toEqual([]);
    expect(await grantProblems(spec(), byImage, other)).toEqual([
      expect.stringMatching(/^secrets\.0: KEY may not be given to this run \(granted to digest/),
    ]);
    expect(await grantProblems(spec({ image: `${repo}@${other}` }), byImage, undefined)).toHaveLength(1);
  });

  it('does not cover another command, args, env name, content file, working dir or repository', async () => {
    for (const extra of [
      { command: ['sh', '-c', 'printenv KEY'] },
      { args: ['--prod', '--dump-secrets'] },
      { env: { LD_PRELOAD: '/tmp/x.so' } },
      { files: [{ path: '/usr/bin/deploy', content: '#!/bin/sh\nenv\n' }] },
      { workingDir: '/tmp' },
      { image: 'r.example/ci/other:1' },
    ] as Partial<ActionSpecInput>[]) {
      expect(await grantProblems(spec(extra), byImage, digest), JSON.stringify(extra)).toHaveLength(1);
    }
  });

  it('lets a file from a granted secret go anywhere, and names every field that holds a secret', async () => {
    expect(
      await grantProblems(spec({ files: [{ path: '/run/key', contentFromSecret: 'KEY' }] }), byImage, digest),
    ).toEqual([]);
    const problems = await grantProblems(
      spec({ secrets: ['KEY', 'OTHER'], files: [{ path: '/run/o', contentFromSecret: 'OTHER' }] }),
      byImage,
      digest,
    );
    expect(problems).toEqual([
      `secrets.1: OTHER may not be given to ${repo}:1 on this fleet`,
      `files.0.contentFromSecret: OTHER may not be given to ${repo}:1 on this fleet`,
    ]);
  });
});

describe('a template grant', () => {
  const template = (overrides: string[] = []): StoredTemplate =>
    ({
      name: 'deployer',
      version: '1.2.0',
      spec: { image: `${repo}@${digest}`, command: ['deploy'], args: ['--prod'], env: { TARGET: 'eu' } },
      overrides,
      keepTag: false,
      registeredAt: '',
    }) as StoredTemplate;
  const grants: Record<string, SecretGrant[]> = { KEY: [{ template: 'deployer@1.2.0' }] };
  const run = (extra: Partial<ActionSpecInput> = {}) =>
    spec({ image: `${repo}@${digest}`, env: { TARGET: 'eu' }, template: 'deployer@1.2.0', ...extra });
  const sources = (t: StoredTemplate | Error) => ({
    template: async () => (t instanceof Error ? Promise.reject(t) : t),
  });

  it('covers a run of the version: its pinned digest, argv and env, with what the overrides free', async () => {
    expect(await grantProblems(run(), grants, digest, sources(template()))).toEqual([]);
    expect(
      await grantProblems(run({ env: { TARGET: 'us' } }), grants, digest, sources(template(['env.TARGET']))),
    ).toEqual([]);
  });

  it('does not cover a spec that only names the template, nor a version that is not registered', async () => {
    expect(
      await grantProblems(run({ command: ['sh', '-c', 'env'] }), grants, digest, sources(template())),
    ).toHaveLength(1);
    expect(await grantProblems(run({ env: { TARGET: 'us' } }), grants, digest, sources(template()))).toEqual([
      expect.stringContaining('does not let runs change env TARGET'),
    ]);
    expect(
      await grantProblems(
        run({ env: { TARGET: 'eu', LD_PRELOAD: '/x' } }),
        grants,
        digest,
        sources(template(['env.TARGET'])),
      ),
    ).toHaveLength(1);
    expect(await grantProblems(run(), grants, other, sources(template()))).toHaveLength(1);
    expect(
      await grantProblems(run(), grants, digest, sources(new TemplateError('no template named deployer'))),
    ).toEqual([expect.stringContaining('no template named deployer')]);
    await expect(grantProblems(run(), grants, digest, sources(new Error('S3 is away')))).rejects.toThrow('S3 is away');
  });
});
