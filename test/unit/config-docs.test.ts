// The worker settings table in docs/operating.md is what scripts/write-config-docs.ts writes from
// worker/config.ts today, and a documented default cannot drift from the schema's.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { OPERATING_DOC, settingsTable, withSettingsTable } from '../../scripts/write-config-docs.js';
import { SETTING_DOCS, WorkerConfig } from '../../worker/config.js';

describe('worker settings table', () => {
  it('in docs/operating.md is what npm run docs:config writes', () => {
    const committed = readFileSync(OPERATING_DOC, 'utf8');
    expect(withSettingsTable(committed)).toBe(committed);
  });

  it('has a row for every variable the worker reads', () => {
    const table = settingsTable();
    for (const name of [...Object.keys(WorkerConfig.shape), 'CAISSON_CODEC_KEYS_FILE']) {
      expect(table).toContain(`| \`${name}\` |`);
    }
  });

  it('refuses a documented default that the schema reads as another value', () => {
    const drifted = { ...SETTING_DOCS, CAISSON_OUT_DISK: { about: 'room for /out', default: '2Gi' } };
    expect(() => settingsTable(drifted)).toThrow("CAISSON_OUT_DISK: documented default 2Gi is not the schema's");
  });
});
