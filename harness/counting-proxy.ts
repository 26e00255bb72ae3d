// A proxy in front of a real server (the Docker engine's socket, MinIO's port) that counts the HTTP
// requests passing through it and can answer chosen ones with an error instead of forwarding them:
// how tests and benchmarks see what the worker asks of its servers, and how they inject faults.
import { randomUUID } from 'node:crypto';
import { rmSync } from 'node:fs';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const REQUEST_LINE = /(?:^|\r\n)(GET|HEAD|POST|PUT|DELETE) (\/[^ ?]*)[^ ]* HTTP\/1\.[01]\r\n/g;

export type Upstream = { socketPath: string } | { host: string; port: number };

interface Fault {
  method: string;
  path: RegExp;
  times: number;
  status: number;
}

export class CountingProxy {
  /** Method and path of every request seen, in order ("POST /containers/create"). */
  readonly requests: string[] = [];
  private readonly faults: Fault[] = [];
  private server?: Server;
  /** Bytes per second from clients to the server, all connections together; 0: unlimited. */
  private uploadRate = 0;
  private uploadFreeAt = 0;
  private socketPath?: string;

  constructor(private readonly upstream: Upstream) {}

  /** Listens on a unix socket (`unix://…`, for an engine) or a loopback port (`http://…`). */
  async start(kind: 'unix' | 'tcp'): Promise<string> {
    this.server = createServer((client) => this.handle(client));
    if (kind === 'unix') {
      this.socketPath = join(tmpdir(), `caisson-proxy-${randomUUID().slice(0, 8)}.sock`);
      await new Promise<void>((resolve) => this.server!.listen(this.socketPath, resolve));
      return `unix://${this.socketPath}`;
    }
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as { port: number }).port}`;
  }

  /** Answers the next `times` requests matching method and path with `status`, not forwarding them. */
  fail(method: string, path: RegExp, times = 1, status = 500): void {
    this.faults.push({ method, path, times, status });
  }

  /** Slows what clients send (request bodies, uploads) to `bytesPerSecond`, as a slow link would. */
  limitUploads(bytesPerSecond: number): void {
    this.uploadRate = bytesPerSecond;
  }

  count(method: string, path: RegExp): number {
    return this.requests.filter((r) => r.startsWith(`${method} `) && path.test(r.slice(method.length + 1))).length;
  }

  reset(): void {
    this.requests.length = 0;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
    if (this.socketPath) rmSync(this.socketPath, { force: true });
  }

  private handle(client: Socket): void {
    const upstream = 'socketPath' in this.upstream ? createConnection(this.upstream.socketPath) : createConnection(this.upstream.port, this.upstream.host);
    let faulted = false;
    client.on('data', (chunk: Buffer) => {
      if (faulted) return;
      // Request lines only: bodies (the JSON of a create) never look like one.
      for (const match of chunk.toString('latin1').matchAll(REQUEST_LINE)) {
        // Engine API versions and container ids or names are folded, so that requests compare by kind.
        const path = match[2]!.replace(/^\/v[\d.]+/, '').replace(/[0-9a-f]{64}|caisson-[0-9a-f]{8}-[^/]+/g, ':id');
        const request = `${match[1]} ${path}`;
        this.requests.push(request);
        const fault = this.faults.find((f) => f.times > 0 && f.method === match[1] && f.path.test(path));
        if (fault) {
          // Answered here and the connection closed: the client sends its next request afresh.
          fault.times -= 1;
          faulted = true;
          const body = JSON.stringify({ message: 'injected by the test proxy' });
          client.end(`HTTP/1.1 ${fault.status} Injected\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`);
          upstream.destroy();
          return;
        }
      }
      upstream.write(chunk);
      if (this.uploadRate > 0) {
        // Each chunk takes its share of the link: reading stops until then, and TCP pushes back.
        const now = Date.now();
        this.uploadFreeAt = Math.max(now, this.uploadFreeAt) + (chunk.length / this.uploadRate) * 1000;
        if (this.uploadFreeAt > now) {
          client.pause();
          setTimeout(() => client.resume(), this.uploadFreeAt - now);
        }
      }
    });
    upstream.pipe(client);
    client.on('end', () => upstream.end());
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
  }
}
