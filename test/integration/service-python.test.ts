// A service in another language: Python's temporalio (from PyPI) starts actions by workflow type with
// the published contract, encrypting payloads as the TypeScript side does; its results meet
// schema/action-result.schema.json, and the typed client reads the same action.
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { ActionsClient } from '../../client/index.js';
import { schemaProblems } from '../../common/templates/json-schema.js';
import { connectClient } from '../support/actions.js';
import { env } from '../support/env.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const SCRIPT = join(ROOT, 'examples/service-python/start_action.py');
const resultSchema = JSON.parse(readFileSync(join(ROOT, 'schema/action-result.schema.json'), 'utf8')) as unknown;
const dir = mkdtempSync(join(tmpdir(), 'caisson-python-'));
let client: ActionsClient;
beforeAll(async () => {
  client = await connectClient();
});
afterAll(async () => {
  await client.close();
  rmSync(dir, { recursive: true, force: true });
});

function startFromPython(
  spec: unknown,
  actionId: string,
): Promise<{ code: number | string; stdout: string; stderr: string }> {
  const file = join(dir, `${actionId}.json`);
  writeFileSync(file, JSON.stringify(spec));
  return new Promise((resolve) => {
    execFile(
      env('PYTHON_BIN'),
      [SCRIPT, file, actionId],
      { env: { ...process.env, CAISSON_TASK_QUEUE: inject('taskQueue') }, timeout: 180_000 },
      (error, stdout, stderr) =>
        // A signal (the process aborted) is named rather than counted as exit 1.
        resolve({
          code: error
            ? ((error as { code?: number }).code ?? `signal ${String((error as { signal?: string }).signal)}`)
            : 0,
          stdout,
          stderr,
        }),
    );
  });
}

describe('a Python service', () => {
  it('starts an action by type name with an encrypted spec and reads its DONE result, which meets the published schema', async () => {
    const actionId = `py-${randomUUID()}`;
    const spec = {
      image: env('TEST_IMAGE_BUSYBOX'),
      command: ['sh', '-c', 'echo "{\\"sum\\": $((A + 2))}"; echo x > /out/a.txt'],
      env: { A: '40' },
      output: 'json',
      timeout: '60s',
    };
    const { code, stdout, stderr } = await startFromPython(spec, actionId);
    expect(stderr).toBe('');
    // The result first: when the action did not end DONE, its status, reason and message say why.
    const result = JSON.parse(stdout) as Record<string, unknown>;
    expect(result.status, `${String(result.reason)}: ${String(result.message)}`).toBe('DONE');
    expect(result).toMatchObject({
      actionId,
      status: 'DONE',
      exitCode: 0,
      output: { sum: 42 },
      artifactTotals: { files: 1, bytes: 2 },
    });
    expect(code).toBe(0);
    expect(schemaProblems(resultSchema, result)).toEqual([]);
    // The same action through the typed client: the payloads Python wrote decrypt here too.
    expect(await client.attach(actionId).result()).toEqual(result);
    // Python's start went into history encrypted: the spec (and its env) is no readable payload.
    const history = await client.client.workflow.getHandle(actionId).fetchHistory();
    const started = history.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads ?? [];
    expect(started.map((p) => Buffer.from(p.metadata?.encoding ?? []).toString())).toEqual([
      'binary/encrypted',
      'binary/encrypted',
    ]);
  });

  it('reads a FAILED result from the workflow failure, with its exit code', async () => {
    const actionId = `py-${randomUUID()}`;
    const { code, stdout } = await startFromPython(
      { image: env('TEST_IMAGE_BUSYBOX'), command: ['sh', '-c', 'exit 3'], timeout: '60s' },
      actionId,
    );
    expect(code).toBe(1);
    const result = JSON.parse(stdout) as Record<string, unknown>;
    expect(result).toMatchObject({ actionId, status: 'FAILED', exitCode: 3, reason: 'exit' });
    expect(schemaProblems(resultSchema, result)).toEqual([]);
    expect(
      (await client.list({ image: env('TEST_IMAGE_BUSYBOX'), status: 'FAILED', limit: 200 })).map((a) => a.actionId),
    ).toContain(actionId);
  });
});
