// A span exporter that writes each finished span as one JSON line: for stderr (collected with the
// process's log) or a file a collector tails. Attribute values are what the interceptors and the
// worker set (names, ids, exit codes); payloads and secrets never go into spans.
import type { ExportResultCode } from '@opentelemetry/core';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base';

const millis = ([seconds, nanos]: [number, number]) => seconds * 1e3 + nanos / 1e6;

/** A span as one line of JSON: ids, name, times, attributes, events, status and the service. */
function spanLine(span: ReadableSpan): string {
  return JSON.stringify({
    traceId: span.spanContext().traceId,
    spanId: span.spanContext().spanId,
    parentSpanId: span.parentSpanId,
    name: span.name,
    kind: span.kind,
    service: span.resource.attributes['service.name'],
    start: new Date(millis(span.startTime)).toISOString(),
    durationMs: millis(span.duration),
    attributes: span.attributes,
    events: span.events.map((e) => ({ name: e.name, attributes: e.attributes })),
    status: span.status,
  });
}

/** `codes` are the SDK's result codes, passed in because the SDK itself is loaded only when tracing is on. */
export function spanLinesExporter(write: (lines: string) => void, codes: typeof ExportResultCode): SpanExporter {
  return {
    export(spans, done) {
      try {
        write(spans.map((span) => `${spanLine(span)}\n`).join(''));
        done({ code: codes.SUCCESS });
      } catch (err) {
        done({ code: codes.FAILED, error: err as Error });
      }
    },
    shutdown: async () => {},
  };
}
