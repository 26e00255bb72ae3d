// The job summary of one action: how it ended, with links to it in the Temporal UI, its artifacts
// and the files the step downloaded. The summary is Markdown holding an HTML table, and the
// container chose the messages and file names: every such text is escaped, never read as HTML
// or Markdown.
import type * as core from '@actions/core';
import type { ActionResult } from '../client/index.js';
import { formatDuration } from '../spec/quantity.js';

/** How many artifacts and downloaded files the summary lists by name. */
const LISTED = 20;

/**
 * Text as HTML text: the markup characters, and line breaks, which would end the HTML block and
 * let what follows be read as Markdown.
 */
function escapeHtml(text: string): string {
  return text.replace(
    /[&<>"'\r\n]/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;', '\r': '&#13;', '\n': '&#10;' })[c]!,
  );
}

/** A link for an http(s) address; any other text stays text. */
function link(href: string): string {
  return /^https?:\/\//i.test(href) ? `<a href="${escapeHtml(href)}">${escapeHtml(href)}</a>` : escapeHtml(href);
}

/** The first names of a list, one per line, and how many more there are. */
function listed(names: string[], total: number): string {
  const shown = names.slice(0, LISTED).map((name) => `<code>${escapeHtml(name)}</code>`);
  if (total > shown.length) shown.push(`… ${total - shown.length} more`);
  return shown.join('<br>');
}

/** A file the step downloaded: where it is in the workspace. */
export interface DownloadedFile {
  file: string;
  size: number;
}

export async function writeSummary(
  actions: { summary: typeof core.summary },
  result: ActionResult,
  uiLink: string,
  downloaded?: DownloadedFile[],
): Promise<void> {
  const duration = Date.parse(result.finishedAt) - Date.parse(result.startedAt);
  const e = escapeHtml;
  const artifacts = result.artifacts.map((a) => a.uri);
  const rows = [
    [{ data: 'status', header: true }, { data: e(result.status) }],
    [{ data: 'exit code', header: true }, { data: String(result.exitCode ?? '-') }],
    [{ data: 'reason', header: true }, { data: e(`${result.reason}: ${result.message}`) }],
    [{ data: 'duration', header: true }, { data: formatDuration(duration) }],
    [
      { data: 'image', header: true },
      { data: e(`${result.image}${result.imageDigest ? ` (${result.imageDigest})` : ''}`) },
    ],
    [{ data: 'host', header: true }, { data: e(result.host ?? '-') }],
    [
      { data: 'artifacts', header: true },
      { data: `${result.artifactTotals.files} files; ${listed(artifacts, result.artifactTotals.files)}` },
    ],
    ...(downloaded
      ? [
          [
            { data: 'downloaded', header: true },
            {
              data: `${downloaded.length} files; ${listed(
                downloaded.map((d) => d.file),
                downloaded.length,
              )}`,
            },
          ],
        ]
      : []),
    [{ data: 'Temporal', header: true }, { data: uiLink ? link(uiLink) : '-' }],
  ];
  await actions.summary
    .addHeading(`Caisson action ${result.status}`, 3)
    .addTable(rows)
    .write()
    .catch(() => undefined); // no summary file outside GitHub: nothing to write
}
