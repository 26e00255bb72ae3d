// Turns a series of log-tail snapshots into a stream of new lines, for `logs --follow` and the
// GitHub Action: each snapshot overlaps the previous one, and only what comes after the overlap is new.

export function newLines(previous: readonly string[], current: readonly string[]): string[] {
  for (let overlap = Math.min(previous.length, current.length); overlap > 0; overlap--) {
    let same = true;
    for (let i = 0; i < overlap; i++) {
      if (previous[previous.length - overlap + i] !== current[i]) {
        same = false;
        break;
      }
    }
    if (same) return current.slice(overlap);
  }
  return [...current];
}

/** Calls `onLines` with new log lines until `done` resolves, polling the tail every interval. */
export async function followTail(
  readTail: () => Promise<string[]>,
  onLines: (lines: string[]) => void,
  done: Promise<unknown>,
  intervalMs = 1000,
): Promise<void> {
  let finished = false;
  void done.finally(() => (finished = true)).catch(() => {});
  let previous: string[] = [];
  const poll = async () => {
    const current = await readTail().catch(() => previous);
    const fresh = newLines(previous, current);
    if (fresh.length) onLines(fresh);
    previous = current;
  };
  while (!finished) {
    await poll();
    await Promise.race([done.catch(() => {}), new Promise((r) => setTimeout(r, intervalMs))]);
  }
  await poll();
}
