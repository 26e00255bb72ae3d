// caisson codec-server: decodes encrypted payloads for the Temporal UI and CLI, with the keys the
// workers encrypt with (CAISSON_CODEC_KEYS).
import { parseArgs } from 'node:util';
import { startCodecServer } from '../common/connection/codec-server.js';
import { AesGcmCodec, codecKeysFromEnv, parseCodecKeys } from '../common/connection/payload-codec.js';
import { UsageError } from './spec-from-flags.js';

export async function codecServerCommand(args: string[], err: (text: string) => void): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      port: { type: 'string' },
      ip: { type: 'string' },
      origin: { type: 'string', multiple: true },
      'allow-host': { type: 'string', multiple: true },
    },
  });
  const port = Number(values.port ?? '8888');
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError('--port takes a port number');
  const keys = parseCodecKeys(codecKeysFromEnv());
  if (!keys.length)
    throw new UsageError(
      'set CAISSON_CODEC_KEYS (or CAISSON_CODEC_KEYS_FILE): the codec server decodes with the keys the workers encrypt with',
    );
  const ip = values.ip ?? '127.0.0.1';
  const token = process.env.CAISSON_CODEC_TOKEN || undefined;
  const server = await startCodecServer({
    ip,
    port,
    token,
    codecs: [new AesGcmCodec(keys)],
    origins: values.origin ?? [process.env.TEMPORAL_UI_URL ?? 'http://127.0.0.1:8233'].map((u) => new URL(u).origin),
    hosts: values['allow-host'],
  });
  err(
    `codec server on http://${ip}:${(server.address() as { port: number }).port} (${token ? 'token required' : 'no token'})`,
  );
  await new Promise<void>((resolve) => {
    const stop = () => server.close(() => resolve());
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  return 0;
}
