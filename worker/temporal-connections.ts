// The worker's two connections to Temporal: a native one for its workers, and a client's for
// reconcile's queries, the specs read from history and the drain's look at open workflows. Both
// use the same data converter as every client, so encrypted payloads read the same everywhere.
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import {
  connectionOptions,
  dataConverterFor,
  resolveTemporalSettings,
} from '../common/connection/temporal-connection.js';
import type { WorkerConfig } from './config.js';

export type TemporalConnections = Awaited<ReturnType<typeof connectTemporal>>;

export async function connectTemporal(config: WorkerConfig, env: NodeJS.ProcessEnv = process.env) {
  // The checked settings first; the profile adds what has no TEMPORAL_* variable (server name, TLS
  // on or off, gRPC headers).
  const settings = connectionOptions(
    resolveTemporalSettings(
      {
        address: config.TEMPORAL_ADDRESS,
        namespace: config.TEMPORAL_NAMESPACE,
        apiKey: config.TEMPORAL_API_KEY,
        tlsCert: config.TEMPORAL_TLS_CERT,
        tlsKey: config.TEMPORAL_TLS_KEY,
        tlsCa: config.TEMPORAL_TLS_CA,
      },
      env,
    ),
  );
  const where = `Temporal at ${config.TEMPORAL_ADDRESS} (namespace ${config.TEMPORAL_NAMESPACE})`;
  const reached = <T>(connecting: Promise<T>) =>
    connecting.catch((err: Error) => {
      throw new Error(`cannot connect to ${where}: ${err.message}`, { cause: err });
    });
  const connection = await reached(NativeConnection.connect(settings));
  const clientConnection = await reached(Connection.connect(settings));
  // Encrypted payloads when CAISSON_CODEC_KEYS is set.
  const dataConverter = dataConverterFor({ codecKeys: config.CAISSON_CODEC_KEYS });
  const client = new Client({ connection: clientConnection, namespace: config.TEMPORAL_NAMESPACE, dataConverter });
  return {
    connection,
    client,
    dataConverter,
    async close(): Promise<void> {
      await connection.close();
      await clientConnection.close();
    },
  };
}
