// `caisson logs ID -c NAME` for a pod's container other than the top-level one: its log is not
// live (the host ships only the top-level container's as it is written), so it is printed once
// the action has ended and stored it, stdout on stdout and stderr on stderr, as it was written.
import { once } from 'node:events';
import type { ActionHandle } from '../client/index.js';
import type { StreamName } from '../common/storage/log-segments.js';
import { err } from './connect.js';
import { UsageError } from './spec-from-flags.js';

/** The `logs` options that need the live log: a stored one is printed whole. */
const LIVE_ONLY = ['tail', 'since', 'timestamps', 'attempt', 'previous'] as const;

export async function printContainerLog(
  handle: ActionHandle,
  container: string,
  opts: Partial<Record<(typeof LIVE_ONLY)[number] | StreamName, unknown>>,
): Promise<void> {
  const live = LIVE_ONLY.filter((name) => opts[name] !== undefined && opts[name] !== false);
  if (live.length)
    throw new UsageError(
      `--${live[0]}: container "${container}" has no live log, only the one stored when the action ends (printed whole)`,
    );
  const streams =
    opts.stdout || opts.stderr ? { stdout: Boolean(opts.stdout), stderr: Boolean(opts.stderr) } : undefined;
  if (!(await handle.hasEnded()))
    err(`container "${container}" has no live log: it is printed once ${handle.actionId} has ended and stored it`);
  for await (const { stream, bytes } of handle.containerLog(container)) {
    if (streams && !streams[stream]) continue;
    const to = stream === 'stdout' ? process.stdout : process.stderr;
    if (!to.write(bytes)) await once(to, 'drain');
  }
}
