// caisson interlink-plugin: interLink's plugin API served on top of this fleet's actions.
import { parseArgs } from 'node:util';
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { ActionsClient } from '../client/index.js';
import { createInterlinkPlugin } from '../interlink/plugin-server.js';
import { UsageError } from './spec-from-flags.js';

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

/** The token from --token-file or CAISSON_INTERLINK_TOKEN; read once, trailing newline dropped. */
function tokenOf(file: string | undefined): string | undefined {
  if (file) {
    const token = readFileSync(file, 'utf8').trim();
    if (!token) throw new UsageError(`--token-file ${file} is empty`);
    return token;
  }
  return process.env.CAISSON_INTERLINK_TOKEN || undefined;
}

export async function interlinkCommand(args: string[], err: (text: string) => void): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      port: { type: 'string' },
      ip: { type: 'string' },
      'token-file': { type: 'string' },
      'id-prefix': { type: 'string' },
    },
  });
  const port = Number(values.port ?? '4000');
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError('--port takes a port number');
  const ip = values.ip ?? '127.0.0.1';
  if (ip !== 'localhost' && !isIP(ip)) throw new UsageError(`--ip takes an IP address to listen on, not "${ip}"`);
  const token = tokenOf(values['token-file']);
  if (!LOOPBACK.has(ip) && !token) {
    throw new UsageError(
      `listening on ${ip} needs a bearer token: set CAISSON_INTERLINK_TOKEN or --token-file (only loopback may go without)`,
    );
  }
  const idPrefix = values['id-prefix'] ?? 'pod-';
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,40}$/.test(idPrefix))
    throw new UsageError('--id-prefix is 1-41 letters, digits, ".", "_" or "-", starting with a letter or digit');
  const client = await ActionsClient.connect();
  if (!client.logStore)
    err('interlink-plugin: no access to the artifacts bucket (AWS variables unset): /getLogs will answer 503');
  const server = createInterlinkPlugin({ client, token, idPrefix, log: err });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, ip, resolve);
  });
  err(
    `interLink plugin API on http://${ip}:${(server.address() as { port: number }).port} (task queue ${client.taskQueue}, ${token ? 'token required' : 'no token'})`,
  );
  await new Promise<void>((resolve) => {
    const stop = () => server.close(() => resolve());
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  await client.close();
  return 0;
}
