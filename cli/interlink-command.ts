// caisson interlink-plugin: interLink's plugin API served on top of this fleet's actions.
import type { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { UsageError } from './spec-from-flags.js';
import { err } from './connect.js';
import { examples } from './help-text.js';
import { addListenOptions, portOf } from './options.js';

interface InterlinkOptions {
  port: string;
  ip: string;
  tokenFile?: string;
  idPrefix: string;
}

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

export function interlinkCommand(program: Command): void {
  const cmd = program
    .command('interlink-plugin')
    .description(
      "interLink's plugin API (/create /status /getLogs /delete): each container of a pod runs as action <prefix><pod uid>-<container>",
    );
  addListenOptions(cmd, 4000)
    .option('--token-file <file>', 'the bearer token (or CAISSON_INTERLINK_TOKEN); required off loopback')
    .option('--id-prefix <prefix>', 'the prefix of action ids', 'pod-')
    .addHelpText(
      'after',
      examples(
        'caisson interlink-plugin --port 4000',
        'caisson interlink-plugin --ip 0.0.0.0 --token-file /run/secrets/token',
      ),
    )
    .action(serveInterlink);
}

async function serveInterlink(options: InterlinkOptions): Promise<void> {
  const port = portOf(options.port);
  const ip = options.ip;
  if (ip !== 'localhost' && !isIP(ip)) throw new UsageError(`--ip takes an IP address to listen on, not "${ip}"`);
  const token = tokenOf(options.tokenFile);
  if (!LOOPBACK.has(ip) && !token) {
    throw new UsageError(
      `listening on ${ip} needs a bearer token: set CAISSON_INTERLINK_TOKEN or --token-file (only loopback may go without)`,
    );
  }
  const idPrefix = options.idPrefix;
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,40}$/.test(idPrefix))
    throw new UsageError('--id-prefix is 1-41 letters, digits, ".", "_" or "-", starting with a letter or digit');
  // Loaded on use: the other commands start without the SDKs this one needs.
  const [{ ActionsClient }, { createInterlinkPlugin }] = await Promise.all([
    import('../client/index.js'),
    import('../interlink/plugin-server.js'),
  ]);
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
}
