// An ended action (or array) as people read it: status, ids, host, exit code, step timings, logs
// and artifacts. `run` writes it to stderr (stdout is the container's), `result` to stdout.
import type { ActionResult, ArrayResult } from '../client/index.js';
import { formatDuration } from '../spec/quantity.js';
import { humanBytes } from './table.js';

export type Line = (text: string) => void;

export function printResult(result: ActionResult, line: Line, uiLink: string | undefined): void {
  line(`${result.status}  ${result.message}`);
  line(`  action     ${result.actionId}`);
  line(`  image      ${result.image}${result.imageDigest ? ` (${result.imageDigest})` : ''}`);
  if (result.host) line(`  host       ${result.host}`);
  line(`  exit code  ${result.exitCode ?? '-'}   reason ${result.reason}   attempts ${result.attempts}`);
  if (result.peakMemoryBytes || result.cpuSeconds) {
    line(
      `  usage      peak memory ${humanBytes(result.peakMemoryBytes ?? 0)}, CPU ${(result.cpuSeconds ?? 0).toFixed(2)}s`,
    );
  }
  for (const r of result.replicas ?? []) {
    line(
      `  replica ${String(r.rank).padEnd(3)}${r.status.padEnd(9)} ${r.actionId}${r.host ? ` on ${r.host}` : ''}   exit code ${r.exitCode ?? '-'}`,
    );
  }
  line(`  steps      ${result.timings.map((t) => `${t.step} ${formatDuration(t.ms)}`).join(', ')}`);
  if (result.logs) line(`  logs       ${result.logs.stdout}\n             ${result.logs.stderr}`);
  for (const e of result.logs?.earlier ?? []) line(`             attempt ${e.attempt}: ${e.stdout}, ${e.stderr}`);
  line(`  artifacts  ${result.artifactTotals.files} files, ${humanBytes(result.artifactTotals.bytes)}`);
  for (const a of result.artifacts.slice(0, 20)) line(`             ${a.uri} (${humanBytes(a.size)})`);
  if (result.artifacts.length > 20) line(`             … ${result.artifactTotals.files - 20} more in result.json`);
  for (const s of result.skipped.slice(0, 20)) line(`  skipped    ${s.path}: ${s.why}`);
  const skippedTotal = result.skippedTotal ?? result.skipped.length;
  if (skippedTotal > 20)
    line(`             … ${skippedTotal - 20} more skipped (result.json lists ${result.skipped.length})`);
  if (result.resultUri) line(`  result     ${result.resultUri}`);
  if (result.output !== undefined) line(`  output     ${JSON.stringify(result.output)}`);
  if (uiLink) line(`  temporal   ${uiLink}`);
}

export function printArrayResult(result: ArrayResult, line: Line): void {
  line(`${result.status}  ${result.message}`);
  line(`  array      ${result.actionId} (children ${result.actionId}-0 … ${result.actionId}-${result.count - 1})`);
  if (result.best) line(`  best       ${result.best.id} (child ${result.best.index}): ${result.best.value}`);
  for (const c of result.children.filter((c) => c.status === 'FAILED' || c.status === 'CANCELED').slice(0, 20)) {
    line(
      `  ${c.status.padEnd(10)} ${result.actionId}-${c.index}  exit code ${c.exitCode ?? '-'}${c.resultUri ? `  ${c.resultUri}` : ''}`,
    );
  }
}
