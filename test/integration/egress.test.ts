// Controlled egress on the real stack. A fake outside world lives in a network namespace of its own
// (a veth pair in 198.18.253.0/30) with an HTTP server on port 80 and a plain TCP server on 443
// reached through CONNECT; /etc/hosts names it for the proxy under the test-only caisson.test
// domain. An action with `network: egress` reaches the names its host's policy allows, through its
// proxy only: other names, addresses, the fleet's Temporal and S3, and the world directly are not.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { ActionsClient } from '../../client/index.js';
import { EGRESS_NETWORK } from '../../activities/egress/egress-network.js';
import { CONNECT_PORT } from '../../activities/egress/proxy-config.js';
import { addVethNamespace, ip, removeVethNamespace } from '../../harness/veth-namespace.js';
import type { WorkerProcess } from '../../harness/worker-process.js';
import { busybox, connectClient, expectNoLeftovers, workerOfItsOwn } from '../support/actions.js';
import { docker, env } from '../support/env.js';

const tag = `${process.pid % 100000}`;
const WORLD_NS = `cs-eg${tag}`;
const OUTSIDE = `cse${tag}h`;
const INSIDE = `cse${tag}n`;
const ROOT_ADDRESS = '198.18.253.1';
const WORLD = '198.18.253.2';
const HOSTS_LINE = `${WORLD} allowed.caisson.test sub.wild.caisson.test denied.caisson.test # caisson egress test ${tag}`;

const dir = mkdtempSync(join(tmpdir(), 'caisson-egress-test-'));
const cleanups: (() => Promise<unknown>)[] = [];
let client: ActionsClient;
let host: string;
let worker: WorkerProcess;

/** The world's servers: HTTP answers with the name it was asked for; 443 greets whoever connects. */
const WORLD_SERVERS = `
const http = require('node:http'), net = require('node:net');
http.createServer((req, res) => res.end('hello from ' + req.headers.host + '\\n')).listen(80, '${WORLD}', () => {
  net.createServer((s) => s.end('greetings from ${CONNECT_PORT}\\n')).listen(${CONNECT_PORT}, '${WORLD}', () => console.log('listening'));
});`;

async function startWorld(): Promise<ChildProcess> {
  cleanups.push(() => removeVethNamespace({ netns: WORLD_NS, outside: OUTSIDE }));
  await addVethNamespace({ netns: WORLD_NS, outside: OUTSIDE, inside: INSIDE, root: ROOT_ADDRESS, mine: WORLD });
  // A way back to egress containers: were the host to route their packets, the world would answer.
  await ip('netns', 'exec', WORLD_NS, 'ip', 'route', 'add', 'default', 'via', ROOT_ADDRESS);
  const servers = spawn('ip', ['netns', 'exec', WORLD_NS, process.execPath, '-e', WORLD_SERVERS], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  cleanups.push(async () => {
    if (servers.exitCode === null && servers.signalCode === null) {
      const exited = new Promise((resolve) => servers.once('exit', resolve));
      servers.kill('SIGTERM');
      await exited;
    }
  });
  await new Promise<void>((resolve, reject) => {
    servers.stdout!.on('data', (d: Buffer) => d.toString().includes('listening') && resolve());
    servers.once('exit', (code) => reject(new Error(`the world's servers exited with ${code}`)));
  });
  return servers;
}

/** The world's names, for the proxy's resolver; the line is taken out again whatever happens. */
function nameTheWorld(): void {
  const withoutOurs = () =>
    readFileSync('/etc/hosts', 'utf8')
      .split('\n')
      .filter((line) => line !== HOSTS_LINE)
      .join('\n');
  cleanups.push(async () => writeFileSync('/etc/hosts', withoutOurs()));
  const hosts = withoutOurs();
  writeFileSync('/etc/hosts', `${hosts}${hosts.endsWith('\n') ? '' : '\n'}${HOSTS_LINE}\n`);
}

beforeAll(async () => {
  await startWorld();
  nameTheWorld();
  const policyFile = join(dir, 'policy.json');
  writeFileSync(
    policyFile,
    JSON.stringify({
      egress: { images: [`${env('TEST_REGISTRY')}/caisson/*`], allow: ['allowed.caisson.test', '*.wild.caisson.test'] },
    }),
  );
  ({ client, host, worker } = await workerOfItsOwn('egress', { CAISSON_POLICY_FILE: policyFile }, cleanups));
}, 60_000);
afterEach(async () => {
  await expectNoLeftovers(host);
});
afterAll(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => {});
  rmSync(dir, { recursive: true, force: true });
}, 60_000);

/**
 * Each probe prints one line: the answer's status line and what the world said, or why it failed.
 * (busybox's wget crashes through a proxy here, so requests are written by hand, as tools send
 * them: ASK writes one and keeps its side open, printing the answer, until the proxy closes.)
 */
const probe = (label: string, command: string) =>
  `echo "${label}: $( (${command}) 2>&1 | tr -d '\\r' | grep -E '^HTTP/|hello|greetings|open|refused|can.t' | tr '\\n' ' ')"`;
const ASK = [
  'PROXY=${HTTP_PROXY#http://}; PROXY_HOST=${PROXY%:*}; PROXY_PORT=${PROXY##*:}',
  'printf \'#!/bin/sh\\nprintf "%%s\\\\r\\\\n\\\\r\\\\n" "$REQ"\\ncat >&2\\n\' > /tmp_disk/ask; chmod +x /tmp_disk/ask',
];
const viaProxy = (request: string) => `REQ='${request}' timeout 5 nc "$PROXY_HOST" "$PROXY_PORT" -e /tmp_disk/ask`;
const get = (url: string) => viaProxy(`GET ${url} HTTP/1.0`);
const connectThrough = (target: string) => viaProxy(`CONNECT ${target} HTTP/1.0`);
const direct = (address: string, port: number) =>
  `timeout 3 nc ${address} ${port} </dev/null && echo open || echo refused`;

const SCRIPT = [
  ...ASK,
  'echo "proxy: $HTTPS_PROXY $https_proxy $http_proxy no_proxy=$NO_PROXY"',
  probe('allowed', get('http://allowed.caisson.test/')),
  probe('wildcard', get('http://sub.wild.caisson.test/')),
  probe('denied', get('http://denied.caisson.test/')),
  probe('address', get(`http://${WORLD}/`)),
  probe('metadata', get('http://169.254.169.254/latest/meta-data/')),
  probe('temporal', get('http://127.0.0.1:7233/')),
  probe('minio', get('http://localhost:9000/minio/health/live')),
  probe('connect', connectThrough(`allowed.caisson.test:${CONNECT_PORT}`)),
  probe('connect-denied', connectThrough(`denied.caisson.test:${CONNECT_PORT}`)),
  probe('connect-address', connectThrough(`${WORLD}:${CONNECT_PORT}`)),
  probe('connect-port', connectThrough('allowed.caisson.test:80')),
  probe('connect-temporal', connectThrough('127.0.0.1:7233')),
  probe('connect-minio', connectThrough('localhost:9000')),
  probe('direct-world', direct(WORLD, 80)),
  probe('direct-temporal', direct('"$PROXY_HOST"', 7233)),
  probe('direct-minio', direct('"$PROXY_HOST"', 9000)),
].join('\n');

const lineOf = (logTail: string[], label: string) => logTail.find((line) => line.startsWith(`${label}: `)) ?? '';

describe('network egress', () => {
  it('reaches the allowed names over HTTP and CONNECT, nothing else; the proxy log names the action', async () => {
    const handle = await client.start(busybox(SCRIPT, { network: 'egress', timeout: '2m' }));
    const result = await handle.result();
    expect(result.status).toBe('DONE');
    const tail = result.logTail;
    const line = (label: string) => lineOf(tail, label);
    expect(line('proxy')).toMatch(
      /^proxy: http:\/\/198\.19\.255\.1:\d+ http:\/\/198\.19\.255\.1:\d+ http:\/\/198\.19\.255\.1:\d+ no_proxy=localhost,127\.0\.0\.1$/,
    );
    expect(line('allowed')).toBe('allowed: HTTP/1.1 200 OK hello from allowed.caisson.test ');
    expect(line('wildcard')).toBe('wildcard: HTTP/1.1 200 OK hello from sub.wild.caisson.test ');
    for (const label of ['denied', 'address', 'metadata', 'temporal', 'minio', 'connect-denied', 'connect-address'])
      expect(line(label)).toBe(`${label}: HTTP/1.0 403 Filtered `);
    expect(line('connect')).toBe('connect: HTTP/1.0 200 Connection established greetings from 443 ');
    // CONNECT reaches port 443 only, whatever the name.
    for (const label of ['connect-port', 'connect-temporal', 'connect-minio'])
      expect(line(label)).toBe(`${label}: HTTP/1.0 403 Access violation `);
    // Nothing but the proxy: the world is not routed to, and the gateway offers the host's loopback services to no one.
    for (const label of ['direct-world', 'direct-temporal', 'direct-minio'])
      expect(line(label)).toMatch(new RegExp(`^${label}: .*refused $`));
    // The container was on the egress network, and the worker's log names the action at each refusal.
    await vi.waitFor(
      () => {
        const log = readFileSync(worker.logFile, 'utf8')
          .split('\n')
          .filter((l) => l.includes(handle.actionId) && l.includes('egress proxy'));
        expect(log.join('\n')).toContain('Proxying refused on filtered domain \\"denied.caisson.test\\"');
      },
      { timeout: 10_000, interval: 200 },
    );
    expect(await docker().listNetworks({ filters: { name: [EGRESS_NETWORK] } })).toHaveLength(1);
  }, 120_000);

  it("a spec's own list narrows the policy's: a name the policy allows but the spec leaves out is refused", async () => {
    const script = [
      ...ASK,
      probe('allowed', get('http://allowed.caisson.test/')),
      probe('wildcard', get('http://sub.wild.caisson.test/')),
    ];
    const handle = await client.start(
      busybox(script.join('\n'), { network: 'egress', egress: { allow: ['allowed.caisson.test'] }, timeout: '1m' }),
    );
    const result = await handle.result();
    expect(result.status).toBe('DONE');
    expect(lineOf(result.logTail, 'allowed')).toBe('allowed: HTTP/1.1 200 OK hello from allowed.caisson.test ');
    expect(lineOf(result.logTail, 'wildcard')).toBe('wildcard: HTTP/1.0 403 Filtered ');
  }, 60_000);

  it("a spec list wider than the policy's is refused by the host, before any container", async () => {
    const result = await (
      await client.start(
        busybox('true', { network: 'egress', egress: { allow: ['allowed.caisson.test', 'pypi.org'] } }),
      )
    ).result();
    expect(result).toMatchObject({ status: 'FAILED', reason: 'policy', exitCode: null });
    expect(result.message).toContain(
      'egress.allow: pypi.org beyond what this fleet allows (allowed.caisson.test, *.wild.caisson.test); a spec may only narrow the list',
    );
  }, 60_000);

  it('without the policy\'s grant, network "egress" is refused with the reason', async () => {
    const suite = await connectClient();
    try {
      const result = await (await suite.start(busybox('true', { network: 'egress' }))).result();
      expect(result).toMatchObject({ status: 'FAILED', reason: 'policy', exitCode: null });
      expect(result.message).toContain('network: "egress" is not allowed for');
      expect(result.message).toContain('(its policy grants egress to no image); use "none"');
    } finally {
      await suite.close();
    }
  }, 60_000);
});
