// CAISSON_OTEL as every side reads it: off unless set, one of a few exporters, and a bad value
// named at the worker's start like any other setting.
import { describe, expect, it } from 'vitest';
import { tracingSettingFromEnv } from '../../common/tracing/tracing-setting.js';
import { loadWorkerConfig } from '../../worker/config.js';

describe('CAISSON_OTEL', () => {
  it('is off unset, empty, "0" or "off"', () => {
    for (const value of [undefined, '', '0', 'off', 'OFF'])
      expect(tracingSettingFromEnv({ CAISSON_OTEL: value })).toBe(undefined);
  });

  it('names the exporter: otlp (or 1), stderr, file:<path>, global', () => {
    expect(tracingSettingFromEnv({ CAISSON_OTEL: '1' })).toEqual({ exporter: 'otlp' });
    expect(tracingSettingFromEnv({ CAISSON_OTEL: 'otlp' })).toEqual({ exporter: 'otlp' });
    expect(tracingSettingFromEnv({ CAISSON_OTEL: 'stderr' })).toEqual({ exporter: 'stderr' });
    expect(tracingSettingFromEnv({ CAISSON_OTEL: 'file:/var/log/spans.jsonl' })).toEqual({
      exporter: 'file',
      path: '/var/log/spans.jsonl',
    });
    expect(tracingSettingFromEnv({ CAISSON_OTEL: 'global' })).toEqual({ exporter: 'global' });
  });

  it('stops the worker at start on anything else, saying what to write', () => {
    expect(() => loadWorkerConfig({ CAISSON_ARTIFACTS_BUCKET: 'artifacts', CAISSON_OTEL: 'file:' })).toThrow(
      /CAISSON_OTEL: CAISSON_OTEL is "otlp" \(or "1"\), "stderr", "file:<path>"/,
    );
    expect(loadWorkerConfig({ CAISSON_ARTIFACTS_BUCKET: 'artifacts', CAISSON_OTEL: 'stderr' }).CAISSON_OTEL).toEqual({
      exporter: 'stderr',
    });
  });
});
