// The worker's OpenTelemetry tracing, when CAISSON_OTEL is set: activity interceptors that continue
// the trace the workflow passes on, the sink through which the traced workflow bundle's spans leave
// the sandbox, and a span for each container's run inside execute, with its exit code. Everything
// of OpenTelemetry is imported here, only then.
import type { WorkerOptions } from '@temporalio/worker';
import type { ContainerRunTracer } from '../activities/execute/run-tracing.js';
import { startTracing } from '../common/tracing/tracer-provider.js';
import type { TracingSetting } from '../common/tracing/tracing-setting.js';

export interface WorkerTracing {
  /** What every Temporal worker of this process is created with. */
  workerOptions: Pick<WorkerOptions, 'interceptors' | 'sinks'>;
  containerRuns: ContainerRunTracer;
  /** Sends the spans still buffered. */
  shutdown(): Promise<void>;
}

export async function startWorkerTracing(setting: TracingSetting): Promise<WorkerTracing> {
  const tracing = await startTracing(setting, 'caisson-worker');
  if (!tracing.export)
    throw new Error(
      'CAISSON_OTEL=global is for a service embedding the client; a worker takes otlp, stderr or file:<path>',
    );
  const [otel, api] = await Promise.all([
    import('@temporalio/interceptors-opentelemetry/lib/worker/index.js'),
    import('@opentelemetry/api'),
  ]);
  const { tracer } = tracing;
  const containerRuns: ContainerRunTracer = {
    traced: (about, run) =>
      tracer.startActiveSpan(
        'RunContainer',
        {
          attributes: {
            'caisson.action_id': about.actionId,
            'caisson.attempt': about.attempt,
            'container.image.name': about.image,
          },
        },
        async (span) => {
          try {
            const outcome = await run();
            // exitCode is null when the container never ran to an end (refused, stopped before start).
            if (outcome.exitCode !== null) span.setAttribute('caisson.exit_code', outcome.exitCode);
            span.setAttribute('caisson.end_reason', outcome.reason);
            span.addEvent('container exited', { 'caisson.exit_code': outcome.exitCode ?? -1 });
            return outcome;
          } catch (err) {
            span.recordException(err as Error);
            span.setStatus({ code: api.SpanStatusCode.ERROR, message: (err as Error).message });
            throw err;
          } finally {
            span.end();
          }
        },
      ),
  };
  return {
    workerOptions: {
      interceptors: {
        activity: [
          (ctx) => ({
            inbound: new otel.OpenTelemetryActivityInboundInterceptor(ctx, { tracer }),
            outbound: new otel.OpenTelemetryActivityOutboundInterceptor(ctx),
          }),
        ],
      },
      sinks: { exporter: otel.makeWorkflowExporter(tracing.export.spanProcessor, tracing.export.resource) },
    },
    containerRuns,
    shutdown: tracing.shutdown,
  };
}
