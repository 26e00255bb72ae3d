// Whether Caisson traces with OpenTelemetry, and where spans go: CAISSON_OTEL, read the same by the
// worker, the client, the CLI, the Action and the interLink plugin. Unset (or "0", "off"), nothing
// of OpenTelemetry is loaded, so installs without it work.
export type TracingSetting =
  /** OTLP over HTTP, configured by the standard OTEL_EXPORTER_OTLP_* variables (needs @opentelemetry/exporter-trace-otlp-http). */
  | { exporter: 'otlp' }
  /** One JSON object per span, a line each, on standard error. */
  | { exporter: 'stderr' }
  /** The same lines appended to a file. */
  | { exporter: 'file'; path: string }
  /** The process's own OpenTelemetry SDK (tracer provider, context manager, propagator): for a service embedding the client. */
  | { exporter: 'global' };

const OFF = new Set(['', '0', 'off', 'false']);

export function tracingSettingFromEnv(env: NodeJS.ProcessEnv = process.env): TracingSetting | undefined {
  const value = (env.CAISSON_OTEL ?? '').trim();
  if (OFF.has(value.toLowerCase())) return undefined;
  if (value === '1' || value === 'otlp') return { exporter: 'otlp' };
  if (value === 'stderr' || value === 'global') return { exporter: value };
  if (value.startsWith('file:') && value.length > 'file:'.length) return { exporter: 'file', path: value.slice(5) };
  throw new Error(
    `CAISSON_OTEL is "otlp" (or "1"), "stderr", "file:<path>" or "global"; unset or "0" turns tracing off`,
  );
}
