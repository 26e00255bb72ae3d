// Connection settings shared by the worker, the client, the CLI, the Action and the interLink
// plugin: address, namespace, and either an API key or mutual TLS. One order for all of them, first
// given wins: settings passed explicitly (flags, Action inputs), Caisson's environment variables
// (TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_API_KEY, TEMPORAL_TLS_CERT/_KEY/_CA), Temporal's
// standard variables, the Temporal profiles file (temporal-profile.ts), then the defaults.
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
import { given, profileSettings, type ProfileSettings } from './temporal-profile.js';

export interface TemporalSettings extends ProfileSettings {
  address: string;
  namespace: string;
  /** CAISSON_CODEC_KEYS (or _FILE): payloads are encrypted with them (common/connection/payload-codec.ts); unset, not. */
  codecKeys?: string;
}

const DEFAULTS = { address: '127.0.0.1:7233', namespace: 'default' } as const;

/**
 * The settings every side connects with: `explicit` over the environment's and the profile's (the
 * order in the opening comment). Reads the profiles file, so a broken one fails here, without
 * quoting it.
 */
export function resolveTemporalSettings(
  explicit: Partial<TemporalSettings> = {},
  env: NodeJS.ProcessEnv = process.env,
): TemporalSettings {
  const caisson = {
    address: env.TEMPORAL_ADDRESS,
    namespace: env.TEMPORAL_NAMESPACE,
    apiKey: env.TEMPORAL_API_KEY,
    tlsCert: env.TEMPORAL_TLS_CERT,
    tlsKey: env.TEMPORAL_TLS_KEY,
    tlsCa: env.TEMPORAL_TLS_CA,
    codecKeys: codecKeysFromEnv(env),
  };
  return { ...DEFAULTS, ...profileSettings(env), ...given(caisson), ...given(explicit) };
}

export function temporalSettingsFromEnv(env: NodeJS.ProcessEnv = process.env): TemporalSettings {
  return resolveTemporalSettings({}, env);
}

/** Options accepted by both Connection.connect and NativeConnection.connect. */
export function connectionOptions(settings: TemporalSettings) {
  // A PEM value itself (as CI secrets hold them) or the path of a file holding it.
  const read = (value?: string) =>
    value ? (value.includes('-----BEGIN') ? Buffer.from(value) : readFileSync(value)) : undefined;
  const mtls = settings.tlsCert && settings.tlsKey;
  const wanted = settings.tls ?? Boolean(mtls || settings.tlsCa || settings.apiKey);
  const tls = wanted
    ? {
        serverRootCACertificate: read(settings.tlsCa),
        clientCertPair: mtls ? { crt: read(settings.tlsCert)!, key: read(settings.tlsKey)! } : undefined,
        serverNameOverride: settings.tlsServerName,
      }
    : settings.tls === false
      ? false
      : undefined;
  return {
    address: settings.address,
    tls,
    apiKey: settings.apiKey,
    // A copy: the SDK adds its own headers to the object it is given.
    metadata: settings.grpcMetadata && { ...settings.grpcMetadata },
  };
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
