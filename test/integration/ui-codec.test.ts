// The Temporal UI with the codec server, in a real headless Chromium: a Temporal dev server of this
// file's own, started with --ui-codec-endpoint pointing at `caisson codec-server`, shows an
// encrypted action's spec in clear; the same page with the codec server out of reach does not.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ActionsClient } from '../../client/index.js';
import { freePort } from '../../harness/free-port.js';
import { busybox, expectNoLeftovers, workerOfItsOwn } from '../support/actions.js';
import { env } from '../support/env.js';

const CLI = new URL('../../build/cli/main.js', import.meta.url).pathname;
const SEARCH_ATTRIBUTES = [
  'ActionStatus=Keyword',
  'ActionImage=Keyword',
  'ActionExitCode=Int',
  'ActionHost=Keyword',
  'ActionSource=Keyword',
];
const keys = `k1:${randomBytes(32).toString('base64')}`;
const cleanups: (() => Promise<unknown>)[] = [];
let browser: Browser;
let address: string;
let ui: string;
let codecEndpoint: string;

/** A child process that is stopped (SIGTERM, then waited for) with the file's cleanups. */
function child(command: string, args: string[], extraEnv: Record<string, string> = {}): ChildProcess {
  const proc = spawn(command, args, { env: { ...process.env, ...extraEnv }, stdio: ['ignore', 'ignore', 'pipe'] });
  const exited = new Promise((resolve) => proc.once('exit', resolve));
  cleanups.push(async () => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
    await exited;
  });
  return proc;
}

async function until(what: string, check: () => Promise<boolean>, ms = 60_000): Promise<void> {
  for (const deadline = Date.now() + ms; Date.now() < deadline; await new Promise((r) => setTimeout(r, 200))) {
    if (await check().catch(() => false)) return;
  }
  throw new Error(`${what} not ready within ${ms} ms`);
}

beforeAll(async () => {
  const [port, uiPort, codecPort] = await Promise.all([freePort(), freePort(), freePort()]);
  address = `127.0.0.1:${port}`;
  ui = `http://127.0.0.1:${uiPort}`;
  codecEndpoint = `http://127.0.0.1:${codecPort}`;
  // The codec server as operators run it: the built CLI, the fleet's keys, the UI's origin.
  const codec = child(process.execPath, [CLI, 'codec-server', '--port', String(codecPort), '--origin', ui], {
    CAISSON_CODEC_KEYS: keys,
  });
  let said = '';
  codec.stderr!.on('data', (chunk: Buffer) => (said += chunk.toString()));
  await until('codec server', async () => said.includes('codec server on'));
  child(env('TEMPORAL_CLI'), [
    'server',
    'start-dev',
    '--ip',
    '127.0.0.1',
    '--port',
    String(port),
    '--ui-ip',
    '127.0.0.1',
    '--ui-port',
    String(uiPort),
    '--namespace',
    'default',
    '--log-level',
    'warn',
    '--ui-codec-endpoint',
    codecEndpoint,
    ...SEARCH_ATTRIBUTES.flatMap((sa) => ['--search-attribute', sa]),
  ]);
  await until('temporal', async () => (await fetch(`${ui}/`)).ok);
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}, 120_000);
afterAll(async () => {
  await browser?.close();
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe('the Temporal UI with the codec server', () => {
  it('shows the spec of an encrypted action in clear; with the codec server out of reach it does not', async () => {
    const { host, taskQueue } = await workerOfItsOwn(
      'uicodec',
      { CAISSON_CODEC_KEYS: keys, TEMPORAL_ADDRESS: address },
      cleanups,
    );
    cleanups.push(() => expectNoLeftovers(host));
    const client = await ActionsClient.connect({ address, namespace: 'default', codecKeys: keys }, taskQueue);
    cleanups.push(() => client.close());
    const marker = `visible-${randomUUID()}`;
    const handle = await client.start(busybox('true', { env: { MARKER: marker } }));
    expect((await handle.result()).status).toBe('DONE');
    const page = `${ui}/namespaces/default/workflows/${encodeURIComponent(handle.actionId)}`;

    const decoded = await browser.newPage();
    await decoded.goto(page);
    await decoded.getByText(marker).first().waitFor({ timeout: 30_000 });

    const blind = await browser.newPage();
    await blind.route(`${codecEndpoint}/**`, (route) => route.abort());
    await blind.goto(page);
    // The page is there (its workflow type shows), the spec's words are not.
    await blind.getByText('runAction').first().waitFor({ timeout: 30_000 });
    // Its input shows as what history holds: the encrypted payload's metadata ("binary/encrypted" in base64).
    await blind.getByText(Buffer.from('binary/encrypted').toString('base64')).first().waitFor({ timeout: 30_000 });
    expect(await blind.locator('body').innerText()).not.toContain(marker);
  });
});
