// The codec server: the HTTP endpoint the Temporal UI and CLI call to show encrypted payloads to
// people allowed to see them (POST /decode, POST /encode, each with {"payloads": [...]}, payload
// fields in base64 as the Temporal API's JSON has them). Only the origins listed may call it from a
// browser (CORS); with a token set, every call must carry "Authorization: Bearer <token>".
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
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
  /** When set, the bearer token every call must carry. */
  token?: string;
}

const fromJson = (p: JsonPayload): Payload => ({
  metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64')])),
  data: Buffer.from(p.data ?? '', 'base64'),
});

const toJson = (p: Payload): JsonPayload => ({
  metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v).toString('base64')])),
  data: Buffer.from(p.data ?? []).toString('base64'),
});

export function createCodecServer(options: CodecServerOptions): Server {
  const run = async (direction: 'encode' | 'decode', payloads: Payload[]) => {
    let out = payloads;
    // Encoding applies the codecs in order; decoding undoes them in reverse, as the SDK does.
    const codecs = direction === 'encode' ? options.codecs : [...options.codecs].reverse();
    for (const codec of codecs) out = await codec[direction](out);
    return out;
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const origin = req.headers.origin;
    if (origin && options.origins.includes(origin)) {
      res.setHeader('Access-Control-Allow-Origin', origin);
      res.setHeader('Access-Control-Allow-Credentials', 'true');
      res.setHeader('Vary', 'Origin');
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
