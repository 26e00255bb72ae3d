// Payloads encrypted with CAISSON_CODEC_KEYS on the real stack: the worker and a client with the key
// run an action as ever, while its spec, env, input and result are ciphertext in the history the
// real Temporal CLI reads back; search attributes stay readable, and a client without the key
// cannot read the result.
import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { ActionsClient } from '../../client/index.js';
import { temporalSettingsFromEnv } from '../../common/connection/temporal-connection.js';
import { createCodecServer } from '../../common/connection/codec-server.js';
import { AesGcmCodec, parseCodecKeys } from '../../common/connection/payload-codec.js';
import { busybox, workerOfItsOwn, expectNoLeftovers } from '../support/actions.js';
import { env } from '../support/env.js';

const cleanups: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const temporal = (...args: string[]) =>
  execFileSync(env('TEMPORAL_CLI'), [...args, '--address', env('TEMPORAL_ADDRESS'), '--output', 'json'], {
    encoding: 'utf8',
    maxBuffer: 64 << 20,
  });
/** The same without blocking this process: for calls served by a codec server running in it. */
const temporalAsync = async (...args: string[]) =>
  (
    await promisify(execFile)(
      env('TEMPORAL_CLI'),
      [...args, '--address', env('TEMPORAL_ADDRESS'), '--output', 'json'],
      { encoding: 'utf8', maxBuffer: 64 << 20, timeout: 30_000 },
    )
  ).stdout;

/**
 * A worker of its own and a client sharing a fresh key: everything between them is encrypted. The
 * worker reads the key from a file, as from a mounted secret.
 */
async function encryptedFleet(name: string) {
  const keys = `k1:${randomBytes(32).toString('base64')}`;
  const dir = mkdtempSync(join(tmpdir(), 'caisson-keys-'));
  cleanups.push(async () => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'keys'), `${keys}\n`, { mode: 0o600 });
  const { host, taskQueue } = await workerOfItsOwn(
    name,
    { CAISSON_CODEC_KEYS: '', CAISSON_CODEC_KEYS_FILE: join(dir, 'keys') },
    cleanups,
  );
  cleanups.push(() => expectNoLeftovers(host));
  const keyed = await ActionsClient.connect({ ...temporalSettingsFromEnv(), codecKeys: keys }, taskQueue);
  cleanups.push(() => keyed.close());
  return { keys, keyed, taskQueue };
}

describe('with CAISSON_CODEC_KEYS', () => {
  it('runs as ever, and history holds only ciphertext of spec, env, input and result', async () => {
    const { keyed, taskQueue } = await encryptedFleet('encrypted');
    const marker = `plain-${randomUUID()}`;
    const handle = await keyed.start(
      busybox('echo "$MARKER" > /out/m.txt; cat', {
        env: { MARKER: marker },
        input: { marker: `${marker}-input` },
        source: 'encryption-test',
      }),
    );
    const result = await handle.result();
    expect(result).toMatchObject({ status: 'DONE', logTail: [JSON.stringify({ marker: `${marker}-input` })] });

    const history = temporal('workflow', 'show', '--workflow-id', handle.actionId);
    expect(history).not.toContain(marker); // not in clear, nor base64 of it below
    expect(history).not.toContain(Buffer.from(marker).toString('base64').slice(0, 24));
    expect(history).toContain(Buffer.from('binary/encrypted').toString('base64'));
    // Search attributes are not payloads: still there to find the action by.
    const listed = JSON.parse(
      temporal('workflow', 'list', '--query', `WorkflowId = '${handle.actionId}' AND ActionStatus = 'DONE'`),
    ) as unknown[];
    expect(listed).toHaveLength(1);

    const keyless = await ActionsClient.connect({ ...temporalSettingsFromEnv(), codecKeys: undefined }, taskQueue);
    cleanups.push(() => keyless.close());
    // Without the key the result cannot be read: its payload's encoding is one only the codec knows.
    await expect(keyless.client.workflow.getHandle(handle.actionId).result()).rejects.toThrow(/binary\/encrypted/);
  });
});

/** The start event's input as the CLI's JSON shows it: payload data is base64 there. */
function startInput(historyJson: string): string {
  const history = JSON.parse(historyJson) as {
    events: { workflowExecutionStartedEventAttributes?: { input?: { payloads?: { data?: string }[] } } }[];
  };
  const payloads = history.events[0]?.workflowExecutionStartedEventAttributes?.input?.payloads ?? [];
  return payloads.map((p) => Buffer.from(p.data ?? '', 'base64').toString('utf8')).join('\n');
}

describe('the codec server', () => {
  it('lets the Temporal CLI show decoded history with its token, and nothing without', async () => {
    const { keys, keyed } = await encryptedFleet('codecserver');
    const marker = `plain-${randomUUID()}`;
    const handle = await keyed.start(busybox('true', { env: { MARKER: marker } }));
    expect((await handle.result()).status).toBe('DONE');

    const token = randomUUID();
    const server = createCodecServer({ codecs: [new AesGcmCodec(parseCodecKeys(keys))], origins: [], token });
    // What the server answered, request by request: the wrong token must be refused by it.
    const answers: { auth: string; status: number }[] = [];
    server.on('request', (req, res) =>
      res.on('finish', () => answers.push({ auth: String(req.headers.authorization), status: res.statusCode })),
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise((resolve) => server.close(resolve)));
    const endpoint = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    const decoded = await temporalAsync(
      'workflow',
      'show',
      '--workflow-id',
      handle.actionId,
      '--codec-endpoint',
      endpoint,
      '--codec-auth',
      `Bearer ${token}`,
    );
    expect(startInput(decoded)).toContain(marker);
    // A wrong token: the codec server refuses every decode (401), and the CLI shows no history.
    const refused = await temporalAsync(
      'workflow',
      'show',
      '--workflow-id',
      handle.actionId,
      '--codec-endpoint',
      endpoint,
      '--codec-auth',
      'Bearer wrong',
    ).then(
      (stdout) => ({ stdout, failed: false }),
      (err: { stdout?: string }) => ({ stdout: String(err.stdout ?? ''), failed: true }),
    );
    expect(refused.failed).toBe(true);
    expect(refused.stdout).not.toContain(marker);
    const wrong = answers.filter((a) => a.auth === 'Bearer wrong');
    expect(wrong.length).toBeGreaterThan(0);
    expect(wrong.every((a) => a.status === 401)).toBe(true);
    expect(answers.filter((a) => a.auth === `Bearer ${token}`).every((a) => a.status === 200)).toBe(true);
  });
});
