// Temporal's own client configuration, as every Temporal tool reads it: a TOML profiles file
// (TEMPORAL_CONFIG_FILE, else ~/.config/temporalio/temporal.toml; profile TEMPORAL_PROFILE, else
// "default") under Temporal's standard environment variables (TEMPORAL_TLS_CLIENT_CERT_PATH,
// TEMPORAL_GRPC_META_*, …), read through @temporalio/envconfig. Caisson's own settings go above
// it (temporal-connection.ts); what this gives fills only what they leave unset.
import { existsSync } from 'node:fs';
import { loadClientConfigProfile, type ConfigDataSource } from '@temporalio/envconfig';

/** What a profile can set: how to reach Temporal, each part optional. */
export interface ProfileSettings {
  address?: string;
  namespace?: string;
  apiKey?: string;
  /** true: TLS even without certificates (the system's roots); false: none, even with an API key. Unset: TLS when a certificate, a CA or an API key is given. */
  tls?: boolean;
  /** The name the server's certificate is checked against, when it is not the address's host. */
  tlsServerName?: string;
  /** Each a PEM value itself or the path of a file holding it. */
  tlsCert?: string;
  tlsKey?: string;
  tlsCa?: string;
  /** gRPC headers sent with every call (a proxy's own authorization, …): secrets, never logged. */
  grpcMetadata?: Record<string, string>;
}

/** Only the settings that hold a value: an empty or absent one leaves the next source its say. */
export const given = <T extends object>(settings: T): Partial<T> =>
  Object.fromEntries(Object.entries(settings).filter(([, v]) => v !== undefined && v !== '')) as Partial<T>;

/** A certificate or key as TemporalSettings holds one: the PEM text itself, or the path of a file with it. */
function pemOrPath(source: ConfigDataSource | undefined): string | undefined {
  if (!source) return undefined;
  if ('path' in source) return source.path;
  return typeof source.data === 'string' ? source.data : Buffer.from(source.data).toString('utf8');
}

/**
 * Why the profile could not be read, without any of the file's text: a TOML parser's message
 * quotes the offending line, which may hold an API key or a private key.
 */
function safeReason(err: unknown, env: Record<string, string>): string {
  const file = env.TEMPORAL_CONFIG_FILE ?? 'the Temporal profiles file (~/.config/temporalio/temporal.toml)';
  const { line, column, code } = err as { line?: unknown; column?: unknown; code?: unknown };
  if (typeof line === 'number') return `${file} is not valid TOML (line ${line}, column ${String(column)})`;
  if (typeof code === 'string') return `${file} cannot be read (${code})`;
  // envconfig's own messages name a profile, never a value ("Profile 'x' not found in config data").
  return `${file}: ${(err as Error).message}`;
}

/**
 * The settings of the selected profile with Temporal's standard variables over it; empty when
 * there is no profiles file and none of those variables is set. Empty variables count as unset, as
 * Caisson's own do.
 */
export function profileSettings(env: NodeJS.ProcessEnv): ProfileSettings {
  const vars = given(env) as Record<string, string>;
  // envconfig passes over a missing file; one named on purpose and absent is a mistake to report.
  if (vars.TEMPORAL_CONFIG_FILE && !existsSync(vars.TEMPORAL_CONFIG_FILE))
    throw new Error(
      `cannot read the Temporal connection profile: TEMPORAL_CONFIG_FILE ${vars.TEMPORAL_CONFIG_FILE} does not exist`,
    );
  let profile;
  try {
    profile = loadClientConfigProfile({ overrideEnvVars: vars });
  } catch (err) {
    throw new Error(`cannot read the Temporal connection profile: ${safeReason(err, vars)}`);
  }
  const tls = profile.tls;
  return given({
    address: profile.address,
    namespace: profile.namespace,
    apiKey: profile.apiKey,
    tls: tls ? !tls.disabled : undefined,
    tlsServerName: tls?.serverName,
    tlsCert: pemOrPath(tls?.clientCert),
    tlsKey: pemOrPath(tls?.clientKey),
    tlsCa: pemOrPath(tls?.serverCACert),
    grpcMetadata: profile.grpcMeta && Object.keys(profile.grpcMeta).length ? profile.grpcMeta : undefined,
  });
}
