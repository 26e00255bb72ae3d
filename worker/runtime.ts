// The Temporal runtime of the worker process, installed once: how it logs and where it exposes its
// metrics. Signals are left to the worker (drain.ts), which drains the host before it stops.
import { DefaultLogger, Runtime, type LogEntry } from '@temporalio/worker';

let runtimeInstalled = false;

/**
 * JSON lines on stderr (the SDK adds the workflow id, the action id, to every activity's entries),
 * and Prometheus metrics on 127.0.0.1:<port> when a port is configured.
 */
export function installRuntime(metricsPort: number | undefined): void {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  Runtime.install({
    // SIGINT and SIGTERM drain the host first (drain.ts), then shut the workers down.
    shutdownSignals: [],
    telemetryOptions: metricsPort
      ? { metrics: { prometheus: { bindAddress: `127.0.0.1:${metricsPort}` } } }
      : undefined,
    logger: new DefaultLogger('INFO', (entry: LogEntry) => {
      const { message, level, meta } = entry;
      const actionId = (meta as { workflowId?: string } | undefined)?.workflowId;
      process.stderr.write(
        JSON.stringify({ time: new Date().toISOString(), level, message, actionId, ...meta }) + '\n',
      );
    }),
  });
}
