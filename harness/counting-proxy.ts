// A proxy in front of a real server (the Docker engine's socket, MinIO's port) that counts the HTTP
// requests passing through it and can answer chosen ones with an error instead of forwarding them:
// how tests and benchmarks see what the worker asks of its servers, and how they inject faults.
import { randomUUID } from 'node:crypto';
import { rmSync } from 'node:fs';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

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
  /** The same with each query string ("POST /bucket/key?uploads"). */
  readonly targets: string[] = [];
  /** When each of them arrived (Date.now()), to place a request between two instants of a run. */
  readonly times: number[] = [];
  private readonly holds: {
    method: string;
    path: RegExp;
    taken: boolean;
    arrived: () => void;
    settled: Promise<'release' | 'drop'>;
  }[] = [];
  /** Bytes per second from the server to clients (downloads, pulls); 0: unlimited. */
  private readonly download = { rate: 0, freeAt: 0 };
  private readonly faults: Fault[] = [];
  private server?: Server;
  /** Bytes per second from clients to the server, all connections together; 0: unlimited. */
  private readonly upload = { rate: 0, freeAt: 0 };
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
    this.upload.rate = bytesPerSecond;
  }

  /** Slows what the server sends (downloads, image layers) to `bytesPerSecond`. */
  limitDownloads(bytesPerSecond: number): void {
    this.download.rate = bytesPerSecond;
  }

  /**
   * Holds the next request matching method and path: it is not passed on until `release()`, or
   * never (`drop()`: its connection is closed on both sides). A test freezes its client at that
   * request this way, to crash it there; `arrived` says it is held.
   */
  hold(method: string, path: RegExp): { arrived: Promise<void>; release: () => void; drop: () => void } {
    let arrived!: () => void;
    let settle!: (how: 'release' | 'drop') => void;
    const seen = new Promise<void>((resolve) => (arrived = resolve));
    const settled = new Promise<'release' | 'drop'>((resolve) => (settle = resolve));
    this.holds.push({ method, path, taken: false, arrived, settled });
    return { arrived: seen, release: () => settle('release'), drop: () => settle('drop') };
  }

  count(method: string, path: RegExp): number {
    return this.requests.filter((r) => r.startsWith(`${method} `) && path.test(r.slice(method.length + 1))).length;
  }

  reset(): void {
    this.requests.length = 0;
    this.targets.length = 0;
    this.times.length = 0;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
    if (this.socketPath) rmSync(this.socketPath, { force: true });
  }

  private handle(client: Socket): void {
    const upstream =
      'socketPath' in this.upstream
        ? createConnection(this.upstream.socketPath)
        : createConnection(this.upstream.port, this.upstream.host);
    // A proxy that batched small writes (Nagle) would hold a request's body behind its head until
    // the peer's delayed ACK, ~40 ms a request: what it measures must not be what it adds.
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    const requests = new RequestReader();
    let closed = false;
    let held: Buffer[] | undefined;
    const forward = (bytes: Buffer) => {
      if (held) held.push(bytes);
      else upstream.write(bytes);
    };
    client.on('data', (chunk: Buffer) => {
      if (closed) return;
      for (const piece of requests.push(chunk)) {
        if (piece.request) {
          const { method, target } = piece.request;
          const [rawPath = '', query] = target.split('?', 2) as [string, string?];
          // Engine API versions and container ids or names are folded, so that requests compare by kind.
          const path = rawPath.replace(/^\/v[\d.]+/, '').replace(/[0-9a-f]{64}|caisson-[0-9a-f]{8}-[^/]+/g, ':id');
          this.requests.push(`${method} ${path}`);
          this.targets.push(`${method} ${path}${query === undefined ? '' : `?${query}`}`);
          this.times.push(Date.now());
          const fault = this.faults.find((f) => f.times > 0 && f.method === method && f.path.test(path));
          if (fault) {
            // Answered here and the connection closed: the client sends its next request afresh.
            fault.times -= 1;
            closed = true;
            const body = JSON.stringify({ message: 'injected by the test proxy' });
            client.end(
              `HTTP/1.1 ${fault.status} Injected\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`,
            );
            upstream.destroy();
            return;
          }
          const hold = this.holds.find((h) => !h.taken && h.method === method && h.path.test(path));
          if (hold) {
            // Kept back, this request and what follows on its connection, until the test lets it go.
            hold.taken = true;
            held = [];
            // A client waiting for "100 Continue" is told to go on: the body is held with the head,
            // as if it had all been sent before the client froze.
            if (piece.request.expectsContinue) client.write('HTTP/1.1 100 Continue\r\n\r\n');
            hold.arrived();
            void hold.settled.then((how) => {
              if (how === 'drop') {
                closed = true;
                upstream.destroy();
                client.destroy();
              } else for (const bytes of held ?? []) upstream.write(bytes);
              held = undefined;
            });
          }
        }
        forward(piece.bytes);
      }
      pace(this.upload, chunk.length, client);
    });
    upstream.on('data', (chunk: Buffer) => {
      // The server answered a request held past its client's end: it was carried out; done.
      if (clientGone) return upstream.destroy();
      client.write(chunk);
      pace(this.download, chunk.length, upstream);
    });
    upstream.on('end', () => client.end());
    // A client gone while its request is held: what it sent still reaches the server on release,
    // as a request sent just before a crash does. The connection is not half-closed meanwhile (a
    // server cancels a request whose client closed its side) but closed once the answer comes.
    let clientGone = false;
    const onClientGone = (end: () => void) => {
      if (held) clientGone = true;
      else end();
    };
    client.on('end', () => onClientGone(() => upstream.end()));
    client.on('error', () => onClientGone(() => upstream.destroy()));
    upstream.on('error', () => client.destroy());
  }
}

/**
 * Each chunk takes its share of a rate-limited link (all connections together): reading from
 * `source` stops until then, and TCP pushes back.
 */
function pace(link: { rate: number; freeAt: number }, bytes: number, source: Socket): void {
  if (link.rate <= 0) return;
  const now = Date.now();
  link.freeAt = Math.max(now, link.freeAt) + (bytes / link.rate) * 1000;
  if (link.freeAt > now) {
    source.pause();
    setTimeout(() => source.resume(), link.freeAt - now);
  }
}

/** Bytes to pass on as they are; `request` when they complete a request's head. */
interface Piece {
  request?: { method: string; target: string; expectsContinue: boolean };
  bytes: Buffer;
}

/**
 * Splits a client's byte stream into requests by parsing HTTP/1.1: the head up to its blank line,
 * then a body of Content-Length bytes or chunked until its last chunk, then the next request. After
 * an upgrade (the engine's attach) the rest is passed on as it comes. A request split across reads
 * or several in one read are told apart alike, so nothing is counted twice or missed.
 */
export class RequestReader {
  private head = Buffer.alloc(0);
  private body: { left: number } | { chunked: true; line: string; left: number; trailer: boolean } | undefined;
  private raw = false;

  push(chunk: Buffer): Piece[] {
    const pieces: Piece[] = [];
    let rest = chunk;
    while (rest.length) {
      if (this.raw) {
        pieces.push({ bytes: rest });
        break;
      }
      if (this.body) {
        const used = this.bodyBytes(rest);
        pieces.push({ bytes: rest.subarray(0, used) });
        rest = rest.subarray(used);
        continue;
      }
      // A head's bytes pass on as they come (a TLS hello probing the port never completes one);
      // they are kept aside only to be parsed once the blank line arrives.
      const before = this.head.length;
      const joined = Buffer.concat([this.head, rest]);
      const end = joined.indexOf('\r\n\r\n', Math.max(0, before - 3));
      if (end < 0) {
        // Bounded: what never completes a head within 64 KiB is not HTTP, and is passed on as is.
        this.head = joined.length > 65_536 ? Buffer.alloc(0) : joined;
        if (joined.length > 65_536) this.raw = true;
        pieces.push({ bytes: rest });
        break;
      }
      const headBytes = joined.subarray(0, end + 4);
      const tail = rest.subarray(0, end + 4 - before);
      rest = rest.subarray(end + 4 - before);
      this.head = Buffer.alloc(0);
      const [line = '', ...fields] = headBytes.toString('latin1').split('\r\n');
      const [method = '', target = ''] = line.split(' ');
      const header = (name: string) =>
        fields
          .find((f) => f.toLowerCase().startsWith(`${name}:`))
          ?.slice(name.length + 1)
          .trim();
      pieces.push({
        request: { method, target, expectsContinue: /100-continue/i.test(header('expect') ?? '') },
        bytes: tail,
      });
      if (header('upgrade') || /upgrade/i.test(header('connection') ?? '')) this.raw = true;
      else if (/chunked/i.test(header('transfer-encoding') ?? ''))
        this.body = { chunked: true, line: '', left: 0, trailer: false };
      else if (Number(header('content-length') ?? 0) > 0) this.body = { left: Number(header('content-length')) };
    }
    return pieces;
  }

  /** How many bytes of `bytes` belong to the current body; ends the body when they complete it. */
  private bodyBytes(bytes: Buffer): number {
    const body = this.body!;
    if (!('chunked' in body)) {
      const used = Math.min(body.left, bytes.length);
      body.left -= used;
      if (body.left === 0) this.body = undefined;
      return used;
    }
    let i = 0;
    while (i < bytes.length) {
      if (body.left > 0) {
        const used = Math.min(body.left, bytes.length - i);
        body.left -= used;
        i += used;
        continue;
      }
      // A size line, the CRLF after a chunk's data, or (after the last chunk) trailers and the end.
      const byte = bytes[i++]!;
      body.line += String.fromCharCode(byte);
      if (!body.line.endsWith('\r\n')) continue;
      const line = body.line.slice(0, -2);
      body.line = '';
      if (body.trailer) {
        if (line === '') {
          this.body = undefined;
          return i;
        }
        continue;
      }
      if (line === '') continue; // the CRLF closing a chunk's data
      const size = parseInt(line.split(';')[0]!, 16);
      if (size === 0) body.trailer = true;
      else body.left = size;
    }
    return i;
  }
}
