// The tracer every traced side uses, built when CAISSON_OTEL turns tracing on: a tracer provider
// named after the process's role, its exporter as the setting says, and the global context manager
// and W3C propagator the Temporal interceptors need to carry a trace from the client through the
// workflow to the activities. The OpenTelemetry packages are imported here, only when tracing is on
// (they are optional peers of Caisson).
import { appendFileSync } from 'node:fs';
import type { Tracer } from '@opentelemetry/api';
import type { Resource } from '@opentelemetry/resources';
import type { SpanExporter, SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { asyncContextManager } from './async-context.js';
import { spanLinesExporter } from './span-lines.js';
import type { TracingSetting } from './tracing-setting.js';

export interface Tracing {
  tracer: Tracer;
  /** Where spans go: absent with the process's own SDK ("global"), which keeps its own. */
  export?: { spanProcessor: SpanProcessor; resource: Resource };
  /** Sends what is still buffered and stops. */
  shutdown(): Promise<void>;
}

const OTLP_EXPORTER = '@opentelemetry/exporter-trace-otlp-http';

async function otlpExporter(): Promise<SpanExporter> {
  // A name in a variable: the package is not a dependency, and type-checking must not look for it.
  const name: string = OTLP_EXPORTER;
  let module: { OTLPTraceExporter: new () => SpanExporter };
  try {
    module = (await import(name)) as typeof module;
  } catch {
    throw new Error(
      `CAISSON_OTEL=otlp needs ${OTLP_EXPORTER} installed beside caisson (or CAISSON_OTEL=stderr, file:<path>)`,
    );
  }
  return new module.OTLPTraceExporter();
}

export async function startTracing(setting: TracingSetting, service: string): Promise<Tracing> {
  const api = await import('@opentelemetry/api');
  if (setting.exporter === 'global') return { tracer: api.trace.getTracer('caisson'), shutdown: async () => {} };
  const [core, sdk, resources] = await Promise.all([
    import('@opentelemetry/core'),
    import('@opentelemetry/sdk-trace-base'),
    import('@opentelemetry/resources'),
  ]);
  const lines = (write: (text: string) => void) =>
    new sdk.SimpleSpanProcessor(spanLinesExporter(write, core.ExportResultCode));
  const spanProcessor =
    setting.exporter === 'otlp'
      ? new sdk.BatchSpanProcessor(await otlpExporter())
      : setting.exporter === 'stderr'
        ? lines((text) => process.stderr.write(text))
        : lines((text) => appendFileSync(setting.path, text));
  // OTEL_SERVICE_NAME, when set, names the service as every OpenTelemetry SDK lets it.
  const resource = new resources.Resource({ 'service.name': process.env.OTEL_SERVICE_NAME || service });
  const provider = new sdk.BasicTracerProvider({ resource, spanProcessors: [spanProcessor] });
  api.context.setGlobalContextManager(asyncContextManager(api.ROOT_CONTEXT));
  api.propagation.setGlobalPropagator(new core.W3CTraceContextPropagator());
  api.trace.setGlobalTracerProvider(provider);
  return {
    tracer: provider.getTracer('caisson'),
    export: { spanProcessor, resource },
    shutdown: () => provider.shutdown(),
  };
}
