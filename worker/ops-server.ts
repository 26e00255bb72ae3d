// The worker's HTTP endpoint for operators (CAISSON_METRICS_ADDRESS, or 127.0.0.1:CAISSON_METRICS_PORT):
// /metrics, the Temporal runtime's Prometheus text (the SDK's own and the product's metrics)
// relayed from the loopback port the runtime serves it on; /healthz and /readyz, for a process
// supervisor or a load balancer. It reads nothing from a request but its method and path.
import { createServer as createHttpServer, get, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createTcpServer } from 'node:net';
import type { WorkerConfig } from './config.js';
import type { Readiness, Verdict } from './readiness.js';

export interface ListenAddress {
  host: string;
  port: number;
}

/** Where operators reach the worker; undefined when no metrics were asked for. */
export function opsAddress(config: WorkerConfig): ListenAddress | undefined {
  const address = config.CAISSON_METRICS_ADDRESS;
  if (address) {
    const colon = address.lastIndexOf(':');
    return { host: address.slice(0, colon).replace(/^\[(.*)\]$/, '$1'), port: Number(address.slice(colon + 1)) };
  }
  return config.CAISSON_METRICS_PORT ? { host: '127.0.0.1', port: config.CAISSON_METRICS_PORT } : undefined;
}

/** A loopback port nothing listens on now, for the runtime's own Prometheus server (reached only from here). */
export function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createTcpServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** Serves until `close`; rejects when the address cannot be bound (in use, not this host's). */
export async function startOpsServer(
  address: ListenAddress,
  runtimeMetricsPort: number,
  readiness: Readiness,
): Promise<{ close(): Promise<void> }> {
  const server = createHttpServer((req, res) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return answer(res, 405, 'GET only\n');
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/metrics') return relayMetrics(req, res, runtimeMetricsPort);
    if (path === '/healthz') return verdict(res, readiness.live());
    if (path === '/readyz') return verdict(res, readiness.ready());
    answer(res, 404, 'not found: /metrics, /healthz or /readyz\n');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) =>
      reject(new Error(`cannot serve metrics on ${address.host}:${address.port}: ${err.message}`)),
    );
    server.listen(address.port, address.host, () => resolve());
  });
  server.unref();
  return {
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

function answer(res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8' }).end(body);
}

/** 200 "ok", or 503 with a reason a line (JSON-escaped: a drain's reason is an operator's free text). */
function verdict(res: ServerResponse, { ok, reasons }: Verdict): void {
  if (ok) return answer(res, 200, 'ok\n');
  res.writeHead(503, { 'content-type': 'application/json' }).end(JSON.stringify({ ok, reasons }) + '\n');
}

function relayMetrics(req: IncomingMessage, res: ServerResponse, port: number): void {
  const upstream = get({ host: '127.0.0.1', port, path: '/metrics', method: req.method, timeout: 10_000 }, (from) => {
    res.writeHead(from.statusCode ?? 502, { 'content-type': from.headers['content-type'] ?? 'text/plain' });
    from.pipe(res);
  });
  upstream.on('timeout', () => upstream.destroy(new Error('the runtime did not answer')));
  upstream.on('error', (err) => {
    if (!res.headersSent) answer(res, 502, `metrics unavailable: ${err.message}\n`);
    else res.destroy();
  });
}
