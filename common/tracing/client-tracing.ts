// A client's OpenTelemetry tracing, when CAISSON_OTEL is set: the Temporal client interceptor that
// opens a span for each workflow start (and signal, query, cancel) and hands its trace to the
// workflow in the start's headers. Loaded only then.
import type { WorkflowClientInterceptor } from '@temporalio/client';
import { startTracing } from './tracer-provider.js';
import { tracingSettingFromEnv } from './tracing-setting.js';

export interface ClientTracing {
  interceptors: WorkflowClientInterceptor[];
  /** Sends the spans still buffered; a CLI calls it before it exits. */
  shutdown(): Promise<void>;
}

export async function clientTracingFromEnv(env: NodeJS.ProcessEnv = process.env): Promise<ClientTracing | undefined> {
  const setting = tracingSettingFromEnv(env);
  if (!setting) return undefined;
  const tracing = await startTracing(setting, 'caisson-client');
  const { OpenTelemetryWorkflowClientInterceptor } =
    await import('@temporalio/interceptors-opentelemetry/lib/client/index.js');
  return {
    interceptors: [new OpenTelemetryWorkflowClientInterceptor({ tracer: tracing.tracer })],
    shutdown: tracing.shutdown,
  };
}
