// Failures in history with CAISSON_CODEC_KEYS on the real stack: a failed action's messages and
// stack traces (an output-not-json failure quotes the container's stdout; a refusal names the
// secret) are encrypted like payloads. A client without the key reads "Encoded failure" and
// ciphertext in the raw history; a client with it gets the messages back.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection, WorkflowFailedError } from '@temporalio/client';
import proto from '@temporalio/proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ActionsClient } from '../../client/index.js';
import { temporalSettingsFromEnv } from '../../common/connection/temporal-connection.js';
import { ENCRYPTED_ENCODING } from '../../common/connection/payload-codec.js';
import { busybox, expectNoLeftovers, workerOfItsOwn } from '../support/actions.js';
import { env } from '../support/env.js';

const { temporal } = proto;
type History = proto.temporal.api.history.v1.IHistory;
type Failure = proto.temporal.api.failure.v1.IFailure;

const cleanups: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

let keyed: ActionsClient;
let keyless: Client;

/** A worker of its own and a client sharing a fresh key (the worker's from a file, as a mounted secret), and a client with no codec. */
beforeAll(async () => {
  const keys = `k1:${randomBytes(32).toString('base64')}`;
  const dir = mkdtempSync(join(tmpdir(), 'caisson-keys-'));
  cleanups.push(async () => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'keys'), `${keys}\n`, { mode: 0o600 });
  const { host, taskQueue } = await workerOfItsOwn(
    'failenc',
    { CAISSON_CODEC_KEYS: '', CAISSON_CODEC_KEYS_FILE: join(dir, 'keys') },
    cleanups,
  );
  cleanups.push(() => expectNoLeftovers(host));
  keyed = await ActionsClient.connect({ ...temporalSettingsFromEnv(), codecKeys: keys }, taskQueue);
  cleanups.push(() => keyed.close());
  const connection = await Connection.connect({ address: env('TEMPORAL_ADDRESS') });
  cleanups.push(() => connection.close());
  keyless = new Client({ connection, namespace: process.env.TEMPORAL_NAMESPACE ?? 'default' });
});

/** Every failure of the history, causes included, as the server stores it. */
function failuresOf(history: History): Failure[] {
  const found: Failure[] = [];
  for (const event of history.events ?? []) {
    for (const attributes of Object.values(event)) {
      for (let f = (attributes as { failure?: Failure | null } | null)?.failure; f; f = f.cause) found.push(f);
    }
  }
  return found;
}

/** What a reader without the key sees of a failed action: the raw history, from a client with no codec. */
async function rawHistory(actionId: string) {
  const history = await keyless.workflow.getHandle(actionId).fetchHistory();
  const bytes = Buffer.from(temporal.api.history.v1.History.encode(history).finish());
  return { history, bytes, failures: failuresOf(history) };
}

/** Each failure shows neither message nor stack; both are in an encrypted payload. */
function expectEncrypted(failures: Failure[], marker: string, bytes: Buffer) {
  expect(failures.length).toBeGreaterThan(0);
  for (const failure of failures) {
    expect(failure.message).toBe('Encoded failure');
    expect(failure.stackTrace ?? '').toBe('');
    expect(Buffer.from(failure.encodedAttributes?.metadata?.encoding ?? []).toString()).toBe(ENCRYPTED_ENCODING);
  }
  // Nowhere in clear, nor in base64 (as the CLI's JSON would carry a plain payload).
  expect(bytes.includes(marker)).toBe(false);
  expect(bytes.includes(Buffer.from(marker).toString('base64').slice(0, 12))).toBe(false);
}

/** The client with the key gets the message back: the marker was in it. */
async function decodedFailure(actionId: string): Promise<Error> {
  const error = await keyed.client.workflow
    .getHandle(actionId)
    .result()
    .then(
      () => undefined,
      (err: unknown) => err,
    );
  expect(error).toBeInstanceOf(WorkflowFailedError);
  return (error as WorkflowFailedError).cause!;
}

describe('with CAISSON_CODEC_KEYS, a failed action in history', () => {
  it('output-not-json: the workflow failure quoting stdout is encrypted', async () => {
    const marker = `leak${randomBytes(4).toString('hex')}`; // short: JSON.parse quotes it whole
    const handle = await keyed.start(busybox(`echo ${marker}`, { output: 'json' }));
    const result = await handle.result();
    expect(result).toMatchObject({ status: 'FAILED', reason: 'output-not-json' });
    expect(result.message).toContain(marker);

    const { failures, bytes, history } = await rawHistory(handle.actionId);
    const failed = history.events!.find((e) => e.workflowExecutionFailedEventAttributes)!
      .workflowExecutionFailedEventAttributes!.failure!;
    expect(failed.applicationFailureInfo?.type).toBe('ActionFailed'); // the type stays readable, as the search attributes do
    expectEncrypted(failures, marker, bytes);

    const decoded = await decodedFailure(handle.actionId);
    expect(decoded.message).toContain(marker);
    expect(decoded.stack).toMatch(/\S/);
  });

  it("an activity's failure naming a secret is encrypted too", async () => {
    const marker = `LEAK_${randomBytes(4).toString('hex').toUpperCase()}`;
    const handle = await keyed.start(busybox('true', { secrets: [marker] }));
    const result = await handle.result();
    expect(result.status).toBe('FAILED');
    expect(result.message).toContain(marker);

    const { failures, bytes, history } = await rawHistory(handle.actionId);
    expect(history.events!.some((e) => e.activityTaskFailedEventAttributes)).toBe(true);
    expectEncrypted(failures, marker, bytes);
    expect((await decodedFailure(handle.actionId)).message).toContain(marker);
  });
});
