// The codec server: the HTTP endpoint the Temporal UI and CLI call to show encrypted payloads to
// people allowed to see them (POST /decode, POST /encode, each with {"payloads": [...]}, payload
// fields in base64 as the Temporal API's JSON has them). It decrypts for whoever reaches it, so:
// off loopback it listens only with a token ("Authorization: Bearer <token>" on every call); it
// answers only to Host names it is known by, so a web page whose name is rebound to 127.0.0.1 (DNS
// rebinding) cannot use it; and a browser page of an origin not listed gets 403 before anything is
// read or decoded.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { isIPv4 } from 'node:net';
import { bearerAuthorized, readBody } from './http-request.js';
import type { Payload, PayloadCodec } from '@temporalio/common';

/** A decode request holds one history page's payloads at most; more is refused unread. */
const MAX_BODY_BYTES = 8 << 20;

interface JsonPayload {
  metadata?: Record<string, string>;
  data?: string;
}

export interface CodecServerOptions {
  codecs: PayloadCodec[];
  /** Browser origins allowed to call (the Temporal UI's, e.g. http://127.0.0.1:8233). */
  origins: string[];
  /** When set, the bearer token every call must carry. Required off loopback (startCodecServer). */
  token?: string;
  /**
   * Host names it answers to besides loopback's and the address a request came in on: the name
   * it is reached by through DNS or a reverse proxy (e.g. codec.example.com).
   */
  hosts?: string[];
}

/** 127.0.0.0/8, ::1 (also IPv4-mapped or in brackets) and "localhost": reachable from this machine only. */
function isLoopback(address: string | undefined): boolean {
  if (!address) return false;
  const ip = address
    .replace(/^\[|\]$/g, '')
    .replace(/^::ffff:/i, '')
    .toLowerCase();
  return ip === 'localhost' || ip === '::1' || (isIPv4(ip) && ip.startsWith('127.'));
}

/** The name part of a Host header ("[::1]:8888" → "::1"); undefined when it is not a plain host[:port]. */
function hostName(header: string | undefined): string | undefined {
  if (!header || !/^[A-Za-z0-9.:[\]-]+$/.test(header)) return undefined;
  try {
    return new URL(`http://${header}`).hostname.replace(/^\[|\]$/g, '');
  } catch {
    return undefined;
  }
}

/**
 * A rebound name (attacker.example resolving to this machine) arrives as its own Host: only names
 * this server is known by pass. A browser sends the codec endpoint's own host, and a client that
 * dialed an IP sends that IP, which is the address the request came in on.
 */
function knownHost(req: IncomingMessage, names: ReadonlySet<string>): boolean {
  const name = hostName(req.headers.host);
  if (!name) return false;
  return isLoopback(name) || names.has(name) || name === req.socket.localAddress?.replace(/^::ffff:/i, '');
}

const fromJson = (p: JsonPayload): Payload => ({
  metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64')])),
  data: Buffer.from(p.data ?? '', 'base64'),
});

const toJson = (p: Payload): JsonPayload => ({
  metadata: Object.fromEntries(
    Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v).toString('base64')]),
  ),
  data: Buffer.from(p.data ?? []).toString('base64'),
});

export function createCodecServer(options: CodecServerOptions): Server {
  const names = new Set((options.hosts ?? []).map((h) => hostName(h) ?? h.toLowerCase()));
  const run = async (direction: 'encode' | 'decode', payloads: Payload[]) => {
    let out = payloads;
    // Encoding applies the codecs in order; decoding undoes them in reverse, as the SDK does.
    const codecs = direction === 'encode' ? options.codecs : [...options.codecs].reverse();
    for (const codec of codecs) out = await codec[direction](out);
    return out;
  };

  /** Why a request is refused before its body is read (nothing decoded), or undefined. */
  const refusal = (req: IncomingMessage): string | undefined => {
    if (!knownHost(req, names)) return 'unknown Host: the codec server answers to the names given with --allow-host';
    // Reached off loopback, though made without a token (createCodecServer listened on by hand).
    if (!options.token && !isLoopback(req.socket.localAddress)) return 'off loopback the codec server needs a token';
    const origin = req.headers.origin; // absent: not a browser page (the CLI, an SDK, curl)
    if (origin !== undefined && !options.origins.includes(origin))
      return 'this origin may not call the codec server (--origin)';
    return undefined;
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    res.setHeader('Vary', 'Origin');
    const why = refusal(req);
    if (why) return res.writeHead(403, { 'Content-Type': 'text/plain' }).end(why);
    if (req.headers.origin) {
      res.setHeader('Access-Control-Allow-Origin', req.headers.origin);
      res.setHeader('Access-Control-Allow-Credentials', 'true');
    }
    if (req.method === 'OPTIONS') {
      res.setHeader('Access-Control-Allow-Methods', 'POST, OPTIONS');
      res.setHeader('Access-Control-Allow-Headers', 'Content-Type, X-Namespace, Authorization');
      return res.writeHead(204).end();
    }
    const path = (req.url ?? '').split('?')[0]!.replace(/\/+$/, '');
    const direction = path.endsWith('/decode') ? 'decode' : path.endsWith('/encode') ? 'encode' : undefined;
    if (req.method !== 'POST' || !direction) return res.writeHead(404).end();
    if (!bearerAuthorized(req, options.token)) return res.writeHead(401).end();
    const text = await readBody(req, MAX_BODY_BYTES);
    if (text === undefined) return res.writeHead(413).end();
    let payloads: Payload[];
    try {
      payloads = ((JSON.parse(text) as { payloads?: JsonPayload[] }).payloads ?? []).map(fromJson);
    } catch {
      return res.writeHead(400).end('the body is {"payloads": [...]}');
    }
    try {
      const out = await run(direction, payloads);
      res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ payloads: out.map(toJson) }));
    } catch (err) {
      // A payload under a key this server lacks: said plainly, nothing of the payload echoed.
      res.writeHead(422, { 'Content-Type': 'text/plain' }).end((err as Error).message);
    }
  };

  return createServer((req, res) => {
    handle(req, res).catch(() => res.writeHead(500).end());
  });
}

/**
 * The codec server listening on ip:port (0: any free port). Off loopback only with a token: it
 * would decrypt history for anyone on the network.
 */
export async function startCodecServer(options: CodecServerOptions & { ip: string; port: number }): Promise<Server> {
  if (!options.token && !isLoopback(options.ip)) {
    throw new Error(
      `the codec server decrypts for whoever reaches it: listening on ${options.ip} needs a token (CAISSON_CODEC_TOKEN); only loopback may go without`,
    );
  }
  const server = createCodecServer(options);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.ip, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return server;
}
