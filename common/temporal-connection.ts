// Connection settings shared by the worker, the client and the CLI: address, namespace, and
// either an API key or mutual TLS, all from the same environment variables.
import { readFileSync } from 'node:fs';
import type { PayloadCodec } from '@temporalio/common';
import { AesGcmCodec, codecKeysFromEnv, parseCodecKeys } from './payload-codec.js';

export interface TemporalSettings {
  address: string;
  namespace: string;
  apiKey?: string;
  tlsCert?: string;
  tlsKey?: string;
  tlsCa?: string;
  /** CAISSON_CODEC_KEYS (or _FILE): payloads are encrypted with them (common/payload-codec.ts); unset, not. */
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
  const read = (value?: string) => (value ? (value.includes('-----BEGIN') ? Buffer.from(value) : readFileSync(value)) : undefined);
  const mtls = settings.tlsCert && settings.tlsKey;
  const tls = mtls || settings.tlsCa || settings.apiKey
    ? {
        serverRootCACertificate: read(settings.tlsCa),
        clientCertPair: mtls ? { crt: read(settings.tlsCert)!, key: read(settings.tlsKey)! } : undefined,
      }
    : undefined;
  return { address: settings.address, tls, apiKey: settings.apiKey };
}

/** The data converter of every Temporal client and worker: encryption when keys are set. */
export function dataConverterFor(settings: Pick<TemporalSettings, 'codecKeys'>): { payloadCodecs: PayloadCodec[] } {
  const keys = parseCodecKeys(settings.codecKeys);
  return { payloadCodecs: keys.length ? [new AesGcmCodec(keys)] : [] };
}
