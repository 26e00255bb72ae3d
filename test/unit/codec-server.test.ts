// The codec server over real HTTP on loopback: it decodes for the CLI and for the listed browser
// origin; a rebound Host name (DNS rebinding) and an origin not listed get 403 before any payload
// reaches a codec; off loopback it listens only with a token. The last part runs `caisson
// codec-server` itself.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { request, type Server } from 'node:http';
import { fileURLToPath } from 'node:url';
import type { Payload, PayloadCodec } from '@temporalio/common';
import { afterEach, describe, expect, it } from 'vitest';
import { createCodecServer, startCodecServer, type CodecServerOptions } from '../../common/connection/codec-server.js';
import { AesGcmCodec } from '../../common/connection/payload-codec.js';

const UI = 'http://127.0.0.1:8233';
const KEYS = `k1:${randomBytes(32).toString('base64')}`;
const codec = new AesGcmCodec([{ id: 'k1', key: Buffer.from(KEYS.slice(3), 'base64') }]);

/** The AES codec, counting what reaches it: a refused request must not. */
function countingCodec(): PayloadCodec & { calls: number } {
  const counted = {
    calls: 0,
    async encode(payloads: Payload[]) {
      counted.calls++;
      return codec.encode(payloads);
    },
    async decode(payloads: Payload[]) {
      counted.calls++;
      return codec.decode(payloads);
    },
  };
  return counted;
}

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
});

async function listening(server: Server, ip = '127.0.0.1'): Promise<number> {
  servers.push(server);
  if (!server.listening) await new Promise<void>((resolve) => server.listen(0, ip, resolve));
  return (server.address() as { port: number }).port;
}

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** One HTTP request with the headers given as they are (Host included, which fetch would not send). */
function call(
  address: string,
  port: number,
  method: string,
  path: string,
  headers: Record<string, string>,
  body?: string,
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: address, port, method, path, headers: { Host: `${address}:${port}`, ...headers } },
      (res) => {
        let text = '';
        res.on('data', (chunk: Buffer) => (text += chunk.toString()));
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: text }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** An encrypted payload as the Temporal API's JSON carries it, and the text inside it. */
async function sealed(text: string) {
  const [payload] = await codec.encode([
    { metadata: { encoding: Buffer.from('json/plain') }, data: Buffer.from(JSON.stringify(text)) },
  ]);
  const b64 = (bytes: Uint8Array | null | undefined) => Buffer.from(bytes ?? []).toString('base64');
  const metadata = Object.fromEntries(Object.entries(payload!.metadata ?? {}).map(([k, v]) => [k, b64(v)]));
  return JSON.stringify({ payloads: [{ metadata, data: b64(payload!.data) }] });
}

const decodedText = (reply: Reply) =>
  (JSON.parse(reply.body) as { payloads: { data: string }[] }).payloads.map(
    (p) => JSON.parse(Buffer.from(p.data, 'base64').toString()) as string,
  );

async function server(options: Partial<CodecServerOptions> = {}, ip = '127.0.0.1') {
  const counted = countingCodec();
  const port = await listening(createCodecServer({ codecs: [counted], origins: [UI], ...options }), ip);
  const decode = async (headers: Record<string, string>, address = '127.0.0.1') =>
    call(
      address,
      port,
      'POST',
      '/decode',
      { 'Content-Type': 'application/json', ...headers },
      await sealed('secret text'),
    );
  return { port, counted, decode };
}

describe('the codec server', () => {
  it('decodes for the CLI on loopback, by address or by name', async () => {
    const { port, decode } = await server();
    const byAddress = await decode({});
    expect(byAddress.status).toBe(200);
    expect(decodedText(byAddress)).toEqual(['secret text']);
    expect((await decode({ Host: `localhost:${port}` })).status).toBe(200);
  });

  it('decodes for the listed origin, with the CORS headers its browser needs', async () => {
    const { port, decode } = await server();
    const preflight = await call('127.0.0.1', port, 'OPTIONS', '/decode', {
      Origin: UI,
      'Access-Control-Request-Method': 'POST',
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers['access-control-allow-origin']).toBe(UI);
    const reply = await decode({ Origin: UI });
    expect(reply.status).toBe(200);
    expect(reply.headers['access-control-allow-origin']).toBe(UI);
    expect(decodedText(reply)).toEqual(['secret text']);
  });

  it('refuses a rebound Host name with 403, decoding nothing', async () => {
    const { port, counted, decode } = await server();
    for (const host of [
      `attacker.example:${port}`,
      `127.0.0.1.attacker.example:${port}`,
      'attacker.example',
      `localhost@attacker.example:${port}`,
    ]) {
      const reply = await decode({ Host: host });
      expect(reply.status, host).toBe(403);
      expect(reply.body).not.toContain('secret text');
    }
    expect(counted.calls).toBe(0);
  });

  it('answers to the names it is given (a reverse proxy, a DNS name)', async () => {
    const { decode } = await server({ hosts: ['codec.example.com'] });
    expect((await decode({ Host: 'codec.example.com' })).status).toBe(200);
    expect((await decode({ Host: 'CODEC.example.com:443' })).status).toBe(200);
    expect((await decode({ Host: 'other.example.com' })).status).toBe(403);
  });

  it('refuses an origin not listed with 403 before anything is decoded, preflight included', async () => {
    const { port, counted, decode } = await server();
    for (const origin of ['https://evil.example', 'null', 'http://127.0.0.1:8234']) {
      const reply = await decode({ Origin: origin });
      expect(reply.status, origin).toBe(403);
      expect(reply.headers['access-control-allow-origin']).toBeUndefined();
      expect(reply.body).not.toContain('secret text');
      const preflight = await call('127.0.0.1', port, 'OPTIONS', '/decode', {
        Origin: origin,
        'Access-Control-Request-Method': 'POST',
      });
      expect(preflight.status).toBe(403);
      expect(preflight.headers['access-control-allow-origin']).toBeUndefined();
    }
    expect(counted.calls).toBe(0);
  });

  it('with a token, decodes only for calls that carry it', async () => {
    const { counted, decode } = await server({ token: 'the-token' });
    expect((await decode({})).status).toBe(401);
    expect((await decode({ Authorization: 'Bearer wrong-token' })).status).toBe(401);
    expect(counted.calls).toBe(0);
    expect((await decode({ Authorization: 'Bearer the-token' })).status).toBe(200);
  });
});

// Off loopback: only listening is tried (the server refuses before it binds), so no traffic leaves
// loopback; this machine's other addresses are no test target.
describe('the codec server off loopback', () => {
  it('refuses to listen without a token, on any address but loopback', async () => {
    for (const ip of ['0.0.0.0', '::', '192.0.2.10']) {
      await expect(startCodecServer({ codecs: [codec], origins: [UI], ip, port: 0 })).rejects.toThrow(/needs a token/);
    }
  });

  it('listening everywhere with a token, still answers loopback callers who carry it', async () => {
    const started = await startCodecServer({ codecs: [codec], origins: [UI], token: 't', ip: '0.0.0.0', port: 0 });
    const port = await listening(started);
    const reply = await call(
      '127.0.0.1',
      port,
      'POST',
      '/decode',
      { Authorization: 'Bearer t' },
      await sealed('secret text'),
    );
    expect(reply.status).toBe(200);
    expect(decodedText(reply)).toEqual(['secret text']);
    expect((await call('127.0.0.1', port, 'POST', '/decode', {}, await sealed('secret text'))).status).toBe(401);
  });
});

describe('caisson codec-server', () => {
  const ROOT = fileURLToPath(new URL('../..', import.meta.url));

  /** The command from the sources (as scripts/dev-env runs it), its stderr up to its first line or its exit. */
  function codecServer(args: string[], env: Record<string, string> = {}) {
    const child = spawn(
      process.execPath,
      ['--import', `${ROOT}/node_modules/tsx/dist/loader.mjs`, `${ROOT}/cli/main.ts`, 'codec-server', ...args],
      {
        env: { ...process.env, CAISSON_CODEC_KEYS: KEYS, CAISSON_CODEC_TOKEN: '', ...env },
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    const started = new Promise<{ code: number | null; stderr: string }>((resolve) => {
      let stderr = '';
      child.stderr!.on('data', (chunk: Buffer) => {
        stderr += chunk.toString();
        if (stderr.includes('codec server on')) resolve({ code: null, stderr });
      });
      child.once('exit', (code) => resolve({ code, stderr }));
    });
    const stop = async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      if (child.exitCode === null) await new Promise((resolve) => child.once('exit', resolve));
    };
    return { started, stop };
  }

  it('exits without listening when asked for an address off loopback and no token is set', async () => {
    const { started, stop } = codecServer(['--ip', '0.0.0.0', '--port', '0']);
    try {
      const { code, stderr } = await started;
      expect(code).toBe(125);
      expect(stderr).toMatch(/needs a token \(CAISSON_CODEC_TOKEN\)/);
    } finally {
      await stop();
    }
  }, 30_000);

  it('answers to --allow-host names and refuses others', async () => {
    const { started, stop } = codecServer(['--port', '0', '--origin', UI, '--allow-host', 'codec.example.com']);
    try {
      const { stderr } = await started;
      const port = Number(/codec server on http:\/\/127\.0\.0\.1:(\d+)/.exec(stderr)?.[1]);
      expect(port).toBeGreaterThan(0);
      const decode = async (headers: Record<string, string>) =>
        call('127.0.0.1', port, 'POST', '/decode', headers, await sealed('secret text'));
      expect((await decode({ Host: `codec.example.com:${port}` })).status).toBe(200);
      expect((await decode({ Host: `attacker.example:${port}` })).status).toBe(403);
      expect((await decode({ Origin: 'https://evil.example' })).status).toBe(403);
      expect((await decode({ Origin: UI })).status).toBe(200);
    } finally {
      await stop();
    }
  }, 30_000);
});
