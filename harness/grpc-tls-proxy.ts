// A protected Temporal for tests: Debian's nginx terminating TLS in front of the dev server (which
// has no TLS flags of its own) and passing gRPC through. Two doors, each on a free port of its own:
//   mtls    — TLS that requires a client certificate signed by the test CA (ssl_verify_client on);
//   apiKey  — TLS without client certificates that requires "authorization: Bearer <key>".
// Certificates are made for the run (CA, server for IP 127.0.0.1, a client) and removed with it.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './free-port.js';
import { makeDockerTlsCerts, type DockerTlsCerts } from './tls-certs.js';

export const NGINX_BIN = process.env.NGINX_BIN ?? '/usr/sbin/nginx';

export interface GrpcTlsProxy {
  /** host:port of the door that requires a client certificate. */
  mtlsAddress: string;
  /** host:port of the door that requires the API key. */
  apiKeyAddress: string;
  apiKey: string;
  certs: DockerTlsCerts;
  /** Stops nginx (waited for) and removes its folder. */
  stop(): Promise<void>;
}

function config(
  dir: string,
  target: string,
  certs: DockerTlsCerts,
  ports: { mtls: number; apiKey: number },
  apiKey: string,
): string {
  // Temporal's long polls last about a minute: the proxy must not cut them first.
  const pass = `
      grpc_pass grpc://${target};
      grpc_read_timeout 600s;
      grpc_send_timeout 600s;`;
  const tls = `
    ssl_certificate ${certs.server.cert};
    ssl_certificate_key ${certs.server.key};
    ssl_protocols TLSv1.2 TLSv1.3;`;
  return `
daemon off;
master_process on;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  client_max_body_size 0;
  http2_max_concurrent_streams 1024;
  server {
    listen 127.0.0.1:${ports.mtls} ssl http2;${tls}
    ssl_client_certificate ${certs.ca.cert};
    ssl_verify_client on;
    location / {${pass}
    }
  }
  server {
    listen 127.0.0.1:${ports.apiKey} ssl http2;${tls}
    location / {
      if ($http_authorization != "Bearer ${apiKey}") { return 401; }${pass}
    }
  }
}
`;
}

async function listening(port: number, ms: number, proc: ChildProcess, log: () => string): Promise<void> {
  for (const deadline = Date.now() + ms; ;) {
    if (proc.exitCode !== null) throw new Error(`nginx exited with ${proc.exitCode}: ${log()}`);
    const ok = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1', () => (socket.end(), resolve(true)));
      socket.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`nginx did not listen on ${port} within ${ms} ms: ${log()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** nginx in front of `target` (host:port of a plaintext gRPC server, e.g. the dev server). */
export async function startGrpcTlsProxy(target: string): Promise<GrpcTlsProxy> {
  const dir = mkdtempSync(join(tmpdir(), 'caisson-grpc-proxy-'));
  const certs = await makeDockerTlsCerts(join(dir, 'certs'));
  const ports = { mtls: await freePort(), apiKey: await freePort() };
  const apiKey = randomBytes(24).toString('hex');
  const conf = join(dir, 'nginx.conf');
  await writeFile(conf, config(dir, target, certs, ports, apiKey));
  const proc = spawn(NGINX_BIN, ['-p', dir, '-c', conf, '-e', join(dir, 'error.log')], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let said = '';
  proc.stderr!.on('data', (d: Buffer) => (said += d.toString()));
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  const log = () =>
    said +
    (() => {
      try {
        return readFileSync(join(dir, 'error.log'), 'utf8');
      } catch {
        return '';
      }
    })();
  const stop = async () => {
    if (proc.exitCode === null && proc.signalCode === null)
      proc.kill('SIGTERM' /* fast shutdown: open long polls are cut, as when a proxy goes away */);
    const forced = setTimeout(() => proc.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(forced);
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await listening(ports.mtls, 15_000, proc, log);
    await listening(ports.apiKey, 15_000, proc, log);
  } catch (err) {
    await stop();
    throw err;
  }
  return { mtlsAddress: `127.0.0.1:${ports.mtls}`, apiKeyAddress: `127.0.0.1:${ports.apiKey}`, apiKey, certs, stop };
}
