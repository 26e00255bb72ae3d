// The worker's log lines: JSON by default, text on request, and untrusted text kept as data in both.
import { describe, expect, it } from 'vitest';
import type { LogEntry } from '@temporalio/worker';
import { logLine, sdkLevel } from '../../worker/log-line.js';

const at = new Date('2026-01-02T03:04:05.000Z');
const entry = (message: string, meta?: Record<string, unknown>): LogEntry =>
  ({ level: 'WARN', message, meta, timestampNanos: 0n }) as LogEntry;

describe('logLine', () => {
  it('writes one JSON object a line, with the action id from the workflow id', () => {
    const line = logLine(entry('pull failed', { workflowId: 'a-1', image: 'x' }), 'json', at);
    expect(line.endsWith('\n')).toBe(true);
    expect(JSON.parse(line)).toEqual({
      time: '2026-01-02T03:04:05.000Z',
      level: 'WARN',
      message: 'pull failed',
      actionId: 'a-1',
      workflowId: 'a-1',
      image: 'x',
    });
  });

  it('writes text as time, level, message and key=JSON fields', () => {
    expect(logLine(entry('draining', { running: 2, signal: 'SIGTERM' }), 'text', at)).toBe(
      '2026-01-02T03:04:05.000Z WARN  draining running=2 signal="SIGTERM"\n',
    );
  });

  it('keeps newlines, terminal escapes and line separators in untrusted text as escapes, in both forms', () => {
    const hostile = 'bad\n{"level":"ERROR"}\u001b[31m\u2028\u0085';
    for (const format of ['json', 'text'] as const) {
      const line = logLine(entry(hostile, { error: hostile, [hostile]: 1 }), format, at);
      expect(line.indexOf('\n')).toBe(line.length - 1);
      expect(line).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u2028\u2029]/);
      if (format === 'json') expect(JSON.parse(line).error).toBe(hostile);
    }
  });

  it("maps CAISSON_LOG_LEVEL to the SDK's level", () => {
    expect(['debug', 'info', 'warn', 'error'].map((l) => sdkLevel(l as 'debug'))).toEqual([
      'DEBUG',
      'INFO',
      'WARN',
      'ERROR',
    ]);
  });
});
