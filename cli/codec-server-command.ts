// caisson codec-server: decodes encrypted payloads for the Temporal UI and CLI, with the keys the
// workers encrypt with (CAISSON_CODEC_KEYS).
import type { Command } from 'commander';
import { UsageError } from './spec-from-flags.js';
import { err } from './connect.js';
import { examples } from './help-text.js';
import { addListenOptions, collect, portOf } from './options.js';

interface CodecServerOptions {
  port: string;
  ip: string;
  origin?: string[];
  allowHost?: string[];
}

export function codecServerCommand(program: Command): void {
  const cmd = program
    .command('codec-server')
    .description(
      'decode encrypted payloads for the Temporal UI and CLI (CAISSON_CODEC_KEYS; CAISSON_CODEC_TOKEN: the bearer token, required off loopback)',
    );
  addListenOptions(cmd, 8888)
    .option('--origin <url>', 'a browser origin allowed to call it (repeatable; default TEMPORAL_UI_URL)', collect)
    .option(
      '--allow-host <name>',
      'a name it is reached by besides its address, e.g. behind a proxy (repeatable)',
      collect,
    )
    .addHelpText('after', examples('CAISSON_CODEC_KEYS=… caisson codec-server --port 8888'))
    .action(serveCodec);
}

async function serveCodec(options: CodecServerOptions): Promise<void> {
  const port = portOf(options.port);
  // Loaded on use: the other commands start without the codec's modules.
  const [{ startCodecServer }, { AesGcmCodec, codecKeysFromEnv, parseCodecKeys }] = await Promise.all([
    import('../common/connection/codec-server.js'),
    import('../common/connection/payload-codec.js'),
  ]);
  const keys = parseCodecKeys(codecKeysFromEnv());
  if (!keys.length)
    throw new UsageError(
      'set CAISSON_CODEC_KEYS (or CAISSON_CODEC_KEYS_FILE): the codec server decodes with the keys the workers encrypt with',
    );
  const ip = options.ip;
  const token = process.env.CAISSON_CODEC_TOKEN || undefined;
  const server = await startCodecServer({
    ip,
    port,
    token,
    codecs: [new AesGcmCodec(keys)],
    origins: options.origin ?? [process.env.TEMPORAL_UI_URL ?? 'http://127.0.0.1:8233'].map((u) => new URL(u).origin),
    hosts: options.allowHost,
  });
  err(
    `codec server on http://${ip}:${(server.address() as { port: number }).port} (${token ? 'token required' : 'no token'})`,
  );
  await new Promise<void>((resolve) => {
    const stop = () => server.close(() => resolve());
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
}
