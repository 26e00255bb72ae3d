// The Temporal runtime of the worker process, installed once: how it logs (log-line.ts) and where it
// exposes its metrics. Signals are left to the worker (drain.ts), which drains the host before it stops.
import { DefaultLogger, Runtime, type LogEntry } from '@temporalio/worker';
import type { WorkerConfig } from './config.js';
import { logLine, sdkLevel } from './log-line.js';

let runtimeInstalled = false;

/**
 * Log lines on stderr as CAISSON_LOG_FORMAT and CAISSON_LOG_LEVEL say (the SDK's own entries too),
 * and Prometheus metrics on 127.0.0.1:<metricsPort> when a port is given (ops-server.ts relays them).
 */
export function installRuntime(
  config: Pick<WorkerConfig, 'CAISSON_LOG_FORMAT' | 'CAISSON_LOG_LEVEL'>,
  metricsPort: number | undefined,
): void {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  Runtime.install({
    // SIGINT and SIGTERM drain the host first (drain.ts), then shut the workers down.
    shutdownSignals: [],
    telemetryOptions: metricsPort
      ? { metrics: { prometheus: { bindAddress: `127.0.0.1:${metricsPort}` } } }
      : undefined,
    logger: new DefaultLogger(sdkLevel(config.CAISSON_LOG_LEVEL), (entry: LogEntry) => {
      process.stderr.write(logLine(entry, config.CAISSON_LOG_FORMAT));
    }),
  });
}
