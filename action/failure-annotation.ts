// The `::error` annotation of an action that did not end DONE: GitHub shows it on the run's page,
// so it names the action and why it ended, with the result's message and the log's last lines.
// The container chose that text: @actions/core escapes it (%, CR and LF in the message; also ":"
// and "," in the title), so the annotation stays one workflow command whatever the log holds.
import type { ActionResult } from '../client/index.js';

/** Enough of the log to see why, not so much that the annotation drowns it. */
const TAIL_LINES = 10;
const LINE_CHARS = 500;

export function failureAnnotation(actionId: string, result: ActionResult): { title: string; message: string } {
  const tail = result.logTail.slice(-TAIL_LINES).map((line) => line.slice(0, LINE_CHARS));
  return {
    title: `Caisson action ${actionId} ${result.status}: ${result.reason}`,
    message:
      `action ${result.status}: exit code ${result.exitCode ?? '-'}, ${result.reason}: ${result.message}` +
      (tail.length ? `\nlast log lines:\n${tail.join('\n')}` : ''),
  };
}
