// Data in, as pure rules: the spec's inputs and files, the policy over them, the text forms of the
// CLI and the Action, spec files, templates (definition, run, schemas) and the host's input cache.
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import type { S3Client } from '@aws-sdk/client-s3';
import { afterAll, describe, expect, it } from 'vitest';
import { DEFAULT_POLICY, policyProblems } from '../../activities/trust/policy.js';
import { InputCache } from '../../activities/inputs/input-cache.js';
import { checkActionSpec, parseActionSpec, secretsOf, specProblems } from '../../spec/action.js';
import { parseInputPairs, mergeSpecs } from '../../common/text/text-inputs.js';
import { DataFileError, parseData } from '../../common/text/data-file.js';
import { schemaProblems } from '../../common/templates/json-schema.js';
import {
  checkDefinition,
  parseTemplateRef,
  specFromTemplate,
  type StoredTemplate,
} from '../../common/templates/templates.js';

const image = 'r.example/team/tool:1';
const problems = (spec: Record<string, unknown>) => {
  const checked = checkActionSpec({ image, ...spec });
  return checked.success ? [] : specProblems(checked.error);
};

describe('inputs in a spec', () => {
  it("are an S3 URI or an earlier action's path, each to a place of its own under /in", () => {
    const spec = parseActionSpec({
      image,
      inputs: [
        { from: 's3://data/raw/day-1/', to: '/in/raw' },
        { fromAction: 'build-7', path: 'out/model.bin', to: '/in/model.bin' },
      ],
    });
    expect(spec.inputs).toHaveLength(2);
    expect(problems({ inputs: [{ from: 's3://data/x', fromAction: 'a', path: 'out/x', to: '/in/x' }] })).toEqual([
      { path: 'inputs.0', message: 'give either from (an S3 URI) or fromAction with path' },
    ]);
    expect(problems({ inputs: [{ fromAction: 'a', to: '/in/x' }] })).toEqual([
      { path: 'inputs.0.path', message: expect.stringContaining('fromAction needs path') },
    ]);
    expect(problems({ inputs: [{ from: 'https://data/x', to: '/in/x' }] })[0]!.path).toBe('inputs.0.from');
    expect(problems({ inputs: [{ from: 's3://data/x', to: '/etc/x' }] })).toEqual([
      { path: 'inputs.0.to', message: 'to is a path under /in/ (inputs are mounted there, read-only)' },
    ]);
    expect(problems({ inputs: [{ from: 's3://data/x', to: '/in/../etc' }] })[0]!.message).toContain(
      'without ".", ".." or empty parts',
    );
    expect(problems({ inputs: [{ fromAction: 'a', path: 'out/../../b/out/x', to: '/in/x' }] })[0]!.path).toBe(
      'inputs.0.path',
    );
    expect(
      problems({
        inputs: [
          { from: 's3://data/a', to: '/in/a' },
          { from: 's3://data/b/', to: '/in/a/b' },
        ],
      }),
    ).toEqual([
      { path: 'inputs.1.to', message: '/in/a/b overlaps inputs.0.to (/in/a): give each input a place of its own' },
    ]);
  });
});

describe('files in a spec', () => {
  it('take octal modes (0644 by default), content or a secret, and stay out of the mounted folders', () => {
    const spec = parseActionSpec({
      image,
      files: [
        { path: '/etc/a.conf', content: 'x' },
        { path: '/run/key', contentFromSecret: 'KEY', mode: '0600' },
      ],
    });
    expect(spec.files.map((f) => f.mode)).toEqual([0o644, 0o600]);
    expect(secretsOf({ ...spec, secrets: ['TOKEN', 'KEY'] })).toEqual(['TOKEN', 'KEY']);
    expect(problems({ files: [{ path: '/out/x', content: 'x' }] })[0]!.message).toContain(
      'may not lie in /out, /tmp_disk, /in',
    );
    expect(problems({ files: [{ path: '/x', content: 'x', contentFromSecret: 'K' }] })).toEqual([
      { path: 'files.0', message: 'give either content or contentFromSecret' },
    ]);
    expect(problems({ files: [{ path: '/x', content: 'x', mode: '0999' }] })[0]!.path).toBe('files.0.mode');
    expect(
      problems({
        files: [
          { path: '/x', content: 'a' },
          { path: '/x', content: 'b' },
        ],
      }),
    ).toEqual([{ path: 'files.1.path', message: '/x is written by files.0 already' }]);
    expect(problems({ outputSchema: { type: 'object' } })).toEqual([
      { path: 'outputSchema', message: 'outputSchema checks JSON output: set output to "json"' },
    ]);
    expect(problems({ template: 'Bad Name@1' })[0]!.message).toBe('template is "name@version"');
  });

  it('are held to the policy: a secret as a file as for env, input buckets as artifact buckets', () => {
    const spec = parseActionSpec({
      image,
      files: [{ path: '/run/k', contentFromSecret: 'KEY' }],
      inputs: [{ from: 's3://elsewhere/x', to: '/in/x' }],
    });
    expect(policyProblems(spec, DEFAULT_POLICY, 'own-bucket')).toEqual([
      `files.0.contentFromSecret: KEY may not be given to ${image} on this fleet`,
      "inputs.0.from: s3://elsewhere/x is not where this fleet reads inputs (allowed: s3://own-bucket/); ask for a grant in the policy's reads",
    ]);
    expect(
      policyProblems(
        spec,
        {
          ...DEFAULT_POLICY,
          buckets: ['elsewhere'],
          secrets: { KEY: [{ image: `r.example/team/tool@sha256:${'c'.repeat(64)}` }] },
        },
        'own-bucket',
      ),
    ).toEqual([]);
  });
});

describe('text forms', () => {
  it('read inputs as FROM=TO, split at the last "="', () => {
    expect(parseInputPairs(['s3://b/k=v/x=/in/x', 'action:build-7/out/model.bin=/in/m'])).toEqual([
      { from: 's3://b/k=v/x', to: '/in/x' },
      { fromAction: 'build-7', path: 'out/model.bin', to: '/in/m' },
    ]);
    expect(() => parseInputPairs(['s3://b/k'])).toThrow('write s3://bucket/key=/in/PATH');
  });

  it("put flags over a spec file's fields, merging env and resources", () => {
    expect(
      mergeSpecs(
        { image: 'a', env: { A: '1', B: '1' }, resources: { memory: '1Gi' }, args: ['x'] },
        { env: { B: '2' }, resources: { cpu: 1 }, args: ['y'] },
      ),
    ).toEqual({
      image: 'a',
      env: { A: '1', B: '2' },
      resources: { memory: '1Gi', cpu: 1 },
      args: ['y'],
    });
  });

  it('read YAML and JSON, saying where a file is broken, and bound alias expansion', () => {
    expect(parseData('{"image": "a"}', 'f.json')).toEqual({ image: 'a' });
    expect(parseData('image: a\nargs: [x, y]\n', 'f.yaml')).toEqual({ image: 'a', args: ['x', 'y'] });
    expect(() => parseData('image: [a\n', 'f.yaml')).toThrow(/^f\.yaml: line \d+, column \d+: /);
    expect(() => parseData('a: 1\na: 2\n', 'f.yaml')).toThrow(DataFileError);
    const bomb = [
      'a: &a [x, x, x, x, x, x, x, x, x, x]',
      ...Array.from(
        { length: 9 },
        (_, i) => `${'bcdefghij'[i]}: &${'bcdefghij'[i]} [${Array(10).fill(`*${'abcdefghi'[i]}`).join(', ')}]`,
      ),
    ].join('\n');
    expect(() => parseData(bomb, 'bomb.yaml')).toThrow(/bomb\.yaml: .*alias/i);
  });
});

describe('JSON Schema checks', () => {
  it('report every problem with its JSON pointer, and a schema that does not compile as one problem', () => {
    const schema = {
      type: 'object',
      required: ['n'],
      properties: { n: { type: 'integer' }, tags: { type: 'array', items: { type: 'string' } } },
      additionalProperties: false,
    };
    expect(schemaProblems(schema, { n: 1, tags: ['a'] })).toEqual([]);
    expect(schemaProblems(schema, { tags: ['a', 2], x: 1 })).toEqual([
      { pointer: '', message: "must have required property 'n'" },
      { pointer: '', message: 'must NOT have additional properties ("x")' },
      { pointer: '/tags/1', message: 'must be string' },
    ]);
    expect(schemaProblems({ type: 'nonsense' }, 1)[0]!.message).toMatch(/^the schema itself is not valid: /);
  });
});

const template = (extra: Partial<StoredTemplate> = {}): StoredTemplate => ({
  name: 'greet',
  version: '1.0.0',
  spec: { image: `r.example/team/tool@sha256:${'a'.repeat(64)}`, env: { A: '1' }, resources: { memory: '64Mi' } },
  inputSchema: { type: 'object', required: ['name'], properties: { name: { type: 'string' } } },
  outputSchema: { type: 'object' },
  overrides: ['env.*', 'resources.memory'],
  keepTag: false,
  registeredAt: '2026-01-01T00:00:00Z',
  ...extra,
});

describe('a template', () => {
  it("makes a run's spec: its input checked, allowed --set values applied, the run's inputs after its own", () => {
    const spec = specFromTemplate(template(), {
      input: { name: 'Ada' },
      set: { 'env.B': '2', 'resources.memory': '128Mi' },
      inputs: [{ from: 's3://data/x', to: '/in/x' }],
    });
    expect(spec).toMatchObject({
      template: 'greet@1.0.0',
      output: 'json',
      outputSchema: { type: 'object' },
      input: { name: 'Ada' },
      env: { A: '1', B: '2' },
    });
    expect(parseActionSpec(spec).resources.memory).toBe(128 * 2 ** 20);
    expect(parseActionSpec(spec).inputs).toEqual([{ from: 's3://data/x', to: '/in/x' }]);
    expect(() => specFromTemplate(template({ overrides: [] }), { input: { name: 1 }, set: { timeout: '1h' } })).toThrow(
      expect.objectContaining({
        problems: [
          { path: 'input/name', message: 'must be string' },
          { path: 'timeout', message: 'greet@1.0.0 does not let runs set timeout (it allows: nothing)' },
        ],
      }),
    );
  });

  it('is checked whole at registration: fields, spec, schemas', () => {
    expect(parseTemplateRef('greet@1.2.0')).toEqual({ name: 'greet', version: '1.2.0' });
    expect(parseTemplateRef('Greet')).toBeUndefined();
    expect(() =>
      checkDefinition({
        name: 'g',
        version: '1',
        spec: { image, input: 1, timeout: 'soon' },
        outputSchema: { type: 7 },
      }),
    ).toThrow(
      expect.objectContaining({
        problems: [
          { path: 'spec.input', message: 'input belongs to each run, not to the template' },
          { path: 'spec.timeout', message: expect.any(String) },
          { path: 'outputSchema', message: expect.stringMatching(/^not a usable JSON Schema: /) },
        ],
      }),
    );
  });
});

describe("a host's input cache", () => {
  const dir = mkdtempSync(join(tmpdir(), 'caisson-input-cache-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const gets: string[] = [];
  // Only GetObject is sent; what it answers is the object's bytes as S3 would stream them.
  const s3 = {
    send: async (command: { input: { Key: string } }) => {
      gets.push(command.input.Key);
      return { Body: Readable.from([Buffer.alloc(command.input.Key === 'e' ? 6000 : 3000, command.input.Key)]) };
    },
  } as unknown as S3Client;
  const object = (key: string) => ({ bucket: 'b', key, etag: `"${key}"`, size: 3000 });

  it('downloads an object version once, however many ask at once, and evicts the least recently used', async () => {
    const cache = new InputCache(s3, join(dir, 'cache'), 10_000);
    const got = await Promise.all([1, 2, 3].map((i) => cache.fetchTo(object('a'), join(dir, `a-${i}`))));
    expect(gets).toEqual(['a']);
    expect(got.filter((g) => !g.cached)).toHaveLength(1);
    expect(new Set(got.map((g) => g.sha256)).size).toBe(1);
    expect((await readFile(join(dir, 'a-3'))).length).toBe(3000);
    for (const key of ['b', 'c']) await cache.fetchTo(object(key), join(dir, key));
    await cache.fetchTo(object('a'), join(dir, 'a-4')); // a used again: b is now the oldest
    await cache.fetchTo(object('d'), join(dir, 'd'));
    expect(gets).toEqual(['a', 'b', 'c', 'd']);
    const kept = readdirSync(join(dir, 'cache')).filter((n) => !n.endsWith('.json')).length;
    expect(kept).toBe(3);
    await cache.fetchTo(object('b'), join(dir, 'b-2'));
    expect(gets).toEqual(['a', 'b', 'c', 'd', 'b']);
    // Larger than half the bound: never cached, streamed straight to its place.
    const large = await cache.fetchTo({ ...object('e'), size: 6000 }, join(dir, 'e'));
    expect(gets.at(-1)).toBe('e');
    expect(large.cached).toBe(false);
    expect((await readFile(join(dir, 'e'))).length).toBe(6000);
    expect(readdirSync(join(dir, 'cache')).filter((n) => !n.endsWith('.json')).length).toBe(3); // e not among them
    await cache.fetchTo({ ...object('e'), size: 6000 }, join(dir, 'e-2'));
    expect(gets.filter((k) => k === 'e')).toHaveLength(2); // fetched again: it was never kept
  });
});
