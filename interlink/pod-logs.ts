// A container's log as `kubectl logs` gives it, from the live-log store: stdout and stderr in the
// order they were written, of the current attempt (or the one before it with `previous`), with
// tail, since, timestamps and a byte limit; with follow, until the action has ended. A pod's other
// containers have no live log: theirs is the one stored when the action ended, whole.
import type { ActionHandle, LogOptions } from '../client/index.js';
import type { LogRequest } from './requests.js';
import { RequestProblems } from './requests.js';

/** Go's zero time, which interLink's server sends when SinceTime is not set. */
const unsetTime = (text: string) => Date.parse(text) <= Date.parse('0001-01-02T00:00:00Z');

export interface LogPlan {
  options: LogOptions;
  timestamps: boolean;
  limitBytes?: number;
}

/** Checks the options and chooses the attempt; RequestProblems for options that cannot hold. */
export async function logPlan(request: LogRequest, handle: ActionHandle): Promise<LogPlan> {
  const { opts } = request;
  const problems: { loc: (string | number)[]; msg: string; type: string }[] = [];
  const bad = (field: string, msg: string) => problems.push({ loc: ['body', 'opts', field], msg, type: 'value_error' });
  if (opts.tail != null && opts.tail < 0) bad('tail', 'tail is a number of lines, 0 or more');
  if (opts.limit_bytes != null && opts.limit_bytes < 0)
    bad('limit_bytes', 'limit_bytes is a number of bytes, 0 or more');
  if (opts.since_seconds != null && opts.since_seconds < 0) bad('since_seconds', 'since_seconds is 0 or more');
  let since: Date | undefined;
  if (opts.since_seconds) since = new Date(Date.now() - opts.since_seconds * 1000);
  if (opts.since_time && !unsetTime(opts.since_time)) {
    const at = Date.parse(opts.since_time);
    if (Number.isNaN(at)) bad('since_time', 'since_time is an RFC 3339 time such as 2026-01-02T15:04:05Z');
    else if (since) bad('since_time', 'give since_seconds or since_time, not both');
    else since = new Date(at);
  }
  if (problems.length) throw new RequestProblems(problems);

  const current = await handle.currentAttempt();
  const attempt = opts.previous ? current - 1 : current;
  if (attempt < 1) {
    throw new RequestProblems([
      {
        loc: ['body', 'opts', 'previous'],
        msg: `container "${request.container_name}" has no previous run: it is on its first attempt`,
        type: 'value_error',
      },
    ]);
  }
  return {
    options: {
      attempt,
      ...(since ? { since } : {}),
      ...(opts.tail ? { tail: opts.tail } : {}),
      follow: Boolean(opts.follow) && !opts.previous,
    },
    timestamps: Boolean(opts.timestamps),
    ...(opts.limit_bytes ? { limitBytes: opts.limit_bytes } : {}),
  };
}

/**
 * Writes each piece through `write` until `limit` bytes are written. The limit is in bytes, as
 * Kubernetes has it: the last piece may end mid-character; the text is never interpreted.
 */
async function writeLimited(
  pieces: AsyncIterable<Uint8Array>,
  limit: number | undefined,
  write: (chunk: Uint8Array) => Promise<void>,
): Promise<void> {
  let left = limit || Infinity;
  for await (const bytes of pieces) {
    const chunk = bytes.length > left ? bytes.subarray(0, left) : bytes;
    left -= chunk.length;
    await write(chunk);
    if (left <= 0) return;
  }
}

/** Writes the live log's lines through `write`, up to the byte limit. */
export async function writeLog(
  handle: ActionHandle,
  plan: LogPlan,
  write: (chunk: Uint8Array) => Promise<void>,
  signal: AbortSignal,
): Promise<void> {
  async function* lines() {
    for await (const line of handle.logs({ ...plan.options, signal }))
      yield Buffer.from(`${plan.timestamps ? `${line.time} ` : ''}${line.text}\n`);
  }
  await writeLimited(lines(), plan.limitBytes, write);
}

/** A pod's other container's stored log (waits for the action to end), up to the byte limit. */
export async function writeStoredLog(
  handle: ActionHandle,
  container: string,
  limitBytes: number | undefined,
  write: (chunk: Uint8Array) => Promise<void>,
  signal: AbortSignal,
): Promise<void> {
  async function* pieces() {
    for await (const { bytes } of handle.containerLog(container, signal)) yield bytes;
  }
  await writeLimited(pieces(), limitBytes, write);
}
