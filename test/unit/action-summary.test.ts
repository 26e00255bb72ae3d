// The job summary shows what the container chose (messages, file names) as text, never as HTML.
import * as core from '@actions/core';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { writeSummary } from '../../action/main.js';
import type { ActionResult } from '../../spec/result.js';

/** A result of the fields the summary shows, with `fields` over them. */
const resultWith = (fields: Record<string, unknown>) =>
  ({
    image: 'r/x:1',
    artifactTotals: { files: 1, bytes: 1 },
    startedAt: '2026-01-01T00:00:00Z',
    finishedAt: '2026-01-01T00:00:01Z',
    ...fields,
  }) as unknown as ActionResult;

const dir = mkdtempSync(join(tmpdir(), 'caisson-summary-'));
afterEach(() => {
  vi.unstubAllEnvs();
  rmSync(dir, { recursive: true, force: true });
});

describe('the job summary', () => {
  it('escapes container-chosen text', async () => {
    const file = join(dir, 'summary.md');
    writeFileSync(file, '');
    vi.stubEnv('GITHUB_STEP_SUMMARY', file);
    const result = resultWith({
      status: 'FAILED',
      exitCode: 1,
      reason: 'output-not-json',
      message: 'stdout is not JSON: <script>alert(1)</script>',
      host: 'h',
      artifacts: [{ path: '<img src=x onerror=alert(1)>', uri: 's3://b/a/out/<img src=x onerror=alert(1)>', size: 1 }],
    });
    await writeSummary(core, result, '');
    const html = readFileSync(file, 'utf8');
    expect(html).toContain('&lt;img src=x onerror=alert(1)&gt;');
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(html).not.toMatch(/<img|<script/);
  });

  it('links the Temporal UI and lists downloaded files, a line break in a name kept inside its cell', async () => {
    // The table's cells as written; @actions/core keeps the first summary file it was given.
    const cells: string[] = [];
    const summary = {
      addHeading: () => summary,
      addTable: (rows: { data: string }[][]) => {
        cells.push(...rows.flat().map((cell) => cell.data));
        return summary;
      },
      write: async () => summary,
    };
    const result = resultWith({
      status: 'DONE',
      exitCode: 0,
      reason: 'exit',
      message: 'exited 0',
      artifacts: [{ path: 'a\n\n# heading', uri: 's3://b/a/out/a\n\n# heading', size: 1 }],
    });
    const link = 'https://ui.example/namespaces/default/workflows/a"b';
    await writeSummary({ summary } as unknown as typeof core, result, link, [
      { file: 'caisson-out/[x](javascript:1)\n\n<b>', size: 1 },
    ]);
    const html = cells.join('\n');
    expect(html).toContain(`<a href="${link.replace('"', '&quot;')}">`);
    expect(html).toContain('<code>caisson-out/[x](javascript:1)&#10;&#10;&lt;b&gt;</code>');
    expect(html).toContain('<code>s3://b/a/out/a&#10;&#10;# heading</code>');
    expect(html).not.toMatch(/\n\n#|<b>/);
  });
});
