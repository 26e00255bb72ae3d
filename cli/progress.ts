// While `run` or `result` waits: one line on stderr each time the action's phase changes (waiting
// for a host and why, pulling, running, collecting), read from the same status `caisson status`
// shows. Plain lines, no spinner: they read the same in a terminal, a CI log or a file.
import type { StatusView } from '../client/index.js';

const POLL_MS = 1500;

/** The line for a phase, or undefined when the action has ended (the summary says the rest). */
function phaseLine(actionId: string, status: StatusView): string | undefined {
  switch (status.phase) {
    case 'PENDING':
      return `caisson: ${actionId} waiting${status.waitingFor ? ` for ${status.waitingFor}` : ' for a host'}`;
    case 'PULLING':
      return `caisson: ${actionId} pulling ${status.image}${status.host ? ` on ${status.host}` : ''}`;
    case 'RUNNING':
      return `caisson: ${actionId} running${status.host ? ` on ${status.host}` : ''}${status.attempt > 1 ? ` (attempt ${status.attempt})` : ''}`;
    case 'COLLECTING':
      return `caisson: ${actionId} collecting /out and uploading the log`;
    default:
      return undefined;
  }
}

/** Prints phase changes until `until` settles. A status that cannot be read is skipped, not fatal. */
export async function followPhases(
  actionId: string,
  readStatus: () => Promise<StatusView>,
  until: Promise<unknown>,
  line: (text: string) => void,
  pollMs = POLL_MS,
): Promise<void> {
  let ended = false;
  void until.finally(() => (ended = true)).catch(() => {});
  let last: string | undefined;
  while (!ended) {
    const status = await readStatus().catch(() => undefined);
    const text = status && phaseLine(actionId, status);
    if (!ended && text && text !== last) line(text);
    last = text ?? last;
    await Promise.race([until.catch(() => {}), new Promise((r) => setTimeout(r, pollMs))]);
  }
}
