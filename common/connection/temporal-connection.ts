// Connection settings shared by the worker, the client and the CLI: address, namespace, and
// either an API key or mutual TLS, all from the same environment variables.
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  DefaultFailureConverter,
  defaultFailureConverter,
  defaultPayloadConverter,
  type DataConverter,
  type LoadedDataConverter,
} from '@temporalio/common';
import { AesGcmCodec, codecKeysFromEnv, parseCodecKeys } from './payload-codec.js';

export interface TemporalSettings {
  address: string;
  namespace: string;
  apiKey?: string;
  tlsCert?: string;
  tlsKey?: string;
  tlsCa?: string;
  /** CAISSON_CODEC_KEYS (or _FILE): payloads are encrypted with them (common/connection/payload-codec.ts); unset, not. */
  codecKeys?: string;
}

export function temporalSettingsFromEnv(env: NodeJS.ProcessEnv = process.env): TemporalSettings {
  return {
    address: env.TEMPORAL_ADDRESS || '127.0.0.1:7233',
    namespace: env.TEMPORAL_NAMESPACE || 'default',
    apiKey: env.TEMPORAL_API_KEY || undefined,
    tlsCert: env.TEMPORAL_TLS_CERT || undefined,
    tlsKey: env.TEMPORAL_TLS_KEY || undefined,
    tlsCa: env.TEMPORAL_TLS_CA || undefined,
    codecKeys: codecKeysFromEnv(env),
  };
}

/** Options accepted by both Connection.connect and NativeConnection.connect. */
export function connectionOptions(settings: TemporalSettings) {
  // A PEM value itself (as CI secrets hold them) or the path of a file holding it.
  const read = (value?: string) =>
    value ? (value.includes('-----BEGIN') ? Buffer.from(value) : readFileSync(value)) : undefined;
  const mtls = settings.tlsCert && settings.tlsKey;
  const tls =
    mtls || settings.tlsCa || settings.apiKey
      ? {
          serverRootCACertificate: read(settings.tlsCa),
          clientCertPair: mtls ? { crt: read(settings.tlsCert)!, key: read(settings.tlsKey)! } : undefined,
        }
      : undefined;
  return { address: settings.address, tls, apiKey: settings.apiKey };
}

/**
 * A data converter in both of the SDK's shapes: a Client takes it as loaded (the converter objects
 * themselves), while Worker.create loads one from paths (payloadCodecs, failureConverterPath).
 */
export type CaissonDataConverter = DataConverter & LoadedDataConverter;

/** The built CommonJS module (common/connection/failure-converter.cts) that Worker.create require()s. */
function failureConverterPath(): string {
  const beside = fileURLToPath(new URL('./failure-converter.cjs', import.meta.url));
  // Run from its sources (a test's own worker), the compiled module is in build/.
  return existsSync(beside)
    ? beside
    : fileURLToPath(new URL('../../build/common/connection/failure-converter.cjs', import.meta.url));
}

/**
 * The data converter of every Temporal client and worker. With keys: payloads encrypted, and the
 * messages and stack traces of failures too, moved into an encrypted payload (the failure converter
 * of common/connection/failure-converter.cts; the workflow bundle of encrypted workers has it built in).
 */
export function dataConverterFor(settings: Pick<TemporalSettings, 'codecKeys'>): CaissonDataConverter {
  const keys = parseCodecKeys(settings.codecKeys);
  if (!keys.length)
    return { payloadConverter: defaultPayloadConverter, failureConverter: defaultFailureConverter, payloadCodecs: [] };
  return {
    payloadConverter: defaultPayloadConverter,
    failureConverter: new DefaultFailureConverter({ encodeCommonAttributes: true }),
    failureConverterPath: failureConverterPath(),
    payloadCodecs: [new AesGcmCodec(keys)],
  };
}
