// The workflow side of OpenTelemetry tracing: a span for each run of a workflow, and the trace
// carried on to the activities it schedules, continuing the trace the client started. Bundled only
// into the traced workflow bundles (worker/workflow-bundle-options.ts), which a worker takes when
// CAISSON_OTEL is set; its spans leave the sandbox through the worker's "exporter" sink.
import {
  OpenTelemetryInboundInterceptor,
  OpenTelemetryInternalsInterceptor,
  OpenTelemetryOutboundInterceptor,
} from '@temporalio/interceptors-opentelemetry/lib/workflow/index.js';
import type { WorkflowInterceptorsFactory } from '@temporalio/workflow';

export const interceptors: WorkflowInterceptorsFactory = () => ({
  inbound: [new OpenTelemetryInboundInterceptor()],
  outbound: [new OpenTelemetryOutboundInterceptor()],
  internals: [new OpenTelemetryInternalsInterceptor()],
});
