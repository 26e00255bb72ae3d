// runContainer (run-container.ts) checks every host path of the run before it makes anything:
// inputs' targets, files' paths and the disk folder named after the run. A request that would
// lead outside ends at once with RefusedByHost naming the field; the engine is never asked.
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type Docker from 'dockerode';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { HostDisks } from '../../activities/disks/host-disk.js';
import { runContainer, type RunDeps } from '../../activities/container/run-container.js';
import type { ContainerRequest } from '../../activities/types.js';
import { parseActionSpec, type Action } from '../../spec/action.js';

let dir: string;
let engineCalls: string[];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'paths-run-'));
  engineCalls = [];
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function deps(): RunDeps {
  const record = (what: string) => () => {
    engineCalls.push(what);
    throw new Error(`engine asked: ${what}`);
  };
  return {
    docker: {
      getContainer: () => ({ inspect: record('inspect') }),
      createContainer: record('create'),
    } as unknown as Docker,
    host: 'host-a',
    capacity: { touch: () => {}, heldBy: () => undefined },
    env: {},
    artifactsUri: () => 's3://b/x/',
    stopRequested: new Set(),
    engineLost: new Set(),
    disks: new HostDisks(join(dir, 'disks')),
    diskBytes: () => 1 << 30,
  } as unknown as RunDeps;
}

const base = parseActionSpec({ image: 'r.example/tool:1', command: ['true'] });
function request(extra: Partial<Action> = {}, runId = 'run-1'): ContainerRequest {
  return { actionId: 'a1', runId, attempt: 1, stopGraceSeconds: 1, spec: { ...base, ...extra } };
}
const hooks = { heartbeat: () => {}, signal: new AbortController().signal, firstTry: true, secrets: {} };

async function refusedField(req: ContainerRequest): Promise<string> {
  const err = (await runContainer(deps(), req, hooks).catch((e: unknown) => e)) as {
    type?: string;
    details?: { field: string }[];
    message: string;
  };
  expect(err.type, err.message).toBe('RefusedByHost');
  return err.details![0]!.field;
}

describe('runContainer refuses host paths outside their roots before it makes anything', () => {
  it('an input target that climbs out of /in', async () => {
    expect(await refusedField(request({ inputs: [{ from: 's3://bucket/k', to: '/in/../../../../tmp/x' }] }))).toBe(
      'inputs.0.to',
    );
  });

  it('a file path with "..", or in a mounted folder', async () => {
    const file = (path: string) => ({ path, content: 'x', mode: 0o644 });
    expect(await refusedField(request({ files: [file('/etc/ok'), file('/etc/../../x')] }))).toBe('files.1.path');
    expect(await refusedField(request({ files: [file('/out/x')] }))).toBe('files.0.path');
  });

  it('a run id that would put the disk folder outside the disks folder', async () => {
    expect(await refusedField(request({}, '../../../../etc'))).toBe('runId');
    expect(await refusedField(request({}, 'x/y'))).toBe('runId');
  });

  it('and leaves no folder, no container', async () => {
    await refusedField(request({ inputs: [{ from: 's3://bucket/k', to: '/in/a/../../x' }] }));
    expect(engineCalls).toEqual([]);
    expect(() => readdirSync(join(dir, 'disks'))).toThrow(/ENOENT/);
  });
});
