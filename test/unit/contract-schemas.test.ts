// The published contract (schema/*.json) is what the zod schemas generate today, and it accepts
// what the code accepts and refuses what the code refuses, for specs as services write them.
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { contractSchemas, schemaText } from '../../spec/json-schemas.js';
import { checkActionSpec } from '../../spec/action.js';
import { schemaProblems } from '../../common/templates/json-schema.js';

const dir = fileURLToPath(new URL('../../schema/', import.meta.url));
const published = (name: string): unknown => JSON.parse(readFileSync(`${dir}${name}`, 'utf8'));

describe('the published JSON Schemas', () => {
  it('are exactly what the zod schemas generate (run npm run schema after changing spec/)', () => {
    const generated = contractSchemas();
    expect(
      readdirSync(dir)
        .filter((f) => f.endsWith('.json'))
        .sort(),
    ).toEqual(Object.keys(generated).sort());
    for (const [name, schema] of Object.entries(generated))
      expect(readFileSync(`${dir}${name}`, 'utf8'), name).toBe(schemaText(schema));
  });

  it('accept a full spec the code accepts', () => {
    const spec = {
      image: 'registry.example/team/train:1',
      command: ['python', 'train.py'],
      env: { EPOCHS: '3' },
      resources: { cpu: '500m', memory: '256Mi', outDisk: '1Gi' },
      timeout: '10m',
      input: { rows: [1, 2, 3] },
      output: 'json',
      inputs: [{ from: 's3://bucket/data/', to: '/in/data' }],
      files: [{ path: '/etc/app.conf', content: 'x=1', mode: '0600' }],
      retry: { attempts: 2, onExitCodes: [3] },
    };
    expect(checkActionSpec(spec).success).toBe(true);
    expect(schemaProblems(published('action-spec.schema.json'), spec)).toEqual([]);
    expect(schemaProblems(published('run-action-input.schema.json'), { spec, member: { index: 0, count: 2 } })).toEqual(
      [],
    );
  });

  it('refuse, with a pointer, what the code refuses: a field of the wrong type, an unknown field, a missing image', () => {
    const schema = published('action-spec.schema.json');
    for (const [spec, pointer] of [
      [{ image: 'r/x:1', timeout: { seconds: 3 } }, '/timeout'],
      [{ image: 'r/x:1', env: { A: 1 } }, '/env/A'],
      [{ image: 'r/x:1', imagePullPolicy: 'Always' }, ''],
      [{ command: ['true'] }, ''],
    ] as const) {
      expect(checkActionSpec(spec).success, JSON.stringify(spec)).toBe(false);
      expect(
        schemaProblems(schema, spec).map((p) => p.pointer),
        JSON.stringify(spec),
      ).toContain(pointer);
    }
  });

  it('describe a result as the worker writes it', () => {
    const result = {
      actionId: 'a-1',
      runId: 'r',
      status: 'FAILED',
      exitCode: 3,
      reason: 'exit',
      message: 'exit code 3',
      image: 'r/x:1',
      attempts: 1,
      timings: [{ step: 'run', startedAt: '2026-01-01T00:00:00Z', ms: 12 }],
      artifacts: [{ path: 'a.txt', uri: 's3://b/a-1/out/a.txt', size: 2 }],
      artifactTotals: { files: 1, bytes: 2 },
      skipped: [],
      logTail: ['boom'],
      startedAt: '2026-01-01T00:00:00Z',
      finishedAt: '2026-01-01T00:00:01Z',
    };
    const schema = published('action-result.schema.json');
    expect(schemaProblems(schema, result)).toEqual([]);
    expect(schemaProblems(schema, { ...result, status: 'LOST' }).map((p) => p.pointer)).toContain('/status');
  });
});
