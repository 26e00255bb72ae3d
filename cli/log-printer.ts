// An action's log on the terminal. Plain: the container's stdout to stdout and its stderr to stderr,
// unprefixed, as `docker run` and `docker logs` do (so a pipe gets exactly what the container
// printed). Marked (`run --pretty`): every line on stderr with its stream's mark ("|" stdout, "!"
// stderr, red on a terminal) and a line between attempts.
import { once } from 'node:events';
import type { ActionHandle, ActionResult, LogLine, LogOptions } from '../client/index.js';
import { followTail } from '../client/follow.js';
import { redFor } from './colour.js';

export interface LogStyle {
  marked: boolean;
  timestamps?: boolean;
  /** Called before each line is printed: a live status line on the terminal is cleared first. */
  beforeLine?: () => void;
}

/** Writes and waits when the reader is slower: a long log never piles up in this process. */
async function write(stream: NodeJS.WriteStream, text: string): Promise<void> {
  if (!stream.write(text)) await once(stream, 'drain');
}

export async function printLog(handle: ActionHandle, options: LogOptions, style: LogStyle): Promise<void> {
  const red = redFor(process.stderr);
  let attempt: number | undefined;
  for await (const line of handle.logs(options) as AsyncIterable<LogLine>) {
    style.beforeLine?.();
    if (style.marked && attempt !== undefined && line.attempt !== attempt)
      await write(process.stderr, `--- attempt ${line.attempt} ---\n`);
    attempt = line.attempt;
    const text = `${style.timestamps ? `${line.time} ` : ''}${line.text}`;
    if (style.marked) await write(process.stderr, line.stream === 'stderr' ? red(`! ${text}`) + '\n' : `| ${text}\n`);
    else await write(line.stream === 'stderr' ? process.stderr : process.stdout, text + '\n');
  }
}

export const NO_BUCKET_NOTE =
  '(no access to the artifacts bucket: showing the last lines the host reports, not every line)';

/**
 * Follows a running action's log until `until` settles: every line from S3 when the client can
 * read it, else the tail the host reports (whose lines carry no stream: stdout, or "|" marked).
 */
export async function followLog(
  handle: ActionHandle,
  until: Promise<ActionResult>,
  style: LogStyle,
  note: (text: string) => void,
): Promise<void> {
  if (handle.canReadLogs) {
    await printLog(handle, { follow: true, until }, style).catch((e: Error) =>
      // The action goes on; only the view of its log broke. Its full log is in S3 at the end.
      note(`(following the log stopped: ${e.message})`),
    );
    return;
  }
  note(NO_BUCKET_NOTE);
  const show = style.marked
    ? (l: string) => process.stderr.write(`| ${l}\n`)
    : (l: string) => process.stdout.write(`${l}\n`);
  await followTail(
    () => handle.logTail(),
    (lines) => {
      if (lines.length) style.beforeLine?.();
      lines.forEach(show);
    },
    until,
  );
}
