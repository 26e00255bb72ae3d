import { describe, expect, it } from 'vitest';
import { formatDuration, parseBytes, parseCpu, parseDuration } from '../../spec/quantity.js';

const value = (p: { ok: boolean; value?: number }) => (p.ok ? p.value : undefined);

describe('parseCpu', () => {
  it('reads cores and millicores', () => {
    expect(value(parseCpu(2))).toBe(2);
    expect(value(parseCpu('0.5'))).toBe(0.5);
    expect(value(parseCpu('500m'))).toBe(0.5);
    expect(value(parseCpu('1500m'))).toBe(1.5);
  });
  it('refuses nonsense and zero', () => {
    expect(parseCpu('two')).toMatchObject({ ok: false, message: expect.stringContaining('millicores') });
    expect(parseCpu('0m')).toMatchObject({ ok: false });
    expect(parseCpu(-1)).toMatchObject({ ok: false });
  });
});

describe('parseBytes', () => {
  it('reads binary and decimal units and plain bytes', () => {
    expect(value(parseBytes('256Mi'))).toBe(256 * 2 ** 20);
    expect(value(parseBytes('4Gi'))).toBe(4 * 2 ** 30);
    expect(value(parseBytes('2G'))).toBe(2e9);
    expect(value(parseBytes(1048576))).toBe(1048576);
    expect(value(parseBytes('1048576'))).toBe(1048576);
  });
  it('refuses a lowercase m and suggests Mi', () => {
    const parsed = parseBytes('512m');
    expect(parsed.ok).toBe(false);
    expect(!parsed.ok && parsed.message).toContain('"512Mi"');
  });
  it('names unknown units', () => {
    expect(parseBytes('3Qi')).toMatchObject({ ok: false, message: expect.stringContaining('unknown unit "Qi"') });
    expect(parseBytes('0Mi')).toMatchObject({ ok: false });
  });
});

describe('parseDuration', () => {
  it('reads units, compounds and seconds', () => {
    expect(value(parseDuration('30s'))).toBe(30_000);
    expect(value(parseDuration('2h'))).toBe(7_200_000);
    expect(value(parseDuration('1h30m'))).toBe(5_400_000);
    expect(value(parseDuration('250ms'))).toBe(250);
    expect(value(parseDuration(5))).toBe(5000);
    expect(value(parseDuration('5'))).toBe(5000);
  });
  it('refuses garbage, trailing junk and zero', () => {
    expect(parseDuration('3x').ok).toBe(false);
    expect(parseDuration('10s later').ok).toBe(false);
    expect(parseDuration('0s').ok).toBe(false);
    expect(parseDuration(0).ok).toBe(false);
  });
  it('formats back for humans', () => {
    expect(formatDuration(250)).toBe('250ms');
    expect(formatDuration(5_400_000)).toBe('1h30m');
  });
});
