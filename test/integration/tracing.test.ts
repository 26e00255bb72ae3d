// One action is one OpenTelemetry trace, on the real stack: a service with its own tracer provider
// (an in-memory exporter, CAISSON_OTEL=global) starts it, and a worker of its own with
// CAISSON_OTEL=file:<path> writes its spans as JSON lines, which the test reads back. The client's
// start, the workflow, the execute activity and the container's run (with its exit code) share the
// trace id the client began.
import { mkdtempSync, readFileSync, existsSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT_CONTEXT } from '@opentelemetry/api';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { ActionsClient } from '../../client/index.js';
import { temporalSettingsFromEnv } from '../../common/connection/temporal-connection.js';
import { asyncContextManager } from '../../common/tracing/async-context.js';
import { busybox, expectNoLeftovers, workerOfItsOwn } from '../support/actions.js';

const cleanups: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

interface SpanLine {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  attributes: Record<string, unknown>;
  events: { name: string; attributes: Record<string, unknown> }[];
}

const spanLines = (file: string): SpanLine[] =>
  existsSync(file)
    ? readFileSync(file, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line) as SpanLine)
    : [];

describe('with CAISSON_OTEL', () => {
  it('traces an action from the client start through the workflow and execute to the container exit', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'caisson-spans-'));
    cleanups.push(async () => rmSync(dir, { recursive: true, force: true }));
    const spansFile = join(dir, 'spans.jsonl');
    const { host, taskQueue } = await workerOfItsOwn('traced', { CAISSON_OTEL: `file:${spansFile}` }, cleanups);
    cleanups.push(() => expectNoLeftovers(host));

    // The service's own OpenTelemetry SDK, which the client joins with CAISSON_OTEL=global.
    const exporter = new InMemorySpanExporter();
    const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
    provider.register({ contextManager: asyncContextManager(ROOT_CONTEXT) });
    cleanups.push(() => provider.shutdown());
    vi.stubEnv('CAISSON_OTEL', 'global');
    cleanups.push(async () => vi.unstubAllEnvs());
    const client = await ActionsClient.connect(temporalSettingsFromEnv(), taskQueue);
    cleanups.push(() => client.close());

    const handle = await client.start(busybox('echo traced; exit 3'));
    const result = await handle.result();
    expect(result).toMatchObject({ status: 'FAILED', exitCode: 3 });

    const start = exporter.getFinishedSpans().find((s) => s.name === 'StartWorkflow:runAction');
    expect(start).toBeDefined();
    const traceId = start!.spanContext().traceId;
    // The workflow's span leaves the sandbox once its last task completes: read until it is there.
    const inTrace = () => spanLines(spansFile).filter((s) => s.traceId === traceId);
    await expect
      .poll(() => inTrace().map((s) => s.name), { timeout: 30_000, interval: 200 })
      .toEqual(expect.arrayContaining(['RunWorkflow:runAction', 'RunActivity:execute', 'RunContainer']));

    const spans = inTrace();
    const workflow = spans.find((s) => s.name === 'RunWorkflow:runAction')!;
    const execute = spans.find((s) => s.name === 'RunActivity:execute')!;
    const container = spans.find((s) => s.name === 'RunContainer')!;
    expect(workflow.parentSpanId).toBe(start!.spanContext().spanId);
    expect(container.parentSpanId).toBe(execute.spanId);
    expect(container.attributes).toMatchObject({
      'caisson.action_id': handle.actionId,
      'caisson.exit_code': 3,
      'caisson.end_reason': 'exit',
    });
    expect(container.events).toEqual([{ name: 'container exited', attributes: { 'caisson.exit_code': 3 } }]);
    // Nothing of the action's spans went into another trace.
    const elsewhere = spanLines(spansFile).filter(
      (s) => s.traceId !== traceId && s.attributes['caisson.action_id'] === handle.actionId,
    );
    expect(elsewhere).toEqual([]);
  });
});
